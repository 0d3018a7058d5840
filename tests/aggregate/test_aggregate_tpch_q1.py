"""TPC-H Q1 on seeds/lineitem.csv (scale factor 0.01): storagedb.aggregate
against DuckDB on the same file, every sum and count compared exactly."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from storagedb.aggregate import AggregateSpec
from storagedb.batch import DictionaryColumn
from storagedb.schema import Schema

LINEITEM = Path(__file__).resolve().parents[2] / "seeds" / "lineitem.csv"

#: Q1 keeps rows shipped on or before 1998-12-01 minus 90 days.
SHIP_LIMIT = dt.date(1998, 9, 2)

Q1_SQL = f"""
SELECT l_returnflag, l_linestatus,
       sum(l_quantity), sum(l_extendedprice),
       sum(l_extendedprice * (1 - l_discount)),
       sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)),
       avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*)
FROM read_csv('{LINEITEM}', header = true, types = {{
    'l_quantity': 'DECIMAL(15,2)', 'l_extendedprice': 'DECIMAL(15,2)',
    'l_discount': 'DECIMAL(15,2)', 'l_tax': 'DECIMAL(15,2)', 'l_shipdate': 'DATE'}})
WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus
"""

# The two computed Q1 columns are stored as decimals of the exact product's
# scale: price x (1 - discount) has 4 digits after the point, times (1 + tax) 6.
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


def scaled(text: str) -> int:
    """Return the hundredths of a decimal written with at most two digits after the point."""
    whole, _, fraction = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return int(whole) * 100 + sign * int((fraction + "00")[:2])


def read_q1_columns() -> dict[str, np.ndarray]:
    """Read the Q1 columns of the rows that pass its filter, in storage form."""
    flags, statuses, quantities, prices, discounts, taxes = [], [], [], [], [], []
    with open(LINEITEM, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            if dt.date.fromisoformat(row["l_shipdate"]) > SHIP_LIMIT:
                continue
            flags.append(row["l_returnflag"])
            statuses.append(row["l_linestatus"])
            quantities.append(scaled(row["l_quantity"]))
            prices.append(scaled(row["l_extendedprice"]))
            discounts.append(scaled(row["l_discount"]))
            taxes.append(scaled(row["l_tax"]))
    price = np.array(prices, dtype=np.int64)
    discount = np.array(discounts, dtype=np.int64)
    tax = np.array(taxes, dtype=np.int64)
    return {
        "l_returnflag": np.array(flags, dtype=object),
        "l_linestatus": np.array(statuses, dtype=object),
        "l_quantity": np.array(quantities, dtype=np.int64),
        "l_extendedprice": price,
        "l_discount": discount,
        "disc_price": price * (100 - discount),
        "charge": price * (100 - discount) * (100 + tax),
    }


def as_dictionary(values: np.ndarray) -> DictionaryColumn:
    dictionary, codes = np.unique(values, return_inverse=True)
    return DictionaryColumn(dictionary.astype(object), codes.astype(np.uint8))


def exact_average(total: Decimal, count: int, scale: int) -> Decimal:
    """Return avg as storagedb defines it: scale + 6 digits, rounded half to even."""
    context = decimal.Context(prec=60)
    step = Decimal(1).scaleb(-(scale + 6))
    return context.divide(total, count).quantize(step, rounding=decimal.ROUND_HALF_EVEN)


@pytest.mark.parametrize("key_form", ["plain", "dictionary"])
def test_tpch_q1_matches_duckdb(key_form):
    duckdb = pytest.importorskip("duckdb")
    columns = read_q1_columns()
    rows = len(columns["l_quantity"])
    accumulator = AggregateSpec.build(SCHEMA, ["l_returnflag", "l_linestatus"], AGGREGATES).accumulator()
    for start in range(0, rows, 8192):
        batch = {name: values[start : start + 8192] for name, values in columns.items()}
        if key_form == "dictionary":
            batch["l_returnflag"] = as_dictionary(batch["l_returnflag"])
            batch["l_linestatus"] = as_dictionary(batch["l_linestatus"])
        accumulator.add(batch, len(batch["l_quantity"]))
    ours = accumulator.result().rows

    connection = duckdb.connect()
    connection.execute("SET threads = 1")
    theirs = connection.execute(Q1_SQL).fetchall()
    assert [row[:2] for row in ours] == [("A", "F"), ("N", "F"), ("N", "O"), ("R", "F")]
    assert [row[:2] for row in theirs] == [row[:2] for row in ours]
    for mine, reference in zip(ours, theirs):
        flag, status, sum_qty, sum_price, sum_disc_price, sum_charge, avg_qty, avg_price, avg_disc, count = mine
        assert (sum_qty, sum_price, sum_disc_price, sum_charge) == reference[2:6], (flag, status)
        assert count == reference[9], (flag, status)
        # DuckDB's avg is a double, while storagedb's has 8 digits after the
        # point, so the two differ by at most half a unit of the 8th digit
        # (5e-9) plus the double's own rounding error. The rounding itself is
        # checked against the exact sums.
        assert avg_qty == exact_average(reference[2], count, 2)
        assert avg_price == exact_average(reference[3], count, 2)
        assert float(avg_qty) == pytest.approx(reference[6], abs=1e-8)
        assert float(avg_price) == pytest.approx(reference[7], abs=1e-8)
        assert float(avg_disc) == pytest.approx(reference[8], abs=1e-8)
        assert sum_charge.as_tuple().exponent == -6
