"""The CLI on the seeds data: load, scan, get and info, checked against Python's csv module.

The seeds are loaded once per module through ``storagedb.cli.main`` into one
database, in every layout for lineitem, and each test reads that database
back through the CLI as a user would.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
from pathlib import Path

import pytest

from storagedb.cli import main

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
LINEITEM_KEY = "l_orderkey,l_linenumber"
LAYOUTS = ("nsm", "dsm", "pax")
COUNTERS = ("hits", "misses", "reads", "writes", "evictions")

# table name -> (seed file, primary key or None, layout)
TABLES = {
    "lineitem_nsm": ("lineitem.csv", LINEITEM_KEY, "nsm"),
    "lineitem_dsm": ("lineitem.csv", LINEITEM_KEY, "dsm"),
    "lineitem_pax": ("lineitem.csv", LINEITEM_KEY, "pax"),
    "orders": ("orders.csv", "o_orderkey", "pax"),
    "flights": ("flights.csv", None, "dsm"),
}


def cli(*args: object) -> tuple[int, str, str]:
    """Run the CLI in this process; return its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in args])
    return code, out.getvalue(), err.getvalue()


def read_seed(name: str) -> list[list[str]]:
    with open(SEEDS / name, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, strict=True))


def sample_indexes(count: int, extra: int = 25) -> list[int]:
    """The first three, middle and last two rows, plus a fixed random sample."""
    chosen = {0, 1, 2, count // 2, count - 2, count - 1}
    chosen.update(random.Random(20240601).sample(range(count), extra))
    return sorted(chosen)


def as_csv_text(value: object) -> str:
    """A JSON Lines value in the text form the seeds use (NULL is the empty field)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("seeds") / "seeds.db"
    for table, (file_name, key, layout) in TABLES.items():
        args = ["load", db, table, SEEDS / file_name, "--layout", layout]
        if key:
            args += ["--primary-key", key]
        code, out, err = cli(*args)
        assert code == 0, err
        assert err == ""
        assert out.startswith("loaded ")
    return db


@pytest.fixture(scope="module")
def seed_rows() -> dict[str, list[list[str]]]:
    return {name: read_seed(name) for name in ("lineitem.csv", "orders.csv", "flights.csv")}


# One table per seeds file. lineitem in DSM and PAX is compared in full by
# the CSV round-trip tests below.
SAMPLED = ("lineitem_nsm", "orders", "flights")


@pytest.fixture(scope="module")
def scanned(seeded) -> dict[str, list[dict]]:
    """Each sampled table scanned once as JSON Lines, shared by the tests that read it."""
    out = {}
    for table in SAMPLED:
        code, text, err = cli("scan", seeded, table, "--format", "jsonl")
        assert code == 0, err
        assert err == ""
        out[table] = [json.loads(line) for line in text.splitlines()]
    return out


# -- loading every seeds file ----------------------------------------------------


@pytest.mark.parametrize("table", sorted(TABLES))
def test_seed_row_count_matches_csv_module(seeded, seed_rows, table):
    code, out, err = cli("info", seeded, "--json")
    assert code == 0, err
    info = {entry["name"]: entry for entry in json.loads(out)["tables"]}
    assert info[table]["rows"] == len(seed_rows[TABLES[table][0]]) - 1


@pytest.mark.parametrize("table", SAMPLED)
def test_seed_scan_row_count_matches_csv_module(seed_rows, scanned, table):
    assert len(scanned[table]) == len(seed_rows[TABLES[table][0]]) - 1


@pytest.mark.parametrize("table", SAMPLED)
def test_seed_sampled_values_match_csv_module(seed_rows, scanned, table):
    header, *rows = seed_rows[TABLES[table][0]]
    assert len(scanned[table]) == len(rows)

    for index in sample_indexes(len(rows)):
        expected = dict(zip(header, rows[index]))
        found = {name: as_csv_text(value) for name, value in scanned[table][index].items()}
        assert list(found) == header, f"row {index}: column names"
        for name in header:
            assert found[name] == expected[name], f"row {index} (line {index + 2}), column {name}"


def test_flights_nulls_match_csv_module(seed_rows, scanned):
    header, *rows = seed_rows["flights.csv"]
    for name in ("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time", "tailnum"):
        position = header.index(name)
        expected = [index for index, row in enumerate(rows) if row[position] == ""]
        found = [index for index, row in enumerate(scanned["flights"]) if row[name] is None]
        assert found == expected, name


@pytest.mark.parametrize("layout", LAYOUTS)
def test_seed_get_first_and_last_lineitem(seeded, seed_rows, layout):
    header, *rows = seed_rows["lineitem.csv"]
    for index in (0, len(rows) // 3, len(rows) - 1):
        row = dict(zip(header, rows[index]))
        code, out, err = cli(
            "get", seeded, f"lineitem_{layout}", row["l_orderkey"], row["l_linenumber"], "--format", "json"
        )
        assert code == 0, err
        found = {name: as_csv_text(value) for name, value in json.loads(out).items()}
        assert found == row


# -- CSV round trip ----------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_lineitem_csv_round_trip(seeded, seed_rows, layout):
    code, out, err = cli("scan", seeded, f"lineitem_{layout}", "--format", "csv")
    assert code == 0, err
    assert err == ""
    scanned = list(csv.reader(io.StringIO(out, newline=""), strict=True))
    expected = seed_rows["lineitem.csv"]
    assert len(scanned) == len(expected)
    assert scanned[0] == expected[0]
    assert scanned == expected


@pytest.mark.parametrize(("table", "file_name"), [("orders", "orders.csv"), ("flights", "flights.csv")])
def test_other_seeds_csv_round_trip(seeded, seed_rows, table, file_name):
    code, out, err = cli("scan", seeded, table, "--format", "csv")
    assert code == 0, err
    assert list(csv.reader(io.StringIO(out, newline=""), strict=True)) == seed_rows[file_name]


def test_scan_csv_reloads_to_same_table(seeded, tmp_path):
    code, out, err = cli("scan", seeded, "flights", "--format", "csv")
    assert code == 0, err
    dumped = tmp_path / "flights_copy.csv"
    dumped.write_text(out, encoding="utf-8")

    code, _, err = cli("load", tmp_path / "copy.db", "flights", dumped)
    assert code == 0, err
    code, again, err = cli("scan", tmp_path / "copy.db", "flights", "--format", "csv")
    assert code == 0, err
    assert again == out


def test_scan_limit_and_columns(seeded, seed_rows):
    header, *rows = seed_rows["orders.csv"]
    code, out, err = cli("scan", seeded, "orders", "--columns", "o_orderkey,o_comment", "--limit", "5", "--format", "csv")
    assert code == 0, err
    scanned = list(csv.reader(io.StringIO(out, newline="")))
    key, comment = header.index("o_orderkey"), header.index("o_comment")
    assert scanned == [["o_orderkey", "o_comment"]] + [[row[key], row[comment]] for row in rows[:5]]


def test_scan_limit_zero_prints_header_only(seeded):
    code, out, err = cli("scan", seeded, "orders", "--columns", "o_orderkey", "--limit", "0", "--format", "csv")
    assert code == 0, err
    assert out == "o_orderkey\n"


def test_scan_table_format_shows_values(seeded):
    code, out, err = cli("scan", seeded, "lineitem_nsm", "--columns", "l_orderkey,l_shipmode", "--limit", "2")
    assert code == 0, err
    assert "l_shipmode" in out
    assert "TRUCK" in out
    assert "MAIL" in out


def test_scan_table_format_default_limit_notice(seeded):
    code, out, err = cli("scan", seeded, "orders", "--columns", "o_orderkey")
    assert code == 0, err
    assert "first 1000 rows" in err
    assert "15000" not in out


# -- get -------------------------------------------------------------------------------


def test_get_composite_key_prints_row(seeded):
    code, out, err = cli("get", seeded, "lineitem_nsm", "1", "2")
    assert code == 0, err
    assert "56688.12" in out
    assert "ly final dependencies: slyly bold" in out


def test_get_absent_key_not_found(seeded):
    code, out, err = cli("get", seeded, "lineitem_pax", "1", "99")
    assert code == 1
    assert out == ""
    assert "not found" in err
    assert err.count("\n") == 1


def test_get_wrong_key_arity(seeded):
    code, _, err = cli("get", seeded, "lineitem_dsm", "1")
    assert code == 2
    assert "l_orderkey, l_linenumber" in err


def test_get_key_of_wrong_type(seeded):
    code, _, err = cli("get", seeded, "orders", "seven")
    assert code == 2
    assert "'seven'" in err
    assert "o_orderkey" in err


def test_get_table_without_key(seeded):
    code, out, err = cli("get", seeded, "flights", "1")
    assert code == 2
    assert out == ""
    assert "no primary key" in err
    assert "scan --where" in err


def test_get_unknown_table(seeded):
    code, _, err = cli("get", seeded, "nosuch", "1")
    assert code == 1
    assert "'nosuch'" in err
    assert "lineitem_nsm" in err


# -- info --------------------------------------------------------------------------------


def test_info_json_lists_tables_and_counters(seeded, seed_rows):
    code, out, err = cli("info", seeded, "--json")
    assert code == 0, err
    info = json.loads(out)

    tables = {entry["name"]: entry for entry in info["tables"]}
    assert sorted(tables) == sorted(TABLES)
    for name, (file_name, key, layout) in TABLES.items():
        entry = tables[name]
        assert entry["layout"] == layout
        assert entry["rows"] == len(seed_rows[file_name]) - 1
        assert entry["pages"] > 0
        assert entry["bytes"] >= entry["pages"] * info["page_size"]
        assert entry["primary_key"] == (key.split(",") if key else [])
    for counter in COUNTERS:
        assert isinstance(info["buffer_pool"][counter], int), counter


def test_info_json_bytes_match_files_on_disk(seeded):
    code, out, err = cli("info", seeded, "lineitem_pax", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["segments"]
    for segment in info["segments"]:
        # File ids are unique across the database, so the name finds the file.
        (path,) = seeded.rglob(segment["file"])
        assert path.stat().st_size == segment["bytes"], segment["file"]
    assert info["bytes"] == sum(segment["bytes"] for segment in info["segments"])


@pytest.mark.parametrize("layout", ["dsm", "pax"])
def test_info_table_lists_every_column(seeded, seed_rows, layout):
    header = seed_rows["lineitem.csv"][0]
    code, out, err = cli("info", seeded, f"lineitem_{layout}", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["layout"] == layout
    assert info["rows"] == len(seed_rows["lineitem.csv"]) - 1
    assert [column["name"] for column in info["columns"]] == header
    for column in info["columns"]:
        assert column["pages"] >= 1, column["name"]
        assert column["encoding"], column["name"]
        assert 0 < column["stored_bytes"], column["name"]
    for counter in COUNTERS:
        assert counter in info["buffer_pool"]

    code, text, err = cli("info", seeded, f"lineitem_{layout}")
    assert code == 0, err
    lines = text.splitlines()
    for name in header:
        assert any(line.startswith(f"│ {name} ") for line in lines), name
    assert f"layout {layout}" in text
    assert "60,175 rows" in text
    assert "buffer pool:" in text


def test_info_text_names_every_table(seeded):
    code, out, err = cli("info", seeded)
    assert code == 0, err
    for name in TABLES:
        assert f"│ {name} " in out
    assert "│ 60,175 " in out
    assert "l_orderkey, l_linenumber" in out
    assert "hits" in out
    assert "evictions" in out
