"""Arithmetic expressions: exact typing, NULLs, overflow, and aggregates over them."""

import decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import storagedb
from storagedb import col
from storagedb.batch import ColumnData
from storagedb.errors import InvalidValueError, PredicateError, SchemaError
from storagedb.schema import Schema

SCHEMA = Schema.build(
    [("price", "decimal(12,2)"), ("rate", "decimal(6,4)"), ("n", "int32"), ("x", "float64"), ("s", "text")]
)


def test_result_types_follow_exact_rules():
    assert (col("price") * col("rate")).bind(SCHEMA).type.name == "decimal(18,6)"
    assert (col("price") + col("rate")).bind(SCHEMA).type.name == "decimal(18,4)"
    assert (col("price") * (1 - col("rate"))).bind(SCHEMA).type.name == "decimal(18,6)"
    assert (col("n") * 3 - col("n")).bind(SCHEMA).type.name == "int64"
    assert (col("price") * 0.5).bind(SCHEMA).type.name == "float64"
    assert (col("n") + col("x")).bind(SCHEMA).type.name == "float64"
    assert (col("price") * decimal.Decimal("1.5")).bind(SCHEMA).type.name == "decimal(18,3)"


def test_text_operand_is_rejected():
    with pytest.raises(SchemaError, match="does not apply to column 's'"):
        (col("s") + 1).bind(SCHEMA)


def test_expressions_cannot_be_filtered_or_tested_for_truth():
    with pytest.raises(PredicateError):
        col("price") * 2 > 3
    with pytest.raises(PredicateError):
        bool(col("price") * 2)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-(10**9), 10**9)),
            st.one_of(st.none(), st.integers(-(10**4), 10**4)),
            st.integers(-1000, 1000),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_decimal_expression_matches_python_decimals(rows):
    price = np.array([p or 0 for p, _, _ in rows], dtype=np.int64)
    rate = np.array([r or 0 for _, r, _ in rows], dtype=np.int64)
    n = np.array([k for _, _, k in rows], dtype=np.int32)
    batch = {
        "price": ColumnData(price, np.array([p is None for p, _, _ in rows])),
        "rate": ColumnData(rate, np.array([r is None for _, r, _ in rows])),
        "n": ColumnData(n),
    }
    bound = (col("price") * (1 - col("rate")) + col("n")).bind(SCHEMA)
    result = bound.evaluate(batch, len(rows))
    for index, (p, r, k) in enumerate(rows):
        if p is None or r is None:
            assert result.nulls[index]
            continue
        exact = decimal.Decimal(p).scaleb(-2) * (1 - decimal.Decimal(r).scaleb(-4)) + k
        assert decimal.Decimal(int(result.values[index])).scaleb(-bound.type.scale) == exact


def test_overflow_risk_raises_instead_of_wrapping():
    batch = {"price": ColumnData(np.array([10**17], dtype=np.int64)), "rate": ColumnData(np.array([10**4]))}
    with pytest.raises(InvalidValueError, match="overflow int64"):
        (col("price") * col("rate")).bind(SCHEMA).evaluate(batch, 1)


@pytest.mark.parametrize("layout", ["nsm", "dsm", "pax"])
def test_aggregate_of_expression_is_exact(tmp_path, layout):
    rng = np.random.default_rng(4)
    price = rng.integers(100, 10_000_000, 20_000)
    discount = rng.integers(0, 11, 20_000)
    with storagedb.connect(tmp_path / "db") as db:
        table = db.create_table(
            "t", [("id", "int64", "not null"), ("price", "decimal(15,2)"), ("discount", "decimal(15,2)")],
            primary_key="id", layout=layout,
        )
        table.insert_many({"id": np.arange(20_000), "price": price, "discount": discount})
        result = table.aggregate(
            aggregates={
                "revenue": ("sum", col("price") * col("discount")),
                "net": ("sum", col("price") * (1 - col("discount"))),
            },
            where=col("discount") >= decimal.Decimal("0.05"),
        )
    picked = discount >= 5
    expected_revenue = decimal.Decimal(int((price[picked] * discount[picked]).sum())).scaleb(-4)
    expected_net = decimal.Decimal(int((price[picked] * (100 - discount[picked])).sum())).scaleb(-4)
    assert result.rows == [(expected_revenue, expected_net)]
