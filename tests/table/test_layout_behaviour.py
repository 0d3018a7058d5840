"""Layouts seen through a table: what they read, skip, encode and return."""

import datetime as dt
import math
import sqlite3
import struct

import numpy as np
import pytest

import storagedb
from storagedb import col

LAYOUTS = ["nsm", "dsm", "pax"]


def test_dsm_scan_reads_only_column_pages(tmp_path):
    path = tmp_path / "db"
    with storagedb.connect(path) as db:
        table = db.create_table(
            "t", [("id", "int64", "not null"), ("a", "int64"), ("b", "float64"), ("c", "text")],
            primary_key="id", layout="dsm", row_group_rows=1000, compression="none",
        )
        count = 20_000
        table.insert_many(
            {"id": np.arange(count), "a": np.arange(count) * 3, "b": np.arange(count) / 7,
             "c": np.array([f"row {i}" for i in range(count)])}
        )
    with storagedb.connect(path, pool_size=4 << 20) as db:
        table = db.table("t")
        info = {column["name"]: column for column in table.column_info()}
        before = db.stats()
        total = sum(int(batch["a"].sum()) for batch in table.scan_batches(["a"]))
        after = db.stats()
        assert total == 3 * sum(range(count))
        assert after["reads"] - before["reads"] == info["a"]["pages"]
        assert info["a"]["pages"] < info["c"]["pages"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_zone_maps_skip_zones_of_a_sorted_column(tmp_path, layout):
    with storagedb.connect(tmp_path / "db") as db:
        options = {} if layout == "nsm" else {"row_group_rows": 2000}
        table = db.create_table("t", [("id", "int64", "not null"), ("v", "int64")], primary_key="id",
                                layout=layout, **options)
        count = 100_000
        table.insert_many({"id": np.arange(count), "v": np.arange(count) % 10})
        stats = table.stats()
        rows = list(table.scan(["id"], where=(col("id") >= 1000) & (col("id") < 1010)))
        after = table.stats()
        assert [row[0] for row in rows] == list(range(1000, 1010))
        assert after["zones_skipped"] - stats["zones_skipped"] > 0
        assert after["pages_skipped"] - stats["pages_skipped"] > 0
        assert after["zones_read"] - stats["zones_read"] <= 2


SPECIAL = [float("nan"), math.inf, -math.inf, -0.0, 0.0, 3.0, None, 2.5, float("nan"), None, 3.0, -1.0]


def reference(value, predicate):
    """The predicate on one Python value, with SQL NULL and IEEE NaN semantics."""
    if value is None:
        return predicate == "is_null"
    if predicate == "is_null":
        return False
    return {
        "ne3": value != 3.0,
        "not_eq3": not (value == 3.0),
        "gt0": value > 0.0,
        "le0": value <= 0.0,
        "eq0": value == 0.0,
        "lt_inf": value < math.inf,
    }[predicate]


PREDICATES = {
    "ne3": col("x") != 3.0,
    "not_eq3": ~(col("x") == 3.0),
    "gt0": col("x") > 0.0,
    "le0": col("x") <= 0.0,
    "eq0": col("x") == 0.0,
    "lt_inf": col("x") < math.inf,
    "is_null": col("x").is_null(),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", sorted(PREDICATES))
def test_predicates_on_special_floats_and_null(tmp_path, layout, name):
    with storagedb.connect(tmp_path / "db") as db:
        options = {} if layout == "nsm" else {"row_group_rows": 3}
        table = db.create_table("t", [("id", "int64", "not null"), ("x", "float64")], primary_key="id",
                                layout=layout, **options)
        # Bulk insert, so the values sit in sealed segments with zone maps
        # (groups of three rows for DSM and PAX).
        table.insert_many([(i, v) for i, v in enumerate(SPECIAL)] + [(100 + i, 1.0) for i in range(5000)])
        got = sorted(row[0] for row in table.scan(["id"], where=PREDICATES[name]))
        expected = sorted(i for i, v in enumerate(SPECIAL) if reference(v, name))
        expected += [100 + i for i in range(5000) if reference(1.0, name)]
        assert got == expected


@pytest.mark.parametrize("layout", LAYOUTS)
def test_negative_zero_and_positive_zero_stay_distinct(tmp_path, layout):
    with storagedb.connect(tmp_path / "db") as db:
        table = db.create_table("t", [("id", "int64", "not null"), ("x", "float64")], primary_key="id", layout=layout)
        table.insert_many({"id": np.arange(5000), "x": np.where(np.arange(5000) % 2, -0.0, 0.0)})
    with storagedb.connect(tmp_path / "db") as db:
        values = [row[1] for row in db.table("t").scan()]
    signs = [math.copysign(1.0, v) for v in values]
    assert signs == [1.0 if i % 2 == 0 else -1.0 for i in range(5000)]


@pytest.mark.parametrize("layout", ["dsm", "pax"])
def test_no_empty_trailing_row_group(tmp_path, layout):
    with storagedb.connect(tmp_path / "db") as db:
        table = db.create_table("t", [("id", "int64", "not null")], primary_key="id", layout=layout,
                                row_group_rows=100)
        table.insert_many({"id": np.arange(6000) * 2})
        (segment,) = table._segments
        assert segment.zone_count() == 60
        batches = [len(batch["id"]) for batch in table.scan_batches(["id"])]
        assert batches == [100] * 60


@pytest.mark.parametrize("layout", ["dsm", "pax"])
def test_column_mixing_encodings_reads_back(tmp_path, layout):
    # Group 0 has 3 distinct values (dictionary); group 1 has 100,000
    # distinct ones, above the 65,536-entry dictionary limit.
    first = np.array(["red", "green", "blue"] * 33_334)[:100_000].astype(object)
    second = np.array([f"value {i:06d}" for i in range(100_000)], dtype=object)
    values = np.concatenate([first, second])
    with storagedb.connect(tmp_path / "db") as db:
        table = db.create_table("t", [("id", "int64", "not null"), ("s", "text")], primary_key="id",
                                layout=layout, row_group_rows=100_000)
        table.insert_many({"id": np.arange(200_000), "s": values})
        (info,) = [c for c in table.column_info() if c["name"] == "s"]
        encodings = info["encoding"].split(", ")
        assert any(name.startswith("dictionary") for name in encodings)
        assert any(not name.startswith("dictionary") for name in encodings)
    with storagedb.connect(tmp_path / "db") as db:
        got = np.concatenate([batch["s"] for batch in db.table("t").scan_batches(["s"])])
    assert got.tolist() == values.tolist()
    assert db is not None


COMPRESSIONS = ["auto", "none", "dictionary", "rle", "bitpack", "delta", "for", "zstd", "lz4"]


@pytest.mark.parametrize("layout", ["dsm", "pax"])
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_every_compression_setting_round_trips_seed_lineitem(tmp_path, layout, compression, seeds_lineitem):
    with storagedb.connect(tmp_path / "db") as db:
        result = db.load("lineitem", seeds_lineitem, layout=layout, compression=compression,
                         primary_key="l_orderkey,l_linenumber")
        rows = list(result.table.scan())
    with open(seeds_lineitem, newline="") as handle:
        import csv

        expected = list(csv.reader(handle))[1:]
    from storagedb.cli_format import format_value

    assert len(rows) == len(expected)
    for got, want in zip(rows[::997], expected[::997]):
        assert [format_value(v) for v in got] == want


@pytest.fixture
def seeds_lineitem():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "seeds" / "lineitem.csv"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_aggregate_matches_sqlite_on_seed_lineitem(tmp_path, layout, seeds_lineitem):
    with storagedb.connect(tmp_path / "db") as db:
        table = db.load("lineitem", seeds_lineitem, layout=layout).table
        result = table.aggregate(
            group_by=["l_returnflag", "l_linestatus"],
            aggregates={
                "n": ("count", "*"),
                "qty": ("sum", "l_quantity"),
                "price": ("sum", "l_extendedprice"),
                "disc_max": ("max", "l_discount"),
                "disc_min": ("min", "l_discount"),
                "first_ship": ("min", "l_shipdate"),
            },
            where=col("l_shipdate") <= dt.date(1998, 9, 2),
        )
    connection = sqlite3.connect(":memory:")
    import csv

    with open(seeds_lineitem, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        connection.execute(f"create table lineitem ({', '.join(header)})")
        connection.executemany(f"insert into lineitem values ({', '.join('?' * len(header))})", reader)
    expected = connection.execute(
        """select l_returnflag, l_linestatus, count(*), sum(cast(l_quantity as integer)),
                  sum(cast(round(l_extendedprice * 100) as integer)), max(l_discount), min(l_discount),
                  min(l_shipdate)
           from lineitem where l_shipdate <= '1998-09-02' group by 1, 2 order by 1, 2"""
    ).fetchall()
    got = [
        (flag, status, n, int(qty), int(price * 100), f"{disc_max:.2f}", f"{disc_min:.2f}", ship.isoformat())
        for flag, status, n, qty, price, disc_max, disc_min, ship in result.rows
    ]
    want = [(a, b, n, q, p, f"{float(mx):.2f}", f"{float(mn):.2f}", s) for a, b, n, q, p, mx, mn, s in expected]
    assert got == want


@pytest.mark.parametrize("layout", LAYOUTS)
def test_absent_keys_rarely_read_data_pages(tmp_path, layout):
    with storagedb.connect(tmp_path / "db") as db:
        table = db.create_table("t", [("id", "int64", "not null"), ("v", "int64")], primary_key="id", layout=layout)
        rng = np.random.default_rng(11)
        # A sorted key column loaded in 16 slices, as a bulk load of a sorted
        # file in parts makes: each absent key falls in one segment's range.
        keys = np.arange(0, 320_000, 2)
        for part in np.array_split(keys, 16):
            table.insert_many({"id": part, "v": part})
        assert len(table.segments()) == 16
        before = table.stats()
        absent = rng.integers(0, 160_000, 2000) * 2 + 1  # odd keys: never stored
        misses_reading_pages = 0
        for key in absent.tolist():
            pages = table.stats()["data_pages_read"]
            assert table.get(key) is None
            misses_reading_pages += table.stats()["data_pages_read"] != pages
        after = table.stats()
        assert misses_reading_pages / len(absent) <= 0.02
        assert after["segments_skipped_by_bloom"] - before["segments_skipped_by_bloom"] > 0
        assert after["lookups"] - before["lookups"] == len(absent)


def test_bloom_filters_off_reads_pages_for_absent_keys(tmp_path):
    with storagedb.connect(tmp_path / "db") as db:
        table = db.create_table("t", [("id", "int64", "not null")], primary_key="id", bloom_bits_per_key=0)
        table.insert_many({"id": np.arange(0, 20_000, 2)})
        before = table.stats()["data_pages_read"]
        assert table.get(1001) is None
        assert table.stats()["data_pages_read"] > before
        assert table.segments()[0].get("bloom_bytes") is None


def test_info_shows_per_column_encodings(tmp_path, seeds_lineitem, capsys):
    from storagedb.cli import main

    assert main(["load", str(tmp_path / "db"), "lineitem", str(seeds_lineitem), "--layout", "dsm"]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "db"), "lineitem", "--json"]) == 0
    import json

    info = json.loads(capsys.readouterr().out)
    columns = {c["name"]: c for c in info["columns"]}
    assert columns["l_returnflag"]["encoding"].startswith("dictionary")
    for column in columns.values():
        assert column["stored_bytes"] > 0
        assert column["raw_bytes"] > 0
        assert column["ratio"] == pytest.approx(column["raw_bytes"] / column["stored_bytes"])


def test_float_bits_survive_every_layout(tmp_path):
    values = [struct.unpack("<d", struct.pack("<Q", bits))[0] for bits in (0x7FF8000000000001, 0x8000000000000000)]
    for layout in LAYOUTS:
        with storagedb.connect(tmp_path / layout) as db:
            table = db.create_table("t", [("id", "int64", "not null"), ("x", "float64")], primary_key="id",
                                    layout=layout)
            table.insert_many({"id": np.arange(5000), "x": np.resize(np.array(values), 5000)})
            got = np.concatenate([b["x"] for b in table.scan_batches(["x"])])
            assert got.view(np.uint64)[1] == np.array(values).view(np.uint64)[1]
            assert math.isnan(got[0])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bloom_bits", [0, 10])
def test_bulk_key_check_on_overlapping_segments(tmp_path, layout, bloom_bits):
    with storagedb.connect(tmp_path / "db") as db:
        table = db.create_table("t", [("a", "int64", "not null"), ("b", "text", "not null")], primary_key=["a", "b"],
                                layout=layout, bloom_bits_per_key=bloom_bits)
        table.insert_many({"a": np.arange(0, 20_000, 2), "b": np.array(["x"] * 10_000)})
        # Interleaved keys: every one is inside the first segment's key range.
        table.insert_many({"a": np.arange(1, 20_000, 2), "b": np.array(["x"] * 10_000)})
        assert table.row_count() == 20_000
        table.delete((4000, "x"))
        clash = np.arange(20_000, 26_000)
        clash[3000] = 18
        with pytest.raises(storagedb.DuplicateKeyError, match=r"\(18, 'x'\)"):
            table.insert_many({"a": clash, "b": np.array(["x"] * 6000)})
        reinserted = np.arange(20_000, 26_000)
        reinserted[0] = 4000  # deleted above, so free again
        table.insert_many({"a": reinserted, "b": np.array(["x"] * 6000)})
        assert table.row_count() == 25_999
        assert table.get((4000, "x")) == {"a": 4000, "b": "x"}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_get_accepts_key_forms_and_rejects_bad_keys(tmp_path, layout):
    with storagedb.connect(tmp_path / "db") as db:
        table = db.create_table(
            "t", [("a", "int16", "not null"), ("b", "int64", "not null"), ("v", "text")],
            primary_key=["a", "b"], layout=layout,
        )
        table.insert_many([(7, -(2**63), "low"), (-(2**15), 2**63 - 1, "high")])
        assert table.get((7, -(2**63)))["v"] == "low"
        assert table.get([-(2**15), 2**63 - 1])["v"] == "high"
        assert table.get((np.int16(7), np.int64(-(2**63))))["v"] == "low"
        assert table.get((7.0, -(2**63)))["v"] == "low"
        assert table.get((8, 0)) is None
        for bad in [(True, 0), (2**15, 0), (7, 2**63), (7,), (7, 1, 2), (None, 1), 7]:
            with pytest.raises(storagedb.InvalidValueError):
                table.get(bad)
