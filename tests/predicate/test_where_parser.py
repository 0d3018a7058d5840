"""parse_where: WHERE-clause text to predicates, and its error messages."""

from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storagedb.batch import ColumnData
from storagedb.errors import PredicateError
from storagedb.predicate import And, Comparison, InList, IsNull, Not, Or, Predicate, col
from storagedb.schema import Schema
from storagedb.where import parse_where

SCHEMA = Schema.build(
    [
        ("qty", "int32"),
        ("price", "decimal(12,2)"),
        ("ship", "date"),
        ("mode", "text"),
        ("rate", "float64"),
        ("ok", "bool"),
        ("order date", "date"),
        ("and", "int8"),
    ]
)
DAY = dt.date(1994, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()


def _object_array(items: list) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


# Six rows; row 4 is NULL in every nullable column.
BATCH = {
    "qty": ColumnData(np.array([1, 24, 30, 5, 0, 24], dtype=np.int32), np.array([0, 0, 0, 0, 1, 0], dtype=bool)),
    "price": ColumnData(np.array([5, 6, 100, 4, 0, 5], dtype=np.int64), np.array([0, 0, 0, 0, 1, 0], dtype=bool)),
    "ship": ColumnData(np.array([DAY - 1, DAY, DAY + 1, DAY, 0, DAY + 400], dtype=np.int32), np.array([0, 0, 0, 0, 1, 0], dtype=bool)),
    "mode": ColumnData(_object_array(["AIR", "MAIL", "O'Brien", "air", "", "SHIP"]), np.array([0, 0, 0, 0, 1, 0], dtype=bool)),
    "rate": ColumnData(np.array([0.1, np.nan, -0.0, 2.5, 0.0, 1e10])),
    "ok": ColumnData(np.array([1, 0, 1, 0, 0, 1], dtype=np.uint8)),
    "order date": ColumnData(np.array([DAY, DAY, DAY, DAY, DAY, DAY + 1], dtype=np.int32)),
    "and": ColumnData(np.array([1, 2, 3, 4, 5, 6], dtype=np.int8)),
}


def rows_selected(text: str) -> list[int]:
    mask = parse_where(text).bind(SCHEMA).evaluate(BATCH, 6)
    return np.flatnonzero(mask).tolist()


CLAUSES = [
    ("qty < 24", [0, 3]),
    ("qty <= 24", [0, 1, 3, 5]),
    ("qty = 24", [1, 5]),
    ("qty == 24", [1, 5]),
    ("qty != 24", [0, 2, 3]),
    ("qty <> 24", [0, 2, 3]),
    ("24 > qty", [0, 3]),
    ("24 <= qty", [1, 2, 5]),
    ("qty > 2.5", [1, 2, 3, 5]),
    ("qty > +2.5e0", [1, 2, 3, 5]),
    ("qty >= -1", [0, 1, 2, 3, 5]),
    ("price < 0.055", [0, 3, 5]),
    ("price = 0.055", []),
    ("price >= .05 and price <= 0.06", [0, 1, 5]),
    ("price BETWEEN 0.05 AND 0.06", [0, 1, 5]),
    ("price NOT BETWEEN 0.05 AND 0.06", [2, 3]),
    ("ship >= '1994-01-01'", [1, 2, 3, 5]),
    ("ship < '1994-01-01T12:00:00'", [0, 1, 3]),
    ("mode = 'O''Brien'", [2]),
    ("mode IN ('AIR', 'SHIP')", [0, 5]),
    ("mode not in ('AIR', 'SHIP')", [1, 2, 3]),
    ("mode IN ('AIR')", [0]),
    ("mode > 'Z'", [3]),
    ("mode = ''", []),
    ("mode IS NULL", [4]),
    ("mode is not null", [0, 1, 2, 3, 5]),
    ("NOT mode IS NULL", [0, 1, 2, 3, 5]),
    ("NOT qty = 24", [0, 2, 3]),
    ("NOT NOT qty = 24", [1, 5]),
    ("rate != 0", [0, 1, 3, 5]),
    ("NOT (rate = 0)", [0, 1, 3, 5]),
    ("rate = 0", [2, 4]),
    ("rate > 1e9", [5]),
    ("rate = 0.1", [0]),
    ("ok = TRUE", [0, 2, 5]),
    ("ok = false", [1, 3, 4]),
    ("ok = 'yes'", [0, 2, 5]),
    ('"order date" > \'1994-01-01\'', [5]),
    ('"and" = 3', [2]),
    ("qty = 1 OR qty = 30 AND mode = 'MAIL'", [0]),
    ("(qty = 1 OR qty = 30) AND mode = 'O''Brien'", [2]),
    ("qty = 1 or (qty = 30 and mode = 'O''Brien')", [0, 2]),
    ("NOT (qty < 24 OR mode IS NULL)", [1, 2, 5]),
    ("qty IN (1, 30) AnD NoT mode = 'AIR'", [2]),
    ("  qty\t<\n24  ", [0, 3]),
]


@pytest.mark.parametrize("text,expected", CLAUSES)
def test_clause_selects_expected_rows(text, expected):
    assert rows_selected(text) == expected


def test_numbers_stay_exact():
    assert parse_where("x = 0.05") == Comparison("x", "==", Decimal("0.05"))
    assert parse_where("x = -12") == Comparison("x", "==", -12)
    assert type(parse_where("x = 12").value) is int
    assert parse_where("x = 1e-3") == Comparison("x", "==", Decimal("0.001"))


def test_strings_stay_strings():
    assert parse_where("x = '1994-01-01'") == Comparison("x", "==", "1994-01-01")
    assert parse_where("x = ''''") == Comparison("x", "==", "'")


def test_tree_shape_and_precedence():
    expected = (col("a") == 1) | ((col("b") == 2) & ~(col("c") == 3))
    assert parse_where("a = 1 OR b = 2 AND NOT c = 3") == expected


def test_in_list_may_hold_booleans_and_signs():
    assert parse_where("x IN (TRUE, -1, 'a')") == InList("x", (True, -1, "a"))


def test_unicode_identifiers():
    assert parse_where("größe >= 3") == Comparison("größe", ">=", 3)


def test_quoted_identifier_with_quote():
    assert parse_where('"say ""hi""" IS NULL') == IsNull('say "hi"')


def test_source_label_in_errors():
    with pytest.raises(PredicateError, match=r"^--filter: "):
        parse_where("x <", source="--filter")


def test_bind_errors_pass_through():
    with pytest.raises(PredicateError, match="unknown column 'nope'"):
        parse_where("nope = 1").bind(SCHEMA)
    with pytest.raises(PredicateError, match="cannot compare column 'qty' of type int32 with 'abc'"):
        parse_where("qty = 'abc'").bind(SCHEMA)


# -- one test per error message ----------------------------------------------------


def parse_error(text: str) -> str:
    with pytest.raises(PredicateError) as caught:
        parse_where(text)
    return str(caught.value)


def test_error_shows_caret_under_position():
    message = parse_error("l_quantity < AND l_tax > 0")
    assert message == (
        "--where: expected a literal after '<' at column 14:\n"
        "    l_quantity < AND l_tax > 0\n"
        "                 ^"
    )


def test_error_excerpt_of_long_text_is_cut():
    message = parse_error("a" * 100 + " = 1 AND")
    first, excerpt, caret = message.splitlines()
    assert first == "--where: expected a condition after 'AND' at the end of the condition:"
    assert excerpt.startswith("    ...")
    assert len(excerpt) < 100
    assert caret.index("^") == len(excerpt)


def test_error_empty_text():
    assert parse_error("   ") == '--where: the condition is empty; write one such as "x > 0"'


def test_error_not_a_string():
    with pytest.raises(PredicateError, match="expected the condition as a string, not bytes"):
        parse_where(b"x = 1")  # type: ignore[arg-type]


def test_error_missing_literal_at_end():
    assert parse_error("x = ").startswith("--where: expected a literal after '=' at the end of the condition:")


def test_error_column_compared_with_column():
    message = parse_error("x = y")
    assert message.startswith("--where: expected a literal after '=' at column 5; comparing two columns is not supported:")


def test_error_double_quoted_string():
    assert "strings take single quotes" in parse_error('x = "abc"')


def test_error_null_as_literal():
    assert "NULL is not a value to compare with at column 5; write 'column IS NULL'" in parse_error("x = NULL")


def test_error_unterminated_string():
    assert parse_error("x = 'abc").startswith("--where: unterminated string at column 5; add the closing ':")


def test_error_unterminated_quoted_column():
    assert parse_error('"abc = 1').startswith('--where: unterminated quoted column name at column 1')


def test_error_empty_quoted_column():
    assert parse_error('"" = 1').startswith('--where: empty quoted column name "" at column 1')


def test_error_unexpected_character():
    assert parse_error("x @ 3").startswith("--where: unexpected character '@' at column 3:")


def test_error_bang_without_equals():
    assert parse_error("x ! 3").startswith("--where: unexpected character '!' at column 3; write != or NOT:")


def test_error_invalid_number():
    assert parse_error("x = 1.2.3").startswith("--where: invalid number '1.2.3' at column 5:")
    assert parse_error("x = 12abc").startswith("--where: invalid number '12abc' at column 5:")


def test_error_missing_operator_after_column():
    message = parse_error("x 3")
    assert message.startswith("--where: expected a comparison operator, IS, IN or BETWEEN after column 'x', found '3'")


def test_error_missing_operator_after_literal():
    assert parse_error("5 x").startswith("--where: expected a comparison operator after '5', found 'x' at column 3:")


def test_error_two_literals():
    message = parse_error("5 < 6")
    assert message.startswith("--where: expected a column name at column 5; one side of a comparison must be a column:")


def test_error_keyword_after_literal_operator():
    assert parse_error("5 < AND").startswith("--where: expected a column name after '<', found 'AND' at column 5:")


def test_error_unclosed_parenthesis():
    message = parse_error("(x = 1")
    assert message.startswith("--where: expected ')' at the end of the condition; the '(' at column 1 is not closed:")


def test_error_unopened_parenthesis():
    message = parse_error("x = 1)")
    assert message.startswith("--where: unexpected ')' after a complete condition at column 6; it has no matching '(':")


def test_error_trailing_tokens():
    message = parse_error("x = 1 y = 2")
    assert message.startswith("--where: unexpected 'y' after a complete condition at column 7; join conditions with AND or OR:")


def test_error_condition_expected():
    assert parse_error("AND x = 1").startswith("--where: expected a condition, found 'AND' at column 1:")
    assert parse_error("x = 1 OR").startswith("--where: expected a condition after 'OR' at the end of the condition:")
    assert parse_error("NOT").startswith("--where: expected a condition after 'NOT' at the end of the condition:")
    assert parse_error("()").startswith("--where: expected a condition after '(', found ')' at column 2:")


def test_error_is_without_null():
    assert parse_error("x IS 3").startswith("--where: expected NULL or NOT NULL after IS, found '3' at column 6:")
    assert parse_error("x IS NOT 3").startswith("--where: expected NULL after IS NOT, found '3' at column 10:")


def test_error_not_without_in_or_between():
    assert parse_error("x NOT LIKE 3").startswith("--where: expected IN or BETWEEN after 'x NOT', found 'LIKE' at column 7:")


def test_error_in_without_list():
    assert parse_error("x IN 3").startswith("--where: expected '(' after IN, found '3' at column 6:")


def test_error_in_list_not_closed():
    assert parse_error("x IN (1, 2").startswith("--where: expected ',' or ')' in the IN list at the end of the condition:")


def test_error_empty_in_list():
    assert parse_error("x IN ()").startswith("--where: expected a literal after '(' at column 7:")


def test_error_between_without_and():
    assert parse_error("x BETWEEN 1 OR 2").startswith(
        "--where: expected AND between the bounds of BETWEEN, found 'OR' at column 13:"
    )


def test_error_nesting_too_deep():
    assert parse_error("(" * 101 + "x = 1" + ")" * 101).startswith(
        "--where: the condition nests NOT and parentheses more than 100 deep at column 101:"
    )
    assert "more than 100 deep" in parse_error("NOT " * 150 + "x = 1")


def test_deep_nesting_within_limit():
    assert rows_selected("(" * 100 + "qty = 1" + ")" * 100) == [0]
    assert rows_selected("NOT " * 100 + "qty = 1") == [0]


def test_error_tab_keeps_caret_aligned():
    message = parse_error("x\t=\t")
    excerpt, caret = message.splitlines()[1:]
    assert excerpt == "    x = "
    assert caret == "        ^"


# -- round trip: predicates written as text parse back to the same behaviour ----

SQL_OPERATORS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
PYTHON_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
LITERALS = {
    "qty": st.one_of(st.integers(-5, 40), st.decimals(-5, 40, places=1, allow_nan=False, allow_infinity=False)),
    "price": st.decimals(-1, 2, places=3, allow_nan=False, allow_infinity=False),
    "mode": st.sampled_from(["AIR", "MAIL", "O'Brien", "air", "", "SHIP", "Z"]),
    "ok": st.booleans(),
}


def to_sql(predicate: Predicate) -> str:
    """Write a predicate as WHERE text (the inverse of parse_where)."""
    if isinstance(predicate, Comparison):
        return f"{predicate.column} {SQL_OPERATORS[predicate.op]} {sql_literal(predicate.value)}"
    if isinstance(predicate, InList):
        return f"{predicate.column} IN ({', '.join(sql_literal(value) for value in predicate.values)})"
    if isinstance(predicate, IsNull):
        return f"{predicate.column} IS {'NOT ' if predicate.negated else ''}NULL"
    if isinstance(predicate, Not):
        return f"NOT ({to_sql(predicate.child)})"
    joiner = " AND " if isinstance(predicate, And) else " OR "
    assert isinstance(predicate, (And, Or))
    return joiner.join(f"({to_sql(child)})" for child in predicate.children)


def sql_literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


@st.composite
def leaves(draw):
    name = draw(st.sampled_from(sorted(LITERALS)))
    kind = draw(st.sampled_from(["compare", "isin", "null"]))
    if kind == "compare":
        return PYTHON_OPERATORS[draw(st.sampled_from(list(PYTHON_OPERATORS)))](col(name), draw(LITERALS[name]))
    if kind == "isin":
        return col(name).isin(draw(st.lists(LITERALS[name], min_size=1, max_size=3)))
    return col(name).is_null()


PREDICATES = st.recursive(
    leaves(),
    lambda children: st.one_of(
        st.builds(operator.and_, children, children),
        st.builds(operator.or_, children, children),
        st.builds(operator.invert, children),
    ),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None)
@given(predicate=PREDICATES)
def test_text_round_trip_keeps_behaviour(predicate):
    text = to_sql(predicate)
    parsed = parse_where(text)
    assert parsed == predicate
    expected = predicate.bind(SCHEMA).evaluate(BATCH, 6).tolist()
    assert parsed.bind(SCHEMA).evaluate(BATCH, 6).tolist() == expected
