"""DuckDB as a benchmark target, limited to one thread.

DuckDB also computes the reference answers: it reads the same CSV file, and
its DECIMAL arithmetic is exact, so its Q1 and Q6 answers are exact at any
scale factor.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import numpy as np

from ..data import FLIGHTS_COLUMNS, LINEITEM_COLUMNS, LINEITEM_KEY, SQL_TYPES
from . import OLTP_SQL, olap_sql, row_checksum
from .storagedb_system import _projection_answer

__all__ = ["DuckdbDatabase"]

_SQL = olap_sql("DATE '{}'")
_FETCH_ROWS = 65_536


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckdbDatabase:
    """One DuckDB database file holding lineitem or flights."""

    system = "duckdb"
    layout = None

    def __init__(self, path: str, *, threads: int = 1) -> None:
        import duckdb

        self.path = path
        self.conn = duckdb.connect(path)
        self.conn.execute(f"SET threads TO {int(threads)}")
        self.conn.execute("SET enable_progress_bar = false")

    # -- loading -----------------------------------------------------------

    def create_lineitem(self, *, primary_key: bool) -> None:
        columns = ", ".join(f"{name} {SQL_TYPES[kind]} NOT NULL" for name, kind in LINEITEM_COLUMNS)
        key = f", PRIMARY KEY ({', '.join(LINEITEM_KEY)})" if primary_key else ""
        self.conn.execute(f"CREATE TABLE lineitem ({columns}{key})")

    def load_lineitem(self, csv_path: str, *, primary_key: bool) -> int:
        """Create lineitem (with or without its primary key) and COPY the CSV into it; returns rows."""
        self.create_lineitem(primary_key=primary_key)
        self.conn.execute(f"COPY lineitem FROM {_quote(csv_path)} (HEADER)")
        self.conn.execute("CHECKPOINT")
        return self.conn.execute("SELECT count(*) FROM lineitem").fetchone()[0]

    def load_flights(self, csv_path: str) -> int:
        columns = ", ".join(
            f"{name} {SQL_TYPES[kind]}{'' if nullable else ' NOT NULL'}" for name, kind, nullable in FLIGHTS_COLUMNS
        )
        self.conn.execute(f"CREATE TABLE flights ({columns})")
        self.conn.execute(f"COPY flights FROM {_quote(csv_path)} (HEADER)")
        self.conn.execute("CHECKPOINT")
        return self.conn.execute("SELECT count(*) FROM flights").fetchone()[0]

    def keys(self) -> np.ndarray:
        """Return every (l_orderkey, l_linenumber) in key order, as an (n, 2) int64 array."""
        result = self.conn.execute(
            "SELECT l_orderkey, l_linenumber FROM lineitem ORDER BY l_orderkey, l_linenumber"
        ).fetchnumpy()
        return np.column_stack([result["l_orderkey"].astype(np.int64), result["l_linenumber"].astype(np.int64)])

    def write_parquet(self, path: str) -> int:
        """Write lineitem as a zstd-compressed Parquet file; returns its size in bytes."""
        self.conn.execute(f"COPY lineitem TO {_quote(path)} (FORMAT PARQUET, COMPRESSION ZSTD)")
        return os.path.getsize(path)

    def bytes_on_disk(self) -> int:
        self.conn.execute("CHECKPOINT")
        return sum(os.path.getsize(p) for p in (self.path, self.path + ".wal") if os.path.exists(p))

    def counters(self) -> dict[str, Any]:
        return {}

    def row_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM lineitem").fetchone()[0]

    def describe(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        self.conn.close()

    # -- OLTP --------------------------------------------------------------

    def read(self, key: tuple[int, int]) -> Any:
        return self.conn.execute(OLTP_SQL["read"], key).fetchone()

    def update(self, key: tuple[int, int], comment: str) -> Any:
        self.conn.execute(OLTP_SQL["update"], (comment, key[0], key[1]))
        return self.conn.fetchone()[0] == 1

    def insert(self, row: Any) -> Any:
        self.conn.execute(OLTP_SQL["insert"], row)

    def scan_range(self, low: int, high: int) -> Any:
        return self.conn.execute(OLTP_SQL["range"], (low, high)).fetchall()

    def read_modify_write(self, key: tuple[int, int], tag: str) -> Any:
        row = self.conn.execute(OLTP_SQL["read"], key).fetchone()
        if row is not None:
            self.conn.execute(OLTP_SQL["update"], (tag + row[15][:20], key[0], key[1]))
        return row

    def prepare_row(self, row: tuple) -> Any:
        return row

    def read_checksum(self, raw: Any) -> int:
        if raw is None:
            return -1
        return row_checksum(raw[0], raw[3], raw[1], raw[2], int(raw[5] * 100))

    def scan_checksum(self, raw: Any) -> int:
        total = sum(row_checksum(r[0], r[3], r[1], r[2], int(r[5] * 100)) for r in raw)
        return (total + len(raw) * 1_000_000_007) % (1 << 61)

    # -- OLAP --------------------------------------------------------------

    def q1(self) -> Any:
        return self.conn.execute(_SQL["q1"]).fetchall()

    def answer_q1(self, raw: Any) -> Any:
        return [tuple(row[:6]) + tuple(float(v) for v in row[6:9]) + (row[9],) for row in raw]

    def q6(self) -> Any:
        return self.conn.execute(_SQL["q6"]).fetchone()[0]

    def answer_q6(self, raw: Any) -> Any:
        return Decimal(raw) if raw is not None else None

    def range_scan(self, low: int, high: int) -> Any:
        return self.conn.execute(_SQL["range_scan"], (low, high)).fetchall()

    def answer_range_scan(self, raw: Any) -> Any:
        return (len(raw), sum(r[0] for r in raw), sum(r[1] for r in raw), sum(int(r[5] * 100) for r in raw))

    def projection(self) -> Any:
        return self.conn.execute(_SQL["projection"]).fetchnumpy()

    def answer_projection(self, raw: Any) -> Any:
        return _projection_answer(
            np.asarray(raw["l_orderkey"]),
            np.asarray(raw["l_extendedprice"], dtype=np.float64),
            _dates(raw["l_shipdate"]),
        )

    def scan_tuples(self) -> Any:
        count = key_sum = 0
        cursor = self.conn.execute(_SQL["scan_tuples"])
        while True:
            rows = cursor.fetchmany(_FETCH_ROWS)
            if not rows:
                break
            for row in rows:
                count += 1
                key_sum += row[0]
        return count, key_sum

    def answer_scan_tuples(self, raw: Any) -> Any:
        return raw

    def flights(self) -> Any:
        return self.conn.execute(_SQL["flights"]).fetchall()

    def answer_flights(self, raw: Any) -> Any:
        return [(carrier, count, float(avg), maximum) for carrier, count, avg, maximum in raw]


def _dates(values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind == "M":
        return array.astype("datetime64[D]")
    return np.array([str(v)[:10] for v in array.tolist()], dtype="datetime64[D]")
