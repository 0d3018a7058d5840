"""The systems under test, each wrapped behind the same small interface.

A *target* is one table in one system that the harness times: a storagedb
table in a given layout, or the lineitem table of sqlite3 or DuckDB. Every
target offers the same operations (see :class:`Target`), each returning the
system's raw result. The harness times only those calls; turning a raw result
into a canonical answer (``answer_*`` and ``*_checksum``) happens after the
clock stops.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["OLTP_SQL", "Target", "insert_row", "olap_sql", "row_checksum"]


class Target(Protocol):
    system: str  #: "storagedb", "sqlite" or "duckdb"
    layout: str | None  #: "nsm", "dsm" or "pax" for storagedb, else None

    # OLTP operations (timed)
    def read(self, key: tuple[int, int]) -> Any: ...
    def update(self, key: tuple[int, int], comment: str) -> Any: ...
    def insert(self, row: Any) -> Any: ...
    def scan_range(self, low: int, high: int) -> Any: ...
    def read_modify_write(self, key: tuple[int, int], tag: str) -> Any: ...
    def prepare_row(self, row: tuple) -> Any: ...

    # canonical forms (untimed)
    def read_checksum(self, raw: Any) -> int: ...
    def scan_checksum(self, raw: Any) -> int: ...


def row_checksum(orderkey: int, linenumber: int, partkey: int, suppkey: int, cents: int) -> int:
    """Mix the columns no workload changes into one int, so that two systems
    returning the same row give the same number."""
    return (orderkey * 1_000_003 + linenumber * 10_007 + partkey * 101 + suppkey * 7 + cents) % (1 << 61)


def insert_row(orderkey: int, linenumber: int, comment: str) -> tuple:
    """Build a new lineitem row (canonical Python values) from its key."""
    import datetime
    from decimal import Decimal

    quantity = 1 + orderkey % 50
    return (
        orderkey,
        1 + orderkey % 20_000,
        1 + orderkey % 1_000,
        linenumber,
        Decimal(quantity).quantize(Decimal("0.01")),
        Decimal(quantity * 90_123).scaleb(-2),
        Decimal(orderkey % 11).scaleb(-2),
        Decimal(orderkey % 9).scaleb(-2),
        "N",
        "O",
        datetime.date(1998, 1, 1) + datetime.timedelta(days=orderkey % 200),
        datetime.date(1998, 2, 1),
        datetime.date(1998, 3, 1),
        "DELIVER IN PERSON",
        "TRUCK",
        comment,
    )


#: Statements shared by sqlite3 and DuckDB (both take ``?`` parameters).
OLTP_SQL = {
    "read": "SELECT * FROM lineitem WHERE l_orderkey = ? AND l_linenumber = ?",
    "update": "UPDATE lineitem SET l_comment = ? WHERE l_orderkey = ? AND l_linenumber = ?",
    "insert": "INSERT INTO lineitem VALUES (" + ", ".join(["?"] * 16) + ")",
    "range": "SELECT * FROM lineitem WHERE l_orderkey BETWEEN ? AND ?",
}


def olap_sql(date: str) -> dict[str, str]:
    """Return the OLAP queries in SQL; ``date`` is the date literal's template (``"DATE '{}'"`` or ``"'{}'"``)."""
    q1_date = date.format("1998-09-02")  # DATE '1998-12-01' - INTERVAL '90' DAY
    return {
        "q1": (
            "SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice), "
            "sum(l_extendedprice * (1 - l_discount)), "
            "sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)), "
            "avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*) "
            f"FROM lineitem WHERE l_shipdate <= {q1_date} "
            "GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus"
        ),
        # The discount bounds are written 0.05 and 0.07, not 0.06 - 0.01 and
        # 0.06 + 0.01: in binary floating point 0.06 + 0.01 is
        # 0.06999999999999999, which would drop every row with discount 0.07.
        "q6": (
            "SELECT sum(l_extendedprice * l_discount) FROM lineitem "
            f"WHERE l_shipdate >= {date.format('1994-01-01')} AND l_shipdate < {date.format('1995-01-01')} "
            "AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24"
        ),
        "range_scan": "SELECT * FROM lineitem WHERE l_orderkey BETWEEN ? AND ?",
        "projection": "SELECT l_orderkey, l_extendedprice, l_shipdate FROM lineitem",
        "scan_tuples": "SELECT * FROM lineitem",
        "flights": (
            "SELECT carrier, count(*), avg(dep_delay), max(arr_delay) FROM flights "
            "WHERE dep_delay IS NOT NULL GROUP BY carrier ORDER BY carrier"
        ),
    }
