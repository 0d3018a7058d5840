"""Randomised checks of predicate evaluation and zone-map pruning.

A reference evaluator implements SQL three-valued logic on Python values
(``None`` is NULL) with Python's own exact comparisons, and reads each
literal by the rules the predicate module documents. Hypothesis builds random
tables holding a column of every type and random predicate trees over them.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storagedb.batch import ColumnData, DictionaryColumn, RunColumn
from storagedb.predicate import (
    And,
    Comparison,
    InList,
    IsNull,
    Not,
    Or,
    Predicate,
    col,
    zone_stats,
)
from storagedb.schema import Schema

UTC = dt.UTC
NAN = math.nan
INF = math.inf

SCHEMA = Schema.build(
    [
        ("i8", "int8"),
        ("i16", "int16"),
        ("i32", "int32"),
        ("i64", "int64"),
        ("f32", "float32"),
        ("f64", "float64"),
        ("dec", "decimal(9,2)"),
        ("day", "date"),
        ("ts", "timestamp"),
        ("txt", "text"),
        ("blb", "blob"),
        ("flag", "bool"),
    ]
)
NAMES = SCHEMA.names
OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- values and literals of each column type -----------------------------------


def _int_values(bits: int) -> st.SearchStrategy:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return st.one_of(st.sampled_from([-2, -1, 0, 1, 2, 3, low, high]), st.integers(low, high))


def _int_literals(bits: int) -> st.SearchStrategy:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    odd = [low - 1, high + 1, 10**30, -(10**30), 2.5, -0.5, 1.0, NAN, INF, -INF, 1e300, 2.0**63]
    odd += [Decimal("2.5"), Decimal("1"), Decimal("-1.0"), Decimal("NaN"), Decimal("Infinity")]
    odd += [Fraction(5, 2), Fraction(3), "2", " -1 ", "2.5", "1e2", np.int64(3), np.int8(-1), np.float32(2.5)]
    return st.one_of(_int_values(bits), st.sampled_from(odd), st.floats(-1000, 1000))


_FLOAT_POOL = [0.0, -0.0, 1.0, -1.0, 0.1, 2.5, NAN, INF, -INF]
# The floats on each side of literals that no float32 or float64 equals
# (0.1 and 1/3 in float32, 2**24 + 1, 2**53 + 1, 10**400), where an
# off-by-one rewrite of < or > would show.
_NEIGHBOURS_32 = [float(np.float32(0.1)), float(np.nextafter(np.float32(0.1), np.float32(0)))]
_NEIGHBOURS_32 += [float(np.float32(1 / 3)), float(np.nextafter(np.float32(1 / 3), np.float32(1)))]
_NEIGHBOURS_32 += [2.0**24, 2.0**24 + 2, float(np.finfo(np.float32).max)]
_NEIGHBOURS_64 = [1 / 3, float(np.nextafter(1 / 3, 0)), 2.0**53, 2.0**53 + 2, float(np.finfo(np.float64).max)]


def _float_values(width: int) -> st.SearchStrategy:
    neighbours = _NEIGHBOURS_32 if width == 32 else _NEIGHBOURS_32 + _NEIGHBOURS_64
    return st.one_of(st.sampled_from(_FLOAT_POOL), st.sampled_from(neighbours), st.floats(width=width))


def _float_literals(width: int) -> st.SearchStrategy:
    odd = [np.float32(0.1), Decimal("0.1"), "0.1", "-0.0", 2**24 + 1, 2**53 + 1, 10**400, -(10**400)]
    odd += [Fraction(1, 3), Decimal("NaN"), Decimal("-Infinity"), np.float16(0.5), np.float64(2.5), 3]
    return st.one_of(_float_values(width), st.sampled_from(odd), st.floats())


_DECIMAL_POOL = [Decimal("0.05"), Decimal("0.06"), Decimal("0"), Decimal("-0.05"), Decimal("2.50")]
_DECIMAL_VALUES = st.one_of(
    st.sampled_from(_DECIMAL_POOL),
    st.decimals(min_value="-9999999.99", max_value="9999999.99", places=2, allow_nan=False, allow_infinity=False),
)
_DECIMAL_LITERALS = st.one_of(
    _DECIMAL_VALUES,
    st.sampled_from(
        [Decimal("0.055"), 0.05, 0.055, 2.5, 3, "0.05", " 1.5 ", Fraction(1, 3), 10**30, NAN, INF]
        + [Decimal("-Infinity"), np.float32(0.05), np.float64(0.06), np.int16(-3)]
    ),
    st.decimals(min_value=-100, max_value=100, places=3, allow_nan=False, allow_infinity=False),
)

_DAY_POOL = [dt.date(1994, 1, 1), dt.date(1994, 1, 2), dt.date(1970, 1, 1), dt.date(1969, 12, 31)]
_DAY_VALUES = st.one_of(st.sampled_from(_DAY_POOL), st.dates())
_DAY_LITERALS = st.one_of(
    _DAY_VALUES,
    st.sampled_from(
        ["1994-01-01", " 1969-12-31 ", "1994-01-01T12:00:00", "1994-01-02 00:00:00Z", dt.datetime(1994, 1, 1)]
        + [dt.datetime(1994, 1, 1, 12), dt.datetime(1994, 1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=5)))]
        + [np.datetime64("1994-01-01"), np.datetime64("1994-01-01T12:00:00")]
    ),
)

_TS_POOL = [dt.datetime(1994, 1, 1), dt.datetime(1994, 1, 1, 0, 0, 0, 1), dt.datetime(1970, 1, 1), dt.datetime(1969, 12, 31, 23)]
_TS_VALUES = st.one_of(st.sampled_from(_TS_POOL), st.datetimes())
_TS_LITERALS = st.one_of(
    _TS_VALUES,
    st.sampled_from(
        ["1994-01-01", "1994-01-01T00:00:00.000001Z", "1970-01-01T05:00:00+05:00", dt.date(1994, 1, 1)]
        + [dt.datetime(1994, 1, 1, tzinfo=UTC), np.datetime64("1994-01-01T00:00:00")]
    ),
)

_TEXT_POOL = ["", "a", "ab", "b", "A", "é", "😀", "\x00"]
_TEXT_VALUES = st.one_of(
    st.sampled_from(_TEXT_POOL), st.text(st.characters(exclude_categories=("Cs",)), max_size=3)
)
_TEXT_LITERALS = st.one_of(_TEXT_VALUES, st.sampled_from(["é".encode(), b"ab", np.str_("b")]))

_BLOB_POOL = [b"", b"a", b"ab", b"\xff", b"\x00"]
_BLOB_VALUES = st.one_of(st.sampled_from(_BLOB_POOL), st.binary(max_size=3))
_BLOB_LITERALS = st.one_of(_BLOB_VALUES, st.sampled_from(["a", "é", bytearray(b"ab")]))

_BOOL_LITERALS = st.sampled_from([True, False, 0, 1, "true", "no", np.bool_(True)])

VALUES = {
    "i8": _int_values(8),
    "i16": _int_values(16),
    "i32": _int_values(32),
    "i64": _int_values(64),
    "f32": _float_values(32),
    "f64": _float_values(64),
    "dec": _DECIMAL_VALUES,
    "day": _DAY_VALUES,
    "ts": _TS_VALUES,
    "txt": _TEXT_VALUES,
    "blb": _BLOB_VALUES,
    "flag": st.booleans(),
}
LITERALS = {
    "i8": _int_literals(8),
    "i16": _int_literals(16),
    "i32": _int_literals(32),
    "i64": _int_literals(64),
    "f32": _float_literals(32),
    "f64": _float_literals(64),
    "dec": _DECIMAL_LITERALS,
    "day": _DAY_LITERALS,
    "ts": _TS_LITERALS,
    "txt": _TEXT_LITERALS,
    "blb": _BLOB_LITERALS,
    "flag": _BOOL_LITERALS,
}


NULLABLE_VALUES = {name: st.one_of(st.none(), values) for name, values in VALUES.items()}


@st.composite
def tables(draw, names=tuple(NAMES), max_rows: int = 24):
    """A dict of column name to a list of Python values, None for NULL."""
    row_count = draw(st.integers(0, max_rows))
    table = {}
    for name in names:
        cell = NULLABLE_VALUES[name] if draw(st.booleans()) else VALUES[name]
        table[name] = draw(st.lists(cell, min_size=row_count, max_size=row_count))
    return table


@st.composite
def leaves(draw, names: tuple[str, ...], literals: dict):
    name = draw(st.sampled_from(names))
    kind = draw(st.sampled_from(["compare", "compare", "compare", "isin", "null", "between"]))
    if kind == "compare":
        return OPERATORS[draw(st.sampled_from(list(OPERATORS)))](col(name), draw(literals[name]))
    if kind == "isin":
        return col(name).isin(draw(st.lists(st.one_of(st.none(), literals[name]), max_size=4)))
    if kind == "null":
        return col(name).is_not_null() if draw(st.booleans()) else col(name).is_null()
    return col(name).between(draw(literals[name]), draw(literals[name]))


# Few distinct floats, NaN and zeros among them, so that zones holding one
# value plus NaN, and dictionaries with NaN entries, come up often.
_FEW_FLOATS = st.sampled_from([NAN, 1.0, -0.0, 0.0, INF])
FEW_FLOAT_LITERALS = {"f32": _FEW_FLOATS, "f64": _FEW_FLOATS}
FEW_FLOAT_VALUES = st.lists(st.one_of(st.none(), _FEW_FLOATS), max_size=8)


@functools.cache
def predicates(names: tuple[str, ...] = tuple(NAMES), few_floats: bool = False) -> st.SearchStrategy:
    """Random predicate trees over ``names``; cached, since building a strategy is slow."""
    return st.recursive(
        leaves(names, FEW_FLOAT_LITERALS if few_floats else LITERALS),
        lambda children: st.one_of(
            st.builds(operator.and_, children, children),
            st.builds(operator.or_, children, children),
            st.builds(operator.invert, children),
        ),
        max_leaves=6,
    )


# -- the reference evaluator -----------------------------------------------------


def literal_meaning(base: str, literal):
    """Read a literal by the documented rules, as a Python value to compare with."""
    if isinstance(literal, bytearray):
        literal = bytes(literal)
    if base == "decimal" and isinstance(literal, (float, np.floating)):
        return float(literal) if not math.isfinite(literal) else Decimal(str(literal))
    if isinstance(literal, np.generic):
        literal = literal.item()
    if base in ("int8", "int16", "int32", "int64", "decimal", "float32", "float64"):
        if isinstance(literal, str):
            literal = Decimal(literal.strip())
        if isinstance(literal, Decimal):
            if literal.is_nan():
                return NAN
            if base in ("float32", "float64"):
                return float(literal)
        return literal
    if base == "date":
        if isinstance(literal, str):
            try:
                return dt.date.fromisoformat(literal.strip())
            except ValueError:
                return _utc(dt.datetime.fromisoformat(literal.strip().replace("Z", "+00:00")))
        return _utc(literal) if isinstance(literal, dt.datetime) else literal
    if base == "timestamp":
        if isinstance(literal, str):
            literal = dt.datetime.fromisoformat(literal.strip().replace("Z", "+00:00"))
        if not isinstance(literal, dt.datetime):
            return dt.datetime.combine(literal, dt.time(), tzinfo=UTC)
        return _utc(literal)
    if base == "text":
        return literal.decode() if isinstance(literal, bytes) else literal
    if base == "blob":
        return literal.encode() if isinstance(literal, str) else literal
    if isinstance(literal, str):
        return literal in ("true", "yes")
    return bool(literal)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def reference_compare(op: str, value, meaning):
    """SQL comparison of a Python value with a literal's meaning: None when unknown."""
    if value is None:
        return None
    if isinstance(meaning, float) and math.isnan(meaning):
        return op == "!="
    if isinstance(value, float) and math.isnan(value):
        return op == "!="
    if isinstance(meaning, dt.datetime) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=UTC)
    return OPERATORS[op](value, meaning)


def reference(predicate: Predicate, row: dict):
    """Evaluate a predicate on one row of Python values in three-valued logic."""
    if isinstance(predicate, Comparison):
        base = SCHEMA.column(predicate.column).type.base
        return reference_compare(predicate.op, row[predicate.column], literal_meaning(base, predicate.value))
    if isinstance(predicate, InList):
        value = row[predicate.column]
        if value is None:
            return None
        base = SCHEMA.column(predicate.column).type.base
        meanings = [None if item is None else literal_meaning(base, item) for item in predicate.values]
        if any(reference_compare("==", value, meaning) for meaning in meanings if meaning is not None):
            return True
        return None if None in meanings else False
    if isinstance(predicate, IsNull):
        return (row[predicate.column] is None) != predicate.negated
    if isinstance(predicate, Not):
        inner = reference(predicate.child, row)
        return None if inner is None else not inner
    answers = [reference(child, row) for child in predicate.children]
    if isinstance(predicate, And):
        if False in answers:
            return False
        return None if None in answers else True
    assert isinstance(predicate, Or)
    if True in answers:
        return True
    return None if None in answers else False


def reference_mask(predicate: Predicate, table: dict) -> list[bool]:
    """The rows a scan selects: those where the predicate is TRUE."""
    python_table = {name: [_python_form(name, value) for value in values] for name, values in table.items()}
    row_count = row_count_of(table)
    rows = [{name: python_table[name][i] for name in python_table} for i in range(row_count)]
    return [reference(predicate, row) is True for row in rows]


def _python_form(name: str, value):
    """The value as stored and read back (float32 rounding, UTC timestamps)."""
    ctype = SCHEMA.column(name).type
    return ctype.from_storage(ctype.to_storage(value, name))


# -- storage forms ---------------------------------------------------------------


def plain_column(name: str, values: list) -> ColumnData:
    ctype = SCHEMA.column(name).type
    placeholders = {"text": "", "blob": b""}
    placeholder = placeholders.get(ctype.base, 0)
    stored = [placeholder if value is None else ctype.to_storage(value, name) for value in values]
    array = np.empty(len(values), dtype=ctype.storage_dtype)
    array[:] = stored
    nulls = np.array([value is None for value in values], dtype=bool)
    return ColumnData(array, nulls if nulls.any() else None)


def _entry_key(value):
    """Identity of a dictionary entry: floats by bit pattern, as the encoder keeps them."""
    if isinstance(value, (float, np.floating)):
        return np.float64(value).tobytes()
    return value


def dictionary_column(data: ColumnData) -> DictionaryColumn:
    """Build the sorted dictionary and codes the way the dictionary encoding does."""
    nulls = data.nulls if data.nulls is not None else np.zeros(len(data.values), dtype=bool)
    present = data.values[~nulls]
    if data.values.dtype.kind == "f":
        distinct = {_entry_key(value): value for value in present.tolist()}
        entries = np.array(list(distinct.values()), dtype=data.values.dtype)
        is_nan = np.isnan(entries)
        # NaN last, then by value, with -0.0 before +0.0.
        order = np.lexsort((~np.signbit(entries), np.where(is_nan, 0, entries), is_nan))
        entries = entries[order]
    elif data.values.dtype == object:
        entries = np.empty(len(set(present.tolist())), dtype=object)
        entries[:] = sorted(set(present.tolist()))
    else:
        entries = np.unique(present)
    position = {_entry_key(entry): code for code, entry in enumerate(entries.tolist())}
    codes = np.array([0 if null else position[_entry_key(value)] for value, null in zip(data.values.tolist(), nulls)])
    return DictionaryColumn(entries, codes.astype(np.int32), data.nulls)


def run_column(data: ColumnData) -> RunColumn:
    """Split the non-NULL values into runs of equal values (floats by bit pattern)."""
    nulls = data.nulls if data.nulls is not None else np.zeros(len(data.values), dtype=bool)
    run_values, run_lengths = [], []
    for value in data.values[~nulls].tolist():
        if run_values and _entry_key(run_values[-1]) == _entry_key(value):
            run_lengths[-1] += 1
        else:
            run_values.append(value)
            run_lengths.append(1)
    values = np.empty(len(run_values), dtype=data.values.dtype)
    values[:] = run_values
    return RunColumn(values, np.array(run_lengths, dtype=np.int64), data.nulls)


def plain_batch(table: dict) -> dict:
    return {name: plain_column(name, values) for name, values in table.items()}


def row_count_of(table: dict) -> int:
    return len(next(iter(table.values())))


# -- properties --------------------------------------------------------------------


@st.composite
def cases(draw, names=tuple(NAMES), max_rows: int = 24):
    """A random predicate and a random table of the columns it reads."""
    predicate = draw(predicates(names))
    return predicate, draw(tables(tuple(sorted(predicate.columns)), max_rows))


@PROPERTY_SETTINGS
@given(case=cases())
def test_evaluate_matches_reference(case):
    predicate, table = case
    bound = predicate.bind(SCHEMA)
    mask = bound.evaluate(plain_batch(table), row_count_of(table))
    assert mask.dtype == np.bool_
    assert mask.tolist() == reference_mask(predicate, table)


@PROPERTY_SETTINGS
@given(case=cases())
def test_dictionary_and_runs_match_plain(case):
    predicate, table = case
    bound = predicate.bind(SCHEMA)
    batch = plain_batch(table)
    expected = bound.evaluate(batch, row_count_of(table)).tolist()
    dictionaries = {name: dictionary_column(data) for name, data in batch.items()}
    runs = {name: run_column(data) for name, data in batch.items()}
    assert bound.evaluate(dictionaries, row_count_of(table)).tolist() == expected
    assert bound.evaluate(runs, row_count_of(table)).tolist() == expected


@PROPERTY_SETTINGS
@given(case=cases(max_rows=12), data=st.data())
def test_may_match_is_sound(case, data):
    predicate, table = case
    bound = predicate.bind(SCHEMA)
    zones = {name: zone_stats(column.values, column.nulls) for name, column in plain_batch(table).items()}
    # A column left out of the zones may hold anything.
    zone_columns = data.draw(st.sets(st.sampled_from(NAMES)))
    zones = {name: stats for name, stats in zones.items() if name in zone_columns}
    if any(reference_mask(predicate, table)):
        assert bound.may_match(zones)


@PROPERTY_SETTINGS
@given(case=cases(max_rows=16), cut=st.integers(0, 16))
def test_may_match_is_sound_for_merged_zones(case, cut):
    predicate, table = case
    bound = predicate.bind(SCHEMA)
    cut = min(cut, row_count_of(table))
    zones = {}
    for name, column in plain_batch(table).items():
        nulls = column.nulls if column.nulls is not None else np.zeros(len(column.values), dtype=bool)
        head = zone_stats(column.values[:cut], nulls[:cut])
        zones[name] = head.merge(zone_stats(column.values[cut:], nulls[cut:]))
    if any(reference_mask(predicate, table)):
        assert bound.may_match(zones)


@PROPERTY_SETTINGS
@given(values=FEW_FLOAT_VALUES, predicate=predicates(("f32", "f64"), few_floats=True))
def test_nan_heavy_floats_in_every_form(values, predicate):
    table = {"f32": values, "f64": values}
    bound = predicate.bind(SCHEMA)
    batch = plain_batch(table)
    expected = reference_mask(predicate, table)
    assert bound.evaluate(batch, len(values)).tolist() == expected
    dictionaries = {name: dictionary_column(data) for name, data in batch.items()}
    assert bound.evaluate(dictionaries, len(values)).tolist() == expected
    runs = {name: run_column(data) for name, data in batch.items()}
    assert bound.evaluate(runs, len(values)).tolist() == expected
    zones = {name: zone_stats(column.values, column.nulls) for name, column in batch.items()}
    if any(expected):
        assert bound.may_match(zones)


# -- one column at a time, with adversarial values and literals ------------------

F32_MAX = float(np.finfo(np.float32).max)
F64_MAX = float(np.finfo(np.float64).max)

# Values at the edges of each type, and literals that fall on them, next to
# them or between two storable values.
EDGE_VALUES = {
    "i8": [-128, 127, -1, 0, 1, 2, 3],
    "i16": [-(2**15), 2**15 - 1, 0, 2],
    "i32": [-(2**31), 2**31 - 1, 0, 2],
    "i64": [-(2**63), 2**63 - 1, 0, 1, 2],
    "f32": _NEIGHBOURS_32 + [NAN, 0.0, -0.0, INF, -INF, -F32_MAX],
    "f64": _NEIGHBOURS_64 + [NAN, 0.0, -0.0, INF, -INF, -F64_MAX, 5e-324],
    "dec": [Decimal("0.05"), Decimal("0.06"), Decimal("0.00"), Decimal("-0.05"), Decimal("9999999.99")],
    "day": [dt.date(1994, 1, 1), dt.date(1994, 1, 2), dt.date(1993, 12, 31), dt.date.min, dt.date.max],
    "ts": [dt.datetime(1994, 1, 1), dt.datetime(1994, 1, 1, 0, 0, 0, 1), dt.datetime(1993, 12, 31, 23, 59, 59, 999999)]
    + [dt.datetime.min, dt.datetime.max],
    "txt": ["", "a", "a\x00", "b", "é", "😀", "\x7f", "\x80", "\uffff"],
    "blb": [b"", b"a", b"a\x00", b"\xff", b"\x00", b"\x7f\x80"],
    "flag": [True, False],
}
EDGE_LITERALS = {
    "i8": [-129, 128, -128.5, 127.5, 2.5, -0.5, Decimal("2.5"), Fraction(5, 2), NAN, INF, -INF, 10**30, "2.5"],
    "i16": [2**15, -(2**15) - 1, 1.5, Decimal("-32768.5"), NAN],
    "i32": [2**31, -(2**31) - 1, 2147483647.5, -2147483648.5, 1.9999999999999998],
    "i64": [2**63, -(2**63) - 1, 2.0**63, -(2.0**63), 9.2233720368547748e18, Decimal("9223372036854775806.5")],
    "f32": [0.1, Decimal("0.1"), Fraction(1, 3), 1 / 3, 2**24 + 1, 10**39, -(10**39), F32_MAX, NAN]
    + [0, -0.0, INF, -INF, np.float32(0.1), Fraction(1, 10**50)],
    "f64": [Fraction(1, 3), 1 / 3, 2**53 + 1, 10**400, -(10**400), F64_MAX, NAN, Fraction(1, 10**400), 0, -0.0]
    + [Fraction(5e-324) / 2, INF],
    "dec": [0.055, 0.05, Decimal("0.055"), Decimal("0.0500"), "0.05", 10**30, -(10**30), NAN, INF, 0.06]
    + [np.float32(0.05), Decimal("9999999.995"), Fraction(1, 20)],
    "day": ["1994-01-01", "1994-01-01T12:00", dt.datetime(1994, 1, 1, 0, 0, 0, 1), dt.date.min, dt.date.max]
    + [dt.datetime(1994, 1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=5))), np.datetime64("1994-01-01T12")],
    "ts": ["1994-01-01", dt.datetime(1994, 1, 1), dt.date(1994, 1, 1), "1994-01-01T00:00:00.000001Z"]
    + [dt.datetime(1994, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=5))), np.datetime64("1994-01-01", "s")],
    "txt": ["", "a", "a\x00", "A", "é".encode(), "\U0010ffff", "b"],
    "blb": [b"", b"a", b"a\x00", "a", b"\xff\xff"],
    "flag": [True, False, 0, 1, "yes", "f"],
}
_TREE_SHAPES = st.sampled_from(["leaf", "leaf", "and", "or", "not"])
_LEAF_KINDS = st.sampled_from(["compare", "compare", "compare", "isin", "null", "between"])
_OPERATOR_NAMES = st.sampled_from(list(OPERATORS))


def _edge_literal(draw, name: str, palette: list):
    """A literal from the table's own values half the time, so equality hits."""
    if draw(st.booleans()):
        return draw(st.sampled_from(palette))
    return draw(st.sampled_from(EDGE_LITERALS[name]))


def _edge_tree(draw, name: str, palette: list, depth: int = 0) -> Predicate:
    shape = "leaf" if depth >= 3 else draw(_TREE_SHAPES)
    if shape == "and":
        return _edge_tree(draw, name, palette, depth + 1) & _edge_tree(draw, name, palette, depth + 1)
    if shape == "or":
        return _edge_tree(draw, name, palette, depth + 1) | _edge_tree(draw, name, palette, depth + 1)
    if shape == "not":
        return ~_edge_tree(draw, name, palette, depth + 1)
    kind = draw(_LEAF_KINDS)
    if kind == "compare":
        return OPERATORS[draw(_OPERATOR_NAMES)](col(name), _edge_literal(draw, name, palette))
    if kind == "isin":
        size = draw(st.integers(0, 3))
        items = [_edge_literal(draw, name, palette) for _ in range(size)]
        return col(name).isin(items + ([None] if draw(st.booleans()) else []))
    if kind == "null":
        return col(name).is_not_null() if draw(st.booleans()) else col(name).is_null()
    return col(name).between(_edge_literal(draw, name, palette), _edge_literal(draw, name, palette))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_edge_values_in_every_form(name, data):
    # A palette of one to three values makes zones of one value (plus NaN or
    # NULL) common, where pruning decisions are closest to wrong.
    palette = data.draw(st.lists(st.sampled_from(EDGE_VALUES[name]), min_size=1, max_size=3))
    cells = st.one_of(st.none(), st.sampled_from(palette))
    values = data.draw(st.lists(cells, max_size=10))
    predicate = _edge_tree(data.draw, name, palette)
    table = {name: values}

    bound = predicate.bind(SCHEMA)
    batch = plain_batch(table)
    expected = reference_mask(predicate, table)
    assert bound.evaluate(batch, len(values)).tolist() == expected
    assert bound.evaluate({name: dictionary_column(batch[name])}, len(values)).tolist() == expected
    assert bound.evaluate({name: run_column(batch[name])}, len(values)).tolist() == expected
    if any(expected):
        assert bound.may_match({name: zone_stats(batch[name].values, batch[name].nulls)})
