"""Building predicates with col(), binding them, and the errors users see."""

from __future__ import annotations

import datetime as dt
import doctest
from decimal import Decimal

import numpy as np
import pytest

import storagedb.predicate
import storagedb.where
from storagedb.batch import ColumnData, DictionaryColumn, RunColumn
from storagedb.errors import InvalidInputError, PredicateError
from storagedb.predicate import And, Comparison, InList, IsNull, Not, Or, col
from storagedb.schema import Schema

SCHEMA = Schema.build([("a", "int64"), ("b", "text"), ("c", "float64")])


# -- construction -------------------------------------------------------------------


def test_comparison_fields():
    predicate = col("a") <= 5
    assert predicate == Comparison("a", "<=", 5)


def test_reflected_comparison_flips_operator():
    assert (5 < col("a")) == Comparison("a", ">", 5)
    assert (np.int64(5) < col("a")) == Comparison("a", ">", np.int64(5))
    assert (np.float32(1.5) >= col("a")) == Comparison("a", "<=", np.float32(1.5))


def test_combinators_flatten():
    p, q, r = col("a") == 1, col("b") == "x", col("c") > 0
    assert (p & q & r) == And((p, q, r))
    assert (p | (q | r)) == Or((p, q, r))
    assert ~p == Not(p)


def test_helpers_build_expected_nodes():
    assert col("a").isin([1, None]) == InList("a", (1, None))
    assert col("a").is_null() == IsNull("a", negated=False)
    assert col("a").is_not_null() == IsNull("a", negated=True)
    assert col("a").between(1, 5) == And((col("a") >= 1, col("a") <= 5))


def test_isin_accepts_any_iterable():
    assert col("a").isin(range(3)).values == (0, 1, 2)
    assert col("a").isin(np.array([1, 2])).values == (1, 2)
    assert col("b").isin({"x"}).values == ("x",)


def test_literal_forms_are_normalised():
    assert (col("b") == np.str_("x")).value == "x"
    assert (col("b") == bytearray(b"x")).value == b"x"
    assert (col("a") == np.array(3)).value == 3


def test_columns_of_a_tree():
    predicate = ((col("a") == 1) | col("b").is_null()) & ~col("c").isin([1.0])
    assert predicate.columns == frozenset({"a", "b", "c"})
    assert predicate.bind(SCHEMA).columns == frozenset({"a", "b", "c"})


def test_repr_reads_as_code():
    predicate = (col("a") > 1) & ~col("b").isin(["x"]) | col("c").is_null()
    assert repr(predicate) == "((col('a') > 1) & (~(col('b').isin(['x'])))) | (col('c').is_null())"


def test_bound_repr_shows_storage_form():
    bound = ((col("a") < 2.5) | (col("a") > 10**30)).bind(SCHEMA)
    assert repr(bound) == "BoundPredicate((a <= 2) OR (FALSE unless a IS NULL))"


def test_docstring_examples_run():
    for module in (storagedb.predicate, storagedb.where):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0, module.__name__


# -- misuse in Python ---------------------------------------------------------------


def test_bool_of_predicate_raises():
    with pytest.raises(PredicateError, match="combine comparisons with &"):
        bool(col("a") == 1)


def test_python_and_or_not_raise():
    p, q = col("a") == 1, col("b") == "x"
    with pytest.raises(PredicateError, match="and, or, not"):
        _ = p and q
    with pytest.raises(PredicateError, match="and, or, not"):
        _ = p or q
    with pytest.raises(PredicateError, match="and, or, not"):
        _ = not p


def test_chained_comparison_raises():
    with pytest.raises(PredicateError, match="between"):
        _ = 1 < col("a") < 5


def test_if_on_column_raises():
    with pytest.raises(PredicateError, match="no truth value"):
        bool(col("a"))


def test_missing_parentheses_raise():
    with pytest.raises(PredicateError, match="parentheses"):
        _ = col("a") == 1 & col("b") == "x"


def test_and_with_non_predicate_raises():
    with pytest.raises(PredicateError, match="combines predicates"):
        (col("a") == 1) & True
    with pytest.raises(PredicateError, match="combines predicates"):
        True | (col("a") == 1)


def test_compare_with_none_raises():
    with pytest.raises(PredicateError, match=r"is_null\(\)"):
        _ = col("a") == None  # noqa: E711


def test_compare_two_columns_raises():
    with pytest.raises(PredicateError, match="comparing column 'a' with column 'b' is not supported"):
        _ = col("a") < col("b")


def test_compare_with_list_raises():
    with pytest.raises(PredicateError, match=r"use isin\(\)"):
        _ = col("a") == [1, 2]


def test_compare_with_object_raises():
    with pytest.raises(PredicateError, match="values of type object cannot be literals"):
        _ = col("a") == object()


def test_compare_with_complex_raises():
    with pytest.raises(PredicateError, match="type complex128 cannot be literals"):
        _ = col("a") == np.complex128(1j)


def test_zero_dimensional_array_literal():
    assert (col("b") == np.array("x")).value == "x"


def test_isin_with_string_raises():
    with pytest.raises(PredicateError, match="list of values"):
        col("b").isin("abc")


def test_isin_with_non_iterable_raises():
    with pytest.raises(PredicateError, match="not int"):
        col("a").isin(5)


@pytest.mark.parametrize("name", ["", 5, None])
def test_col_rejects_bad_names(name):
    with pytest.raises(PredicateError, match="non-empty string"):
        col(name)


def test_predicate_error_is_a_value_error():
    assert issubclass(PredicateError, InvalidInputError)
    assert issubclass(PredicateError, ValueError)


# -- binding and evaluation errors ----------------------------------------------------


def test_unknown_column_lists_table_columns():
    with pytest.raises(PredicateError, match="unknown column 'zz' .* columns a, b, c"):
        (col("zz") == 1).bind(SCHEMA)


def test_unknown_column_deep_in_tree():
    with pytest.raises(PredicateError, match="'zz'"):
        ((col("a") == 1) | ~col("zz").is_null()).bind(SCHEMA)


def test_evaluate_missing_column_raises():
    bound = (col("a") == 1).bind(SCHEMA)
    with pytest.raises(PredicateError, match="column 'a', which the predicate reads, is missing from the batch"):
        bound.evaluate({"b": ColumnData(np.array(["x"], dtype=object))}, 1)


def test_evaluate_wrong_length_raises():
    bound = (col("a") == 1).bind(SCHEMA)
    with pytest.raises(PredicateError, match="has 2 rows but the batch has 3"):
        bound.evaluate({"a": ColumnData(np.array([1, 2]))}, 3)


# -- column forms -------------------------------------------------------------------------


def test_dictionary_column_evaluated_on_codes():
    dictionary = np.empty(3, dtype=object)
    dictionary[:] = ["AIR", "MAIL", "SHIP"]
    codes = np.array([2, 0, 1, 0, 1], dtype=np.int32)
    nulls = np.array([False, False, False, True, False])
    column = DictionaryColumn(dictionary, codes, nulls)
    bound = (col("b") >= "B").bind(SCHEMA)
    assert bound.evaluate({"b": column}, 5).tolist() == [True, False, True, False, True]
    bound = col("b").isin(["AIR", "TRUCK"]).bind(SCHEMA)
    assert bound.evaluate({"b": column}, 5).tolist() == [False, True, False, False, False]


def test_dictionary_with_signed_zeros_and_nan():
    dictionary = np.array([-1.0, -0.0, 0.0, 2.0, np.nan])
    codes = np.array([0, 1, 2, 3, 4])
    column = DictionaryColumn(dictionary, codes)
    assert (col("c") == 0).bind(SCHEMA).evaluate({"c": column}, 5).tolist() == [False, True, True, False, False]
    assert (col("c") >= 0).bind(SCHEMA).evaluate({"c": column}, 5).tolist() == [False, True, True, True, False]
    assert (col("c") != 0).bind(SCHEMA).evaluate({"c": column}, 5).tolist() == [True, False, False, True, True]
    isin = col("c").isin([0.0, 2.0]).bind(SCHEMA)
    assert isin.evaluate({"c": column}, 5).tolist() == [False, True, True, True, False]


def test_empty_dictionary_of_all_null_column():
    column = DictionaryColumn(np.array([], dtype=np.int64), np.zeros(2, dtype=np.int32), np.array([True, True]))
    assert (col("a") != 1).bind(SCHEMA).evaluate({"a": column}, 2).tolist() == [False, False]
    assert col("a").is_null().bind(SCHEMA).evaluate({"a": column}, 2).tolist() == [True, True]


def test_run_column_with_nulls():
    column = RunColumn(np.array([5, 7]), np.array([2, 1]), np.array([False, True, False, False]))
    bound = (col("a") == 5).bind(SCHEMA)
    assert bound.evaluate({"a": column}, 4).tolist() == [True, False, True, False]
    assert (~col("a").is_null()).bind(SCHEMA).evaluate({"a": column}, 4).tolist() == [True, False, True, True]


def test_batch_dtypes_of_dates_and_bools():
    schema = Schema.build([("d", "date"), ("t", "timestamp"), ("f", "bool")])
    batch = {
        "d": ColumnData(np.array(["1994-01-01", "1995-01-01"], dtype="datetime64[D]")),
        "t": ColumnData(np.array(["1994-01-01T00:00", "1995-01-01T00:00"], dtype="datetime64[us]")),
        "f": ColumnData(np.array([True, False])),
    }
    predicate = (col("d") < dt.date(1994, 6, 1)) & (col("t") < "1994-06-01") & (col("f") == True)
    assert predicate.bind(schema).evaluate(batch, 2).tolist() == [True, False]


def test_evaluate_leaves_input_untouched():
    values = np.array([1, 2, 3])
    nulls = np.array([False, True, False])
    bound = (~((col("a") > 1) & col("a").isin([1, 3, None]))).bind(SCHEMA)
    bound.evaluate({"a": ColumnData(values, nulls)}, 3)
    assert values.tolist() == [1, 2, 3]
    assert nulls.tolist() == [False, True, False]


def test_decimal_literal_on_float_column_with_numpy_types():
    bound = (col("c") == Decimal("0.1")).bind(SCHEMA)
    assert bound.evaluate({"c": ColumnData(np.array([0.1, 0.3]))}, 2).tolist() == [True, False]
