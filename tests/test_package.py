import subprocess
import sys

import storagedb


def test_version_flag_prints_version():
    result = subprocess.run(
        [sys.executable, "-m", "storagedb.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"storagedb {storagedb.__version__}"
