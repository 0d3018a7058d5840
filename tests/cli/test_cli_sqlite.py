"""``scan --where`` and ``--group-by/--agg`` on the seeds, compared with the same SQL in sqlite3.

sqlite3 gets the seeds through Python's csv module: integers as INTEGER,
two-decimal numbers as REAL, dates and timestamps as ISO 8601 TEXT (which
sorts like the values), and an empty field as NULL. The --where syntax is a
subset of SQL, so each condition runs unchanged in both.
"""

from __future__ import annotations

import contextlib
import csv
import decimal
import io
import sqlite3
from pathlib import Path

import pytest

from storagedb.cli import main

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

LINEITEM_TYPES = {
    "l_orderkey": "INTEGER",
    "l_partkey": "INTEGER",
    "l_suppkey": "INTEGER",
    "l_linenumber": "INTEGER",
    "l_quantity": "INTEGER",
    "l_extendedprice": "REAL",
    "l_discount": "REAL",
    "l_tax": "REAL",
}
FLIGHTS_TEXT = {"carrier", "tailnum", "origin", "dest", "time_hour"}
FLIGHT_ID = "year,month,day,sched_dep_time,carrier,flight,origin,dest"


def cli(*args: object) -> tuple[int, str, str]:
    """Run the CLI in this process; return its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in args])
    return code, out.getvalue(), err.getvalue()


def sqlite_table(connection: sqlite3.Connection, name: str, path: Path, types: dict[str, str]) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    columns = ", ".join(f"{column} {types.get(column, 'TEXT')}" for column in header)
    connection.execute(f"CREATE TABLE {name} ({columns})")
    converters = []
    for column in header:
        kind = types.get(column, "TEXT")
        converters.append({"INTEGER": int, "REAL": float}.get(kind, str))
    converted = [
        tuple(None if value == "" else convert(value) for convert, value in zip(converters, row)) for row in rows
    ]
    connection.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(header))})", converted)


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    """The seeds in storagedb (lineitem in every layout, flights) and in sqlite3."""
    db = tmp_path_factory.mktemp("sqlite") / "compare.db"
    for layout in ("nsm", "dsm", "pax"):
        code, _, err = cli(
            "load", db, f"lineitem_{layout}", SEEDS / "lineitem.csv", "--layout", layout,
            "--primary-key", "l_orderkey,l_linenumber", "--segment-rows", "25000",
        )  # fmt: skip
        assert code == 0, err
    code, _, err = cli("load", db, "flights", SEEDS / "flights.csv", "--layout", "pax", "--row-group-rows", "1000")
    assert code == 0, err

    connection = sqlite3.connect(":memory:")
    sqlite_table(connection, "lineitem", SEEDS / "lineitem.csv", LINEITEM_TYPES)
    flight_types = {name: "INTEGER" for name in csv_header(SEEDS / "flights.csv") if name not in FLIGHTS_TEXT}
    sqlite_table(connection, "flights", SEEDS / "flights.csv", flight_types)
    yield db, connection
    connection.close()


def csv_header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def storagedb_rows(db: Path, table: str, *options: str) -> list[tuple[str, ...]]:
    code, out, err = cli("scan", db, table, "--format", "csv", *options)
    assert code == 0, err
    _, *rows = list(csv.reader(io.StringIO(out, newline="")))
    return [tuple(row) for row in rows]


def sqlite_rows(connection: sqlite3.Connection, query: str) -> list[tuple[str, ...]]:
    return [tuple("" if value is None else str(value) for value in row) for row in connection.execute(query)]


LINEITEM_CONDITIONS = [
    "l_quantity > 45 AND l_shipmode = 'AIR'",
    "l_returnflag = 'R' OR l_linestatus = 'O'",
    "NOT (l_quantity < 10 OR l_quantity > 40)",
    "l_shipmode IN ('MAIL', 'SHIP') AND l_discount BETWEEN 0.05 AND 0.07",
    "l_shipdate >= '1995-01-01' AND l_shipdate < '1995-02-01'",
    "(l_tax = 0 OR l_tax = 0.08) AND NOT l_shipinstruct = 'NONE'",
    "l_extendedprice > 90000.5",
    "l_orderkey BETWEEN 100 AND 200 AND l_linenumber != 1",
    "l_comment = 'egular courts above the'",
    "l_shipmode NOT IN ('AIR', 'REG AIR', 'FOB', 'MAIL', 'SHIP')",
    "l_orderkey NOT BETWEEN 10 AND 59990",
    "l_partkey IN (1, 2, 3) OR l_suppkey = 100",
    "l_quantity <> 1 AND l_quantity < 3",
]


# Every condition runs on PAX. NSM and DSM evaluate predicates on other code
# paths (decoded rows, whole-column runs) and get one condition of each form,
# which keeps the module fast.
LAYOUT_CONDITIONS = [("pax", condition) for condition in LINEITEM_CONDITIONS] + [
    (layout, LINEITEM_CONDITIONS[index]) for layout in ("nsm", "dsm") for index in (0, 2, 3, 4, 10, 11)
]


@pytest.mark.parametrize(("layout", "condition"), LAYOUT_CONDITIONS)
def test_lineitem_where_matches_sqlite(databases, layout, condition):
    db, connection = databases
    found = storagedb_rows(db, f"lineitem_{layout}", "--columns", "l_orderkey,l_linenumber", "--where", condition)
    expected = sqlite_rows(
        connection, f"SELECT l_orderkey, l_linenumber FROM lineitem WHERE {condition} ORDER BY 1, 2"
    )
    assert expected, "the condition should match some rows"
    assert found == expected


FLIGHTS_CONDITIONS = [
    "dep_time IS NULL",
    "tailnum IS NULL AND origin = 'JFK'",
    "arr_delay IS NOT NULL AND arr_delay > 60 AND NOT carrier IN ('UA', 'AA')",
    "dep_delay < 0 OR dep_delay IS NULL",
    "NOT (dep_delay > 0)",
    "NOT (arr_delay BETWEEN -10 AND 10)",
    "dest IN ('IAH', 'MIA') AND day BETWEEN 2 AND 4",
    "time_hour >= '2013-01-05T00:00:00Z' AND time_hour < '2013-01-05T12:00:00Z'",
    "air_time != 100",
    "NOT (tailnum IS NOT NULL)",
    "(origin = 'EWR' OR origin = 'LGA') AND (arr_delay < -30 OR dep_delay > 120)",
]


@pytest.mark.parametrize("condition", FLIGHTS_CONDITIONS)
def test_flights_where_matches_sqlite(databases, condition):
    db, connection = databases
    found = storagedb_rows(db, "flights", "--columns", FLIGHT_ID, "--where", condition)
    expected = sqlite_rows(connection, f"SELECT {FLIGHT_ID} FROM flights WHERE {condition}")
    assert expected, "the condition should match some rows"
    assert sorted(found) == sorted(expected)


def test_where_with_limit_takes_first_rows(databases):
    db, connection = databases
    condition = "l_shipmode = 'RAIL' AND l_quantity >= 49"
    found = storagedb_rows(
        db, "lineitem_pax", "--columns", "l_orderkey,l_linenumber", "--where", condition, "--limit", "7"
    )
    expected = sqlite_rows(
        connection, f"SELECT l_orderkey, l_linenumber FROM lineitem WHERE {condition} ORDER BY 1, 2 LIMIT 7"
    )
    assert found == expected


# -- aggregates ------------------------------------------------------------------------


def by_group(rows: list[tuple[str, ...]], width: int) -> dict[tuple[str, ...], tuple[str, ...]]:
    groups = {row[:width]: row[width:] for row in rows}
    assert len(groups) == len(rows), "a group appears twice"
    return groups


@pytest.mark.parametrize("layout", ["nsm", "pax"])
def test_lineitem_group_by_matches_sqlite(databases, layout):
    db, connection = databases
    found = by_group(
        storagedb_rows(
            db, f"lineitem_{layout}", "--group-by", "l_returnflag,l_linestatus",
            "--agg", "count(*),sum(l_quantity),min(l_shipdate),max(l_shipdate),sum(l_extendedprice),"
            "avg(l_quantity),min(l_discount),max(l_tax)",
        ),
        2,
    )  # fmt: skip
    expected = by_group(
        sqlite_rows(
            connection,
            "SELECT l_returnflag, l_linestatus, count(*), sum(l_quantity), min(l_shipdate), max(l_shipdate), "
            "sum(CAST(round(l_extendedprice * 100) AS INTEGER)), avg(l_quantity), min(l_discount), max(l_tax) "
            "FROM lineitem GROUP BY 1, 2",
        ),
        2,
    )
    assert sorted(found) == sorted(expected)
    for group, values in expected.items():
        count, quantity, first, last, cents, average, discount, tax = values
        got = found[group]
        assert got[0] == count, group
        assert got[1] == quantity, group
        assert got[2] == first, group
        assert got[3] == last, group
        assert decimal.Decimal(got[4]) * 100 == int(cents), group
        assert float(got[5]) == pytest.approx(float(average), rel=1e-12), group
        assert decimal.Decimal(got[6]) == decimal.Decimal(discount).quantize(decimal.Decimal("0.01")), group
        assert decimal.Decimal(got[7]) == decimal.Decimal(tax).quantize(decimal.Decimal("0.01")), group


def test_flights_group_by_with_nulls_matches_sqlite(databases):
    db, connection = databases
    found = by_group(
        storagedb_rows(
            db, "flights", "--group-by", "origin,carrier",
            "--agg", "count(*),count(dep_time),sum(distance),min(arr_delay),max(arr_delay),avg(dep_delay)",
        ),
        2,
    )  # fmt: skip
    expected = by_group(
        sqlite_rows(
            connection,
            "SELECT origin, carrier, count(*), count(dep_time), sum(distance), min(arr_delay), max(arr_delay), "
            "avg(dep_delay) FROM flights GROUP BY 1, 2",
        ),
        2,
    )
    assert sorted(found) == sorted(expected)
    for group, values in expected.items():
        assert found[group][:5] == values[:5], group
        assert float(found[group][5]) == pytest.approx(float(values[5]), rel=1e-12), group


def test_flights_group_by_null_key_matches_sqlite(databases):
    db, connection = databases
    found = storagedb_rows(db, "flights", "--group-by", "tailnum", "--agg", "count(*),count(air_time)")
    expected = sqlite_rows(connection, "SELECT tailnum, count(*), count(air_time) FROM flights GROUP BY 1")
    assert ("", "13", "0") in expected
    assert sorted(found) == sorted(expected)


def test_group_by_with_where_matches_sqlite(databases):
    db, connection = databases
    condition = "origin = 'JFK' AND NOT dep_delay IS NULL AND dest IN ('LAX', 'SFO', 'BOS', 'MCO')"
    found = storagedb_rows(db, "flights", "--where", condition, "--group-by", "dest", "--agg", "count(*),sum(dep_delay)")
    expected = sqlite_rows(connection, f"SELECT dest, count(*), sum(dep_delay) FROM flights WHERE {condition} GROUP BY 1")
    assert sorted(found) == sorted(expected)


def test_aggregate_without_groups_matches_sqlite(databases):
    db, connection = databases
    found = storagedb_rows(
        db, "lineitem_dsm", "--agg", "count(*),sum(l_quantity),min(l_orderkey),max(l_orderkey),count(l_comment)"
    )
    expected = sqlite_rows(
        connection, "SELECT count(*), sum(l_quantity), min(l_orderkey), max(l_orderkey), count(l_comment) FROM lineitem"
    )
    assert found == expected


def test_aggregate_of_no_rows_matches_sqlite(databases):
    db, connection = databases
    condition = "l_quantity > 1000"
    found = storagedb_rows(db, "lineitem_nsm", "--where", condition, "--agg", "count(*),sum(l_quantity),max(l_tax)")
    expected = sqlite_rows(connection, f"SELECT count(*), sum(l_quantity), max(l_tax) FROM lineitem WHERE {condition}")
    assert found == expected
