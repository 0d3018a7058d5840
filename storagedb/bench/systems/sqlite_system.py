"""sqlite3 as a benchmark target: WAL mode, a primary key, SQL for every query.

The decimal columns are declared ``DECIMAL(15,2)``; SQLite gives them NUMERIC
affinity and stores each value as a binary float (or an integer when it is
whole), so its sums are close to, not equal to, the exact decimal sums. The
page cache is set to the same size as storagedb's buffer pool.
"""

from __future__ import annotations

import csv
import os
import sqlite3
from decimal import Decimal
from typing import Any

import numpy as np

from ..data import FLIGHTS_COLUMNS, LINEITEM_COLUMNS, LINEITEM_KEY, SQL_TYPES
from . import OLTP_SQL, olap_sql, row_checksum
from .storagedb_system import _projection_answer

__all__ = ["SqliteDatabase"]

_SQL = olap_sql("'{}'")


class SqliteDatabase:
    """One sqlite3 database file holding lineitem or flights."""

    system = "sqlite"
    layout = None

    def __init__(self, path: str, *, synchronous: str = "NORMAL", cache_bytes: int | None = None) -> None:
        self.path = path
        # isolation_level=None: autocommit, so every statement outside an
        # explicit BEGIN is its own transaction, as each YCSB operation is.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        if cache_bytes:
            self.conn.execute(f"PRAGMA cache_size=-{max(1, cache_bytes // 1024)}")

    # -- loading -----------------------------------------------------------

    def create_lineitem(self) -> None:
        columns = ", ".join(f"{name} {SQL_TYPES[kind]} NOT NULL" for name, kind in LINEITEM_COLUMNS)
        self.conn.execute(f"CREATE TABLE lineitem ({columns}, PRIMARY KEY ({', '.join(LINEITEM_KEY)}))")

    def load_lineitem(self, csv_path: str) -> int:
        """Create lineitem and insert the CSV in one transaction with executemany; returns rows.

        Python's csv module parses the file; SQLite converts each field by
        column affinity.
        """
        self.create_lineitem()
        return self._load_csv("lineitem", csv_path, len(LINEITEM_COLUMNS))

    def load_flights(self, csv_path: str) -> int:
        columns = ", ".join(
            f"{name} {SQL_TYPES[kind]}{'' if nullable else ' NOT NULL'}" for name, kind, nullable in FLIGHTS_COLUMNS
        )
        self.conn.execute(f"CREATE TABLE flights ({columns})")
        return self._load_csv("flights", csv_path, len(FLIGHTS_COLUMNS), empty_is_null=True)

    def _load_csv(self, table: str, csv_path: str, width: int, empty_is_null: bool = False) -> int:
        statement = f"INSERT INTO {table} VALUES ({', '.join(['?'] * width)})"
        with open(csv_path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader)
            rows = reader
            if empty_is_null:
                rows = ([None if v == "" else v for v in row] for row in reader)
            self.conn.execute("BEGIN")
            cursor = self.conn.executemany(statement, rows)
            self.conn.execute("COMMIT")
        return cursor.rowcount

    def bytes_on_disk(self) -> int:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))

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
        return self.conn.execute(OLTP_SQL["update"], (comment, key[0], key[1])).rowcount == 1

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
        prepared = []
        for v in row:
            if isinstance(v, Decimal):
                v = float(v)
            elif hasattr(v, "isoformat"):
                v = v.isoformat()
            prepared.append(v)
        return tuple(prepared)

    def read_checksum(self, raw: Any) -> int:
        if raw is None:
            return -1
        return row_checksum(raw[0], raw[3], raw[1], raw[2], round(raw[5] * 100))

    def scan_checksum(self, raw: Any) -> int:
        total = sum(row_checksum(r[0], r[3], r[1], r[2], round(r[5] * 100)) for r in raw)
        return (total + len(raw) * 1_000_000_007) % (1 << 61)

    # -- OLAP --------------------------------------------------------------

    def q1(self) -> Any:
        return self.conn.execute(_SQL["q1"]).fetchall()

    def answer_q1(self, raw: Any) -> Any:
        return [tuple(row[:2]) + tuple(float(v) for v in row[2:9]) + (row[9],) for row in raw]

    def q6(self) -> Any:
        return self.conn.execute(_SQL["q6"]).fetchone()[0]

    def answer_q6(self, raw: Any) -> Any:
        return float(raw) if raw is not None else None

    def range_scan(self, low: int, high: int) -> Any:
        return self.conn.execute(_SQL["range_scan"], (low, high)).fetchall()

    def answer_range_scan(self, raw: Any) -> Any:
        return (len(raw), sum(r[0] for r in raw), sum(r[1] for r in raw), sum(round(r[5] * 100) for r in raw))

    def projection(self) -> Any:
        rows = self.conn.execute(_SQL["projection"]).fetchall()
        if not rows:
            return [np.zeros(0, np.int64), np.zeros(0), np.zeros(0, "datetime64[D]")]
        keys, prices, dates = zip(*rows)
        return [
            np.array(keys, dtype=np.int64),
            np.array(prices, dtype=np.float64),
            np.array(dates, dtype="datetime64[D]"),
        ]

    def answer_projection(self, raw: Any) -> Any:
        return _projection_answer(*raw)

    def scan_tuples(self) -> Any:
        count = key_sum = 0
        for row in self.conn.execute(_SQL["scan_tuples"]):
            count += 1
            key_sum += row[0]
        return count, key_sum

    def answer_scan_tuples(self, raw: Any) -> Any:
        return raw

    def flights(self) -> Any:
        return self.conn.execute(_SQL["flights"]).fetchall()

    def answer_flights(self, raw: Any) -> Any:
        return [(carrier, count, float(avg), maximum) for carrier, count, avg, maximum in raw]
