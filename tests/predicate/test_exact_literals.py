"""Literals that the column's storage form cannot hold still compare exactly."""

from __future__ import annotations

import datetime as dt
import math
import operator
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from storagedb.batch import ColumnData
from storagedb.errors import PredicateError
from storagedb.predicate import col
from storagedb.schema import Schema

COMPARISONS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def select(column_type: str, values: list, predicate, nulls: list[bool] | None = None) -> list[bool]:
    """Evaluate ``predicate`` on a one-column batch of storage-form ``values``."""
    schema = Schema.build([("x", column_type)])
    dtype = schema.column("x").type.storage_dtype
    array = np.empty(len(values), dtype=dtype)
    array[:] = values
    mask = None if nulls is None else np.array(nulls, dtype=bool)
    return predicate.bind(schema).evaluate({"x": ColumnData(array, mask)}, len(values)).tolist()


# -- the cases named in the module docstring --------------------------------------


def test_decimal_less_than_unstorable_float():
    # x < 0.055 on decimal(12,2) means x_scaled <= 5: 0.05 passes, 0.06 does not.
    assert select("decimal(12,2)", [4, 5, 6], col("x") < 0.055) == [True, True, False]


def test_decimal_equal_to_unstorable_float_is_never_true():
    assert select("decimal(12,2)", [5, 6, 55], col("x") == 0.055) == [False, False, False]


def test_decimal_float_literal_means_its_printed_decimal():
    # The float 0.05 is 0.05000000000000000277 in binary. Here it means 5/100.
    assert select("decimal(12,2)", [4, 5, 6], col("x") == 0.05) == [False, True, False]


def test_decimal_string_and_decimal_literals_are_exact():
    assert select("decimal(12,2)", [5, 6], col("x") >= "0.055") == [False, True]
    assert select("decimal(12,2)", [5, 6], col("x") == Decimal("0.0500")) == [True, False]


def test_int_less_than_fraction():
    # x < 2.5 on an int column means x <= 2.
    assert select("int32", [1, 2, 3], col("x") < 2.5) == [True, True, False]
    assert select("int32", [1, 2, 3], col("x") > 2.5) == [False, False, True]


def test_int64_greater_than_huge_literal_is_never_true():
    top = 2**63 - 1
    assert select("int64", [top, 0], col("x") > 10**30) == [False, False]
    assert select("int64", [top, 0], col("x") < 10**30) == [True, True]
    assert select("int64", [top, 0], col("x") != 10**30) == [True, True]


def test_int8_literal_outside_range():
    assert select("int8", [-128, 127], col("x") < 1000) == [True, True]
    assert select("int8", [-128, 127], col("x") >= -1000) == [True, True]
    assert select("int8", [-128, 127], col("x") == 128) == [False, False]


def test_int64_float_literal_is_its_binary_value():
    # 2.0**60 prints as 1.152921504606847e+18 but is exactly 2**60.
    assert select("int64", [2**60, 2**60 + 1], col("x") <= 2.0**60) == [True, False]


def test_float32_column_against_float64_literal():
    # float32(0.1) is 0.100000001490116..., above the float64 0.1.
    stored = float(np.float32(0.1))
    assert select("float32", [stored], col("x") == 0.1) == [False]
    assert select("float32", [stored], col("x") > 0.1) == [True]
    assert select("float32", [stored], col("x") == np.float32(0.1)) == [True]


def test_float32_neighbours_of_unstorable_literal():
    below = float(np.nextafter(np.float32(0.1), np.float32(0)))
    above = float(np.float32(0.1))
    assert select("float32", [below, above], col("x") < 0.1) == [True, False]
    assert select("float32", [below, above], col("x") >= 0.1) == [False, True]


def test_float_decimal_literal_means_nearest_float64():
    assert select("float64", [0.1, 0.2], col("x") == Decimal("0.1")) == [True, False]
    assert select("float64", [0.1, 0.2], col("x") == "0.1") == [True, False]


def test_float64_against_unstorable_int():
    assert select("float64", [2.0**53, 2.0**53 + 2], col("x") == 2**53 + 1) == [False, False]
    assert select("float64", [2.0**53, 2.0**53 + 2], col("x") < 2**53 + 1) == [True, False]


def test_float64_against_literal_beyond_range():
    values = [math.inf, float(np.finfo(np.float64).max), -math.inf]
    assert select("float64", values, col("x") > 10**400) == [True, False, False]
    assert select("float64", values, col("x") < -(10**400)) == [False, False, True]


def test_bool_column_literals():
    assert select("bool", [1, 0], col("x") == True) == [True, False]
    assert select("bool", [1, 0], col("x") == "no") == [False, True]
    assert select("bool", [1, 0], col("x") < 1) == [False, True]


# -- NaN, -0.0 and NULL ---------------------------------------------------------------


def test_nan_selected_by_not_equal():
    values = [math.nan, 3.0, 4.0]
    assert select("float64", values, col("x") != 3) == [True, False, True]


def test_nan_selected_by_not_of_equal():
    values = [math.nan, 3.0, 4.0]
    assert select("float64", values, ~(col("x") == 3)) == [True, False, True]


def test_nan_fails_every_ordering():
    values = [math.nan]
    for op in ("==", "<", "<=", ">", ">="):
        assert select("float64", values, COMPARISONS[op](col("x"), 3)) == [False], op


def test_nan_literal_compares_false_except_not_equal():
    values = [math.nan, 1.0]
    assert select("float64", values, col("x") == math.nan) == [False, False]
    assert select("float64", values, col("x") != math.nan) == [True, True]
    assert select("int64", [1], col("x") < math.nan) == [False]


def test_negative_zero_equals_zero():
    assert select("float64", [-0.0, 0.0], col("x") == 0.0) == [True, True]
    assert select("float64", [-0.0, 0.0], col("x") == -0.0) == [True, True]
    assert select("float32", [-0.0, 0.0], col("x") < 0) == [False, False]


def test_not_of_unknown_stays_unknown():
    nulls = [False, True]
    assert select("int64", [3, 0], col("x") == 3, nulls) == [True, False]
    assert select("int64", [3, 0], ~(col("x") == 3), nulls) == [False, False]
    assert select("int64", [3, 0], ~~(col("x") == 3), nulls) == [True, False]


def test_or_unknown_with_true():
    nulls = [True, True]
    predicate = (col("x") == 3) | (col("x").is_null())
    assert select("int64", [3, 0], predicate, nulls) == [True, True]


def test_always_true_rewrite_keeps_null_unknown():
    # x < 10**30 is TRUE for every value but unknown for NULL.
    nulls = [False, True]
    assert select("int64", [1, 0], col("x") < 10**30, nulls) == [True, False]
    assert select("int64", [1, 0], ~(col("x") < 10**30), nulls) == [False, False]


def test_isin_with_null_is_never_false():
    nulls = [False, False, True]
    assert select("int64", [1, 2, 0], col("x").isin([1, None]), nulls) == [True, False, False]
    assert select("int64", [1, 2, 0], ~col("x").isin([1, None]), nulls) == [False, False, False]
    assert select("int64", [1, 2, 0], ~col("x").isin([1]), nulls) == [False, True, False]


def test_isin_drops_unstorable_literals():
    assert select("int8", [1, 2], col("x").isin([1.5, 1000, 2])) == [False, True]
    assert select("float64", [math.nan, 1.0], col("x").isin([math.nan, 1])) == [False, True]


def test_isin_long_list():
    values = list(range(20))
    assert select("int32", values, col("x").isin(range(0, 20, 2))) == [v % 2 == 0 for v in values]


def test_empty_isin_selects_nothing():
    assert select("int64", [1, 2], col("x").isin([])) == [False, False]


# -- dates, timestamps, text, blob --------------------------------------------------

DAY = dt.date(1994, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()


def test_date_accepts_iso_strings():
    assert select("date", [DAY - 1, DAY, DAY + 1], col("x") >= "1994-01-01") == [False, True, True]


def test_date_against_timestamp_literal():
    # A date is midnight UTC, so it is below noon of the same day.
    values = [DAY, DAY + 1]
    assert select("date", values, col("x") < "1994-01-01T12:00") == [True, False]
    assert select("date", values, col("x") == dt.datetime(1994, 1, 1, 12)) == [False, False]
    assert select("date", values, col("x") == dt.datetime(1994, 1, 1)) == [True, False]
    assert select("date", values, col("x") > np.datetime64("1994-01-01T00:00:00.5")) == [False, True]


def test_timestamp_accepts_iso_and_dates():
    micros = DAY * 86_400_000_000
    values = [micros - 1, micros, micros + 1]
    assert select("timestamp", values, col("x") >= "1994-01-01T00:00:00Z") == [False, True, True]
    assert select("timestamp", values, col("x") == dt.date(1994, 1, 1)) == [False, True, False]
    aware = dt.datetime(1994, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert select("timestamp", values, col("x") == aware) == [False, True, False]


def test_timestamp_nanosecond_literal_between_micros():
    micros = DAY * 86_400_000_000
    literal = np.datetime64("1994-01-01T00:00:00.000000500", "ns")
    assert select("timestamp", [micros, micros + 1], col("x") < literal) == [True, False]
    assert select("timestamp", [micros, micros + 1], col("x") == literal) == [False, False]


def test_text_orders_by_code_point():
    values = ["a", "Z", "é", "😀", "a\x00", ""]
    assert select("text", values, col("x") > "z") == [False, False, True, True, False, False]
    assert select("text", values, col("x") == "a") == [True, False, False, False, False, False]
    assert select("text", values, col("x") == "a\x00") == [False, False, False, False, True, False]


def test_blob_orders_by_bytes():
    values = [b"\x00", b"\xff", b"a", b""]
    assert select("blob", values, col("x") >= b"a") == [False, True, True, False]
    assert select("blob", values, col("x") == "a") == [False, False, True, False]


# -- every operator against every edge, checked with exact arithmetic ---------------

INTEGER_CASES = [
    ("int8", [-128, -1, 0, 1, 2, 3, 127], [-129, 128, -128.5, 127.5, 2.5, -0.5, Fraction(5, 2), Decimal("2.5"), 2]),
    ("int64", [-(2**63), 0, 2**63 - 1], [2**63, -(2**63) - 1, 2.0**63, -(2.0**63), Decimal("9223372036854775806.5")]),
]


@pytest.mark.parametrize("column_type,values,literals", INTEGER_CASES)
def test_integer_rewrites_match_exact_comparison(column_type, values, literals):
    for literal in literals:
        for op, compare in COMPARISONS.items():
            expected = [compare(Fraction(value), Fraction(literal)) for value in values]
            assert select(column_type, values, compare(col("x"), literal)) == expected, (op, literal)


def test_integer_rewrites_against_infinities():
    values = [-128, 0, 127]
    for op, compare in COMPARISONS.items():
        for literal in (math.inf, -math.inf):
            expected = [compare(value, literal) for value in values]
            assert select("int8", values, compare(col("x"), literal)) == expected, (op, literal)


FLOAT_CASES = [
    ("float32", np.float32, [0.1, Fraction(1, 3), 2**24 + 1, 10**39, -(10**39), Fraction(1, 10**50)]),
    ("float64", np.float64, [Fraction(1, 3), 2**53 + 1, 10**400, -(10**400), Fraction(1, 10**400)]),
]


@pytest.mark.parametrize("column_type,scalar,literals", FLOAT_CASES)
def test_float_rewrites_match_exact_comparison(column_type, scalar, literals):
    largest = np.finfo(scalar).max
    for literal in literals:
        # The storable floats on each side of the literal, and the extremes.
        if abs(literal) <= Fraction(float(largest)):
            nearest = scalar(float(literal))
        else:
            nearest = largest if literal > 0 else -largest
        values = [nearest, np.nextafter(nearest, scalar(np.inf)), np.nextafter(nearest, scalar(-np.inf))]
        values += [largest, -largest, scalar(np.inf), scalar(-np.inf), scalar(0)]
        for op, compare in COMPARISONS.items():
            expected = [compare(float(value), Fraction(literal)) for value in values]
            got = select(column_type, [float(value) for value in values], compare(col("x"), literal))
            assert got == expected, (op, literal)


def test_decimal_rewrites_match_exact_comparison():
    values = [-5, 0, 5, 6, 999_999_999]  # scaled by 100
    literals = [Decimal("0.055"), Decimal("0.05"), Fraction(1, 3), Decimal("9999999.995"), 10**30, -(10**30)]
    for literal in literals:
        for op, compare in COMPARISONS.items():
            expected = [compare(Fraction(value, 100), Fraction(literal)) for value in values]
            assert select("decimal(9,2)", values, compare(col("x"), literal)) == expected, (op, literal)


# -- literals of the wrong kind ---------------------------------------------------------

WRONG_KINDS = [
    ("int64", "abc", "not a number"),
    ("int64", True, "a bool is not a number"),
    ("int64", dt.date(1994, 1, 1), "expected a number"),
    ("float64", "1_000", "not a number"),
    ("decimal(12,2)", b"1", "expected a number"),
    ("date", "1994-13-01", "expected a date as YYYY-MM-DD"),
    ("date", 5, "expected a date or a YYYY-MM-DD string"),
    ("date", np.datetime64("NaT"), "NaT is a missing value"),
    ("timestamp", "yesterday", "expected an ISO 8601 timestamp"),
    ("text", 5, "expected a string"),
    ("text", b"\xff", "invalid UTF-8 at byte 0"),
    ("text", "\ud800", "lone surrogate"),
    ("blob", 5, "expected bytes"),
    ("bool", 2, "expected true or false"),
    ("bool", "maybe", "expected true or false"),
]


@pytest.mark.parametrize("column_type,literal,reason", WRONG_KINDS)
def test_wrong_kind_literal_names_column_type_and_value(column_type, literal, reason):
    schema = Schema.build([("x", column_type)])
    with pytest.raises(PredicateError) as caught:
        (col("x") == literal).bind(schema)
    message = str(caught.value)
    assert "'x'" in message
    assert schema.column("x").type.name in message
    assert repr(literal) in message
    assert reason in message


def test_wrong_kind_inside_isin_raises():
    schema = Schema.build([("x", "int64")])
    with pytest.raises(PredicateError, match="'abc'"):
        col("x").isin([1, "abc"]).bind(schema)
