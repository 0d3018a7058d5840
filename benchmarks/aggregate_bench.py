"""Benchmark a TPC-H Q1-shaped GROUP BY over 600,000 rows with storagedb.aggregate.

Run from the repository root::

    python benchmarks/aggregate_bench.py [--csv /tmp/tpch01/lineitem.csv] [--repeats 7]

The rows come from a TPC-H lineitem CSV when one exists (``tpchgen-cli csv
-s 0.1 -T lineitem -o /tmp/tpch01`` writes 600,572 rows), and are otherwise
synthetic with the same shape: 2 one-character text group columns with 4
combinations and 8 aggregates (4 sums, 3 averages, a count) over scaled int64
decimals. The Q1 filter and the two computed columns are prepared before
timing, because they belong to the scan, not the aggregate.

Prints the best wall-clock and CPU time of ``--repeats`` runs for the group
keys as object arrays of str and as dictionary codes, in one batch and in
batches of 65,536 rows (the default row group). With a CSV and DuckDB
installed, it also prints DuckDB's time for the whole Q1, filter included,
on one thread over the CSV loaded into an in-memory table.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from storagedb.aggregate import AggregateSpec  # noqa: E402
from storagedb.batch import DictionaryColumn  # noqa: E402
from storagedb.schema import Schema  # noqa: E402

DEFAULT_CSV = "/tmp/tpch01/lineitem.csv"
SYNTHETIC_ROWS = 600_000
BATCH_ROWS = 65_536

#: Q1 keeps rows shipped on or before 1998-12-01 minus 90 days.
SHIP_LIMIT = dt.date(1998, 9, 2)

SCHEMA = Schema.build(
    [
        ("l_returnflag", "text"),
        ("l_linestatus", "text"),
        ("l_quantity", "decimal(15,2)"),
        ("l_extendedprice", "decimal(15,2)"),
        ("l_discount", "decimal(15,2)"),
        ("disc_price", "decimal(18,4)"),
        ("charge", "decimal(18,6)"),
    ]
)
AGGREGATES = {
    "sum_qty": ("sum", "l_quantity"),
    "sum_base_price": ("sum", "l_extendedprice"),
    "sum_disc_price": ("sum", "disc_price"),
    "sum_charge": ("sum", "charge"),
    "avg_qty": ("avg", "l_quantity"),
    "avg_price": ("avg", "l_extendedprice"),
    "avg_disc": ("avg", "l_discount"),
    "count_order": ("count", "*"),
}

DUCKDB_Q1 = """
SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice),
       sum(l_extendedprice * (1 - l_discount)),
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)),
       avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*)
FROM lineitem
WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus
"""


def hundredths(text: str) -> int:
    whole, _, fraction = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return int(whole) * 100 + sign * int((fraction + "00")[:2])


def read_csv_columns(path: str) -> dict[str, list]:
    """Read the Q1 columns of the rows that pass the Q1 filter."""
    names = ("l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice", "l_discount", "l_tax")
    columns: dict[str, list] = {name: [] for name in names}
    with open(path, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if dt.date.fromisoformat(row["l_shipdate"]) > SHIP_LIMIT:
                continue
            for name in names[:2]:
                columns[name].append(row[name])
            for name in names[2:]:
                columns[name].append(hundredths(row[name]))
    return columns


def synthetic_columns(rows: int) -> dict[str, list]:
    """Draw rows with Q1's value ranges and its 4 (returnflag, linestatus) pairs."""
    rng = np.random.default_rng(1)
    pairs = np.array([("A", "F"), ("N", "F"), ("N", "O"), ("R", "F")], dtype=object)
    chosen = pairs[rng.integers(0, 4, size=rows)]
    quantity = rng.integers(1, 51, size=rows) * 100
    return {
        "l_returnflag": chosen[:, 0].tolist(),
        "l_linestatus": chosen[:, 1].tolist(),
        "l_quantity": quantity.tolist(),
        "l_extendedprice": (quantity * rng.integers(900, 2100, size=rows)).tolist(),
        "l_discount": rng.integers(0, 11, size=rows).tolist(),
        "l_tax": rng.integers(0, 9, size=rows).tolist(),
    }


def storage_columns(raw: dict[str, list]) -> dict[str, np.ndarray]:
    """Build storage-form arrays, with Q1's two computed columns as exact decimals."""
    price = np.array(raw["l_extendedprice"], dtype=np.int64)
    discount = np.array(raw["l_discount"], dtype=np.int64)
    tax = np.array(raw["l_tax"], dtype=np.int64)
    flags = np.empty(len(price), dtype=object)
    flags[:] = raw["l_returnflag"]
    statuses = np.empty(len(price), dtype=object)
    statuses[:] = raw["l_linestatus"]
    return {
        "l_returnflag": flags,
        "l_linestatus": statuses,
        "l_quantity": np.array(raw["l_quantity"], dtype=np.int64),
        "l_extendedprice": price,
        "l_discount": discount,
        "disc_price": price * (100 - discount),
        "charge": price * (100 - discount) * (100 + tax),
    }


def dictionary_column(values: np.ndarray) -> DictionaryColumn:
    dictionary, codes = np.unique(values, return_inverse=True)
    return DictionaryColumn(dictionary.astype(object), codes.astype(np.uint8))


def batches_of(columns: dict[str, np.ndarray], rows_per_batch: int, dictionary_keys: bool) -> list[tuple[dict, int]]:
    """Slice the columns into batches; dictionary keys are encoded before timing."""
    rows = len(columns["l_quantity"])
    batches = []
    for start in range(0, rows, rows_per_batch):
        batch = {name: values[start : start + rows_per_batch] for name, values in columns.items()}
        if dictionary_keys:
            for name in ("l_returnflag", "l_linestatus"):
                batch[name] = dictionary_column(batch[name])
        batches.append((batch, len(batch["l_quantity"])))
    return batches


def run_query(batches: list[tuple[dict, int]]) -> list[tuple]:
    accumulator = AggregateSpec.build(SCHEMA, ["l_returnflag", "l_linestatus"], AGGREGATES).accumulator()
    for batch, length in batches:
        accumulator.add(batch, length)
    return accumulator.result().rows


def best_seconds(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Return the fastest wall-clock time and the least CPU time of ``repeats`` calls, in seconds.

    On a machine shared with other work, the CPU time of this process is
    the steadier of the two figures.
    """
    wall, cpu = [], []
    for _ in range(repeats):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
    return min(wall), min(cpu)


def report(label: str, seconds: tuple[float, float]) -> None:
    wall, cpu = seconds
    print(f"{label:<40} {wall * 1e3:7.1f} ms wall {cpu * 1e3:7.1f} ms CPU")


def duckdb_seconds(path: str, repeats: int) -> tuple[float, float] | None:
    """Time DuckDB's Q1 on one thread over the CSV loaded into a table; None without DuckDB."""
    try:
        import duckdb
    except ImportError:
        return None
    connection = duckdb.connect()
    connection.execute("SET threads = 1")
    connection.execute(
        "CREATE TABLE lineitem AS SELECT * FROM read_csv(?, header = true, types = {"
        "'l_quantity': 'DECIMAL(15,2)', 'l_extendedprice': 'DECIMAL(15,2)', "
        "'l_discount': 'DECIMAL(15,2)', 'l_tax': 'DECIMAL(15,2)', 'l_shipdate': 'DATE'})",
        [path],
    )
    return best_seconds(lambda: connection.execute(DUCKDB_Q1).fetchall(), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=DEFAULT_CSV, help="lineitem CSV to read (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per case; the best is printed")
    arguments = parser.parse_args()

    if os.path.exists(arguments.csv):
        source = arguments.csv
        raw = read_csv_columns(arguments.csv)
    else:
        source = f"synthetic ({arguments.csv} not found)"
        raw = synthetic_columns(SYNTHETIC_ROWS)
    columns = storage_columns(raw)
    rows = len(columns["l_quantity"])
    print(f"storagedb.aggregate, TPC-H Q1 shape: {rows:,} rows to aggregate, from {source}")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} CPUs")

    for label, rows_per_batch, dictionary_keys in [
        ("text keys, one batch", rows, False),
        ("dictionary keys, one batch", rows, True),
        (f"text keys, batches of {BATCH_ROWS:,}", BATCH_ROWS, False),
        (f"dictionary keys, batches of {BATCH_ROWS:,}", BATCH_ROWS, True),
    ]:
        batches = batches_of(columns, rows_per_batch, dictionary_keys)
        report(label, best_seconds(lambda batches=batches: run_query(batches), arguments.repeats))

    if os.path.exists(arguments.csv):
        seconds = duckdb_seconds(arguments.csv, arguments.repeats)
        if seconds is None:
            print("DuckDB is not installed, so its time is skipped")
        else:
            report("DuckDB 1 thread, whole Q1 with filter", seconds)


if __name__ == "__main__":
    main()
