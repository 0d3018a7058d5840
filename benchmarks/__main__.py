"""Run the benchmark harness from a checkout: ``python -m benchmarks oltp|olap [options]``.

The same as ``storagedb bench oltp|olap [options]``; the code lives in
``storagedb/bench`` so that the installed package has it too.
"""

import sys

from storagedb.bench import main

if __name__ == "__main__":
    sys.exit(main())
