"""Measure DelimitedReader on TPC-H lineitem against Python's csv module.

Usage::

    python benchmarks/csv_bench.py                 # lineitem SF 0.1 in /tmp/tpch01
    python benchmarks/csv_bench.py --sqlite        # also time a sqlite3 load
    python benchmarks/csv_bench.py --file data.csv --repeat 5

The file is generated with ``tpchgen-cli`` when it is missing. Each reader
runs ``--repeat`` times in this process, and the best and median wall-clock
times are printed. The first run of a process often pays page faults for
fresh memory, so it is also printed on its own. The best CPU time of the
process is printed too, because it varies less than wall-clock time on a
busy machine.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storagedb.csvio import DelimitedReader  # noqa: E402

DEFAULT_DIR = Path("/tmp/tpch01")


def ensure_lineitem(directory: Path, scale: str) -> Path:
    """Return lineitem.csv in ``directory``, generating it with tpchgen-cli if missing."""
    path = directory / "lineitem.csv"
    if path.exists():
        return path
    if shutil.which("tpchgen-cli") is None:
        sys.exit(f"{path} is missing and tpchgen-cli is not installed; pass --file")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tpchgen-cli", "csv", "-s", scale, "-T", "lineitem", "-o", str(directory)], check=True)
    return path


def load_with_storagedb(path: Path) -> int:
    return sum(batch.row_count for batch in DelimitedReader(path))


def read_with_csv_module(path: Path) -> int:
    """Iterate csv.reader over the file, without converting any value."""
    rows = 0
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        next(reader)
        for _ in reader:
            rows += 1
    return rows


def load_with_sqlite(path: Path) -> int:
    """Load the file into an on-disk sqlite3 table in one transaction."""
    with tempfile.TemporaryDirectory() as directory:
        connection = sqlite3.connect(os.path.join(directory, "bench.db"))
        try:
            with open(path, newline="", encoding="utf-8") as file:
                reader = csv.reader(file)
                header = next(reader)
                columns = ", ".join(f'"{name}"' for name in header)
                marks = ", ".join("?" for _ in header)
                connection.execute(f"CREATE TABLE t ({columns})")
                with connection:
                    connection.executemany(f"INSERT INTO t VALUES ({marks})", reader)
            return connection.execute("SELECT count(*) FROM t").fetchone()[0]
        finally:
            connection.close()


def measure(label: str, run: Callable[[Path], int], path: Path, repeat: int) -> None:
    """Print the best, median and first wall-clock time of ``repeat`` runs, and the best CPU time."""
    times = []
    cpu_times = []
    rows = 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        cpu_start = time.process_time()
        rows = run(path)
        cpu_times.append(time.process_time() - cpu_start)
        times.append(time.perf_counter() - start)
    best = min(times)
    median = statistics.median(times)
    print(
        f"{label:28s} {rows:>9,} rows  best {best:6.3f} s ({rows / best:>9,.0f} rows/s)  "
        f"median {median:6.3f} s  first {times[0]:6.3f} s  CPU {min(cpu_times):6.3f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="CSV file with a header line (default: TPC-H lineitem)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="directory for the generated lineitem.csv")
    parser.add_argument("--scale", default="0.1", help="TPC-H scale factor when generating (default 0.1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per reader (default 3)")
    parser.add_argument("--sqlite", action="store_true", help="also time a sqlite3 load (csv module + executemany)")
    args = parser.parse_args(argv)

    path = args.file or ensure_lineitem(args.dir, args.scale)
    print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"{platform.machine()} {platform.system()}"
    )
    measure("storagedb DelimitedReader", load_with_storagedb, path, args.repeat)
    measure("csv.reader, no conversion", read_with_csv_module, path, args.repeat)
    if args.sqlite:
        measure("sqlite3 load", load_with_sqlite, path, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
