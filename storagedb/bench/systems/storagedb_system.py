"""storagedb as a benchmark target, driven only through its public API.

Queries run the way a user of the library would write them. Point reads and
changes go through ``Table.get``, ``update`` and ``insert``, and filters are
pushed down as ``storagedb.col`` predicates. TPC-H Q1 and Q6 are
``scan_batches`` plus numpy on the exact scaled-integer decimals, and the
flights query is ``Table.aggregate``.
"""

from __future__ import annotations

import datetime
import inspect
from decimal import Decimal
from typing import Any

import numpy as np

import storagedb
from storagedb import col

from ..data import LINEITEM_COLUMNS, LINEITEM_KEY
from . import row_checksum

__all__ = ["COUNTER_KEYS", "StoragedbDatabase", "StoragedbTable", "supports_synchronous"]

# The TPC-H validation parameters: Q1's DELTA of 90 days, Q6's DATE of
# 1994-01-01, DISCOUNT of 0.06 (plus or minus 0.01) and QUANTITY of 24.
Q1_SHIPDATE = datetime.date(1998, 9, 2)  # 1998-12-01 minus 90 days
Q6_FROM, Q6_TO = datetime.date(1994, 1, 1), datetime.date(1995, 1, 1)
Q6_DISCOUNT_LOW, Q6_DISCOUNT_HIGH = Decimal("0.05"), Decimal("0.07")
Q6_QUANTITY = 24

#: Table and buffer-pool counters reported per benchmark entry, as the
#: change over the timed runs divided by the number of runs.
COUNTER_KEYS = (
    "hits",
    "misses",
    "reads",
    "writes",
    "evictions",
    "lookups",
    "segments_skipped_by_range",
    "segments_skipped_by_bloom",
    "bloom_false_positives",
    "data_pages_read",
    "pages_read",
    "pages_skipped",
    "zones_read",
    "zones_skipped",
)


def supports_synchronous() -> bool:
    """True when ``storagedb.connect`` takes a ``synchronous`` argument (the write-ahead log exists)."""
    return "synchronous" in inspect.signature(storagedb.connect).parameters


class StoragedbDatabase:
    """One storagedb database directory opened for a benchmark."""

    system = "storagedb"

    def __init__(self, directory: str, layout: str, *, pool_size: int | None, synchronous: str | None = None) -> None:
        options: dict[str, Any] = {}
        if pool_size:
            options["pool_size"] = pool_size
        if synchronous is not None:
            options["synchronous"] = synchronous
        self.directory = directory
        self.layout = layout
        self.db = storagedb.connect(directory, **options)

    def create_lineitem(self, name: str = "lineitem", **options: Any) -> StoragedbTable:
        """Create an empty lineitem table in this database's layout."""
        columns = [(column, kind, "not null") for column, kind in LINEITEM_COLUMNS]
        self.db.create_table(name, columns, primary_key=list(LINEITEM_KEY), layout=self.layout, **options)
        return StoragedbTable(self, name)

    def load_lineitem(self, csv_path: str, name: str = "lineitem", **options: Any) -> StoragedbTable:
        """Create lineitem with its NOT NULL schema and bulk load the CSV into it."""
        table = self.create_lineitem(name, **options)
        self.db.load(name, csv_path)
        return table

    def load_flights(self, csv_path: str, columns: list[tuple[str, str, bool]]) -> StoragedbTable:
        schema = [(name, kind) if nullable else (name, kind, "not null") for name, kind, nullable in columns]
        self.db.create_table("flights", schema, layout=self.layout)
        self.db.load("flights", csv_path)
        return StoragedbTable(self, "flights")

    def counters(self) -> dict[str, Any]:
        return self.db.stats()

    def close(self) -> None:
        self.db.close()


class StoragedbTable:
    """One storagedb table as a benchmark target."""

    system = "storagedb"

    def __init__(self, database: StoragedbDatabase, name: str) -> None:
        self.database = database
        self.name = name
        self.layout = database.layout
        self.table = database.db.table(name)

    # -- sizes and counters ----------------------------------------------

    def bytes_on_disk(self) -> int:
        return int(self.table.stats()["bytes"])

    def counters(self) -> dict[str, Any]:
        """Buffer-pool and table counters, merged into one dict."""
        merged = dict(self.database.db.stats())
        merged.update(self.table.stats())
        return {key: merged.get(key, 0) for key in COUNTER_KEYS}

    def row_count(self) -> int:
        return int(self.table.stats()["rows"])

    def describe(self) -> dict[str, Any]:
        stats = self.table.stats()
        return {"rows": stats["rows"], "segments": stats["segments"], "pages": stats["pages"]}

    # -- OLTP --------------------------------------------------------------

    def read(self, key: tuple[int, int]) -> Any:
        return self.table.get(key)

    def update(self, key: tuple[int, int], comment: str) -> Any:
        return self.table.update(key, {"l_comment": comment})

    def insert(self, row: Any) -> Any:
        return self.table.insert(row)

    def scan_range(self, low: int, high: int) -> Any:
        return list(self.table.scan(where=col("l_orderkey").between(low, high)))

    def read_modify_write(self, key: tuple[int, int], tag: str) -> Any:
        row = self.table.get(key)
        if row is not None:
            self.table.update(key, {"l_comment": tag + row["l_comment"][:20]})
        return row

    def prepare_row(self, row: tuple) -> Any:
        return row

    def read_checksum(self, raw: Any) -> int:
        if raw is None:
            return -1
        return row_checksum(
            raw["l_orderkey"],
            raw["l_linenumber"],
            raw["l_partkey"],
            raw["l_suppkey"],
            int(raw["l_extendedprice"] * 100),
        )

    def scan_checksum(self, raw: Any) -> int:
        total = sum(row_checksum(r[0], r[3], r[1], r[2], int(r[5] * 100)) for r in raw)
        return (total + len(raw) * 1_000_000_007) % (1 << 61)

    # -- OLAP --------------------------------------------------------------

    def q6(self) -> Any:
        where = (
            (col("l_shipdate") >= Q6_FROM)
            & (col("l_shipdate") < Q6_TO)
            & col("l_discount").between(Q6_DISCOUNT_LOW, Q6_DISCOUNT_HIGH)
            & (col("l_quantity") < Q6_QUANTITY)
        )
        result = self.table.aggregate(
            aggregates={"revenue": ("sum", col("l_extendedprice") * col("l_discount"))}, where=where
        )
        return result.rows[0][0]

    def answer_q6(self, raw: Any) -> Any:
        return Decimal(0) if raw is None else raw

    def q1(self) -> Any:
        price = col("l_extendedprice")
        discounted = price * (1 - col("l_discount"))
        result = self.table.aggregate(
            group_by=["l_returnflag", "l_linestatus"],
            aggregates={
                "sum_qty": ("sum", "l_quantity"),
                "sum_base_price": ("sum", "l_extendedprice"),
                "sum_disc_price": ("sum", discounted),
                "sum_charge": ("sum", discounted * (1 + col("l_tax"))),
                "sum_disc": ("sum", "l_discount"),
                "count_order": ("count", "*"),
            },
            where=col("l_shipdate") <= Q1_SHIPDATE,
        )
        return result.rows

    def answer_q1(self, raw: Any) -> Any:
        # The averages are the exact sums divided in binary floating point,
        # as DuckDB returns avg() of a decimal as a double.
        return [
            (flag, status, qty, price, disc_price, charge, float(qty) / count, float(price) / count,
             float(disc) / count, count)
            for flag, status, qty, price, disc_price, charge, disc, count in raw
        ]

    def range_scan(self, low: int, high: int) -> Any:
        return list(self.table.scan(where=col("l_orderkey").between(low, high)))

    def answer_range_scan(self, raw: Any) -> Any:
        return (len(raw), sum(r[0] for r in raw), sum(r[1] for r in raw), sum(int(r[5] * 100) for r in raw))

    def projection(self) -> Any:
        names = ["l_orderkey", "l_extendedprice", "l_shipdate"]
        parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for batch in self.table.scan_batches(names):
            for name in names:
                parts[name].append(batch[name])
        return {name: np.concatenate(arrays) if arrays else np.zeros(0) for name, arrays in parts.items()}

    def answer_projection(self, raw: Any) -> Any:
        return _projection_answer(raw["l_orderkey"], raw["l_extendedprice"], raw["l_shipdate"])

    def scan_tuples(self) -> Any:
        count = key_sum = 0
        for row in self.table.scan():
            count += 1
            key_sum += row[0]
        return count, key_sum

    def answer_scan_tuples(self, raw: Any) -> Any:
        return raw

    def flights(self) -> Any:
        return self.table.aggregate(
            group_by=["carrier"],
            aggregates={
                "flights": ("count", "*"),
                "avg_dep_delay": ("avg", "dep_delay"),
                "max_arr_delay": ("max", "arr_delay"),
            },
            where=col("dep_delay").is_not_null(),
        )

    def answer_flights(self, raw: Any) -> Any:
        return [(carrier, count, float(avg), maximum) for carrier, count, avg, maximum in raw.rows]

    # -- building tables from this one ---------------------------------------

    def read_all_columns(self) -> dict[str, np.ndarray]:
        """Read every column of the table into one array each, in batch form.

        ``insert_many`` takes the same form back, decimals as scaled int64
        included, so the arrays build a copy of the table unchanged.
        """
        parts: dict[str, list[np.ndarray]] = {}
        for batch in self.table.scan_batches():
            for name, values in batch.items():
                parts.setdefault(name, []).append(values)
        return {name: np.concatenate(arrays) for name, arrays in parts.items()}


def _projection_answer(orderkeys: np.ndarray, prices: np.ndarray, dates: np.ndarray) -> tuple:
    """Row count, key sum, price sum in cents and the date range of a projection."""
    if len(orderkeys) == 0:
        return (0, 0, 0, None, None)
    if prices.dtype.kind == "f":
        cents = np.rint(prices * 100).astype(np.int64)
    else:
        cents = prices.astype(np.int64)
    days = dates.astype("datetime64[D]")
    return (
        len(orderkeys),
        int(orderkeys.astype(np.int64).sum()),
        int(cents.sum()),
        str(days.min()),
        str(days.max()),
    )
