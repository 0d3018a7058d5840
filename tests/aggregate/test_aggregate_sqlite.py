"""Property test of storagedb.aggregate against SQLite on the same rows.

Hypothesis draws a table with NULLs, a subset of group columns, a list of
aggregates, a split into batches and a column form (plain, dictionary or
runs) per column and batch. The accumulator's result must equal what an
in-memory SQLite database returns for the same GROUP BY query. Decimals go
into SQLite as integers of the scaled value, so its sums stay exact; dates as
integer days; bools as 0 and 1.
"""

from __future__ import annotations

import decimal
import sqlite3
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storagedb.aggregate import AggregateSpec
from storagedb.batch import ColumnData, DictionaryColumn, RunColumn
from storagedb.schema import Schema
from storagedb.types import ColumnType

#: Column name -> (type, strategy of storage-form values, SQLite column type).
#: Floats are multiples of 0.25 below 2**12, so every float sum is exact and
#: the order of addition cannot change it.
COLUMNS: dict[str, tuple[str, st.SearchStrategy, str]] = {
    "k_int": ("int32", st.integers(-2, 2), "INTEGER"),
    "k_text": ("text", st.sampled_from(["a", "b", "B", "é", "\U0001f600"]), "TEXT"),
    "k_word": ("text", st.sampled_from(["", "a", "ab", "b", "ba", "zz", "日本"]), "TEXT"),
    "k_bool": ("bool", st.integers(0, 1), "INTEGER"),
    "k_date": ("date", st.integers(10_000, 10_003), "INTEGER"),
    "v_int": ("int64", st.integers(-(10**12), 10**12), "INTEGER"),
    "v_small": ("int16", st.integers(-(2**15), 2**15 - 1), "INTEGER"),
    "v_dec": ("decimal(18,2)", st.integers(-(10**15), 10**15), "INTEGER"),
    "v_float": ("float64", st.integers(-16_000, 16_000).map(lambda i: i / 4), "REAL"),
    "v_text": ("text", st.text(alphabet="abcxyzé\U0001f600", max_size=4), "TEXT"),
    "v_date": ("date", st.integers(-1000, 30_000), "INTEGER"),
    "v_bool": ("bool", st.integers(0, 1), "INTEGER"),
}
GROUP_CANDIDATES = ["k_int", "k_text", "k_word", "k_bool", "k_date", "v_dec"]
SCHEMA = Schema.build([(name, spec[0]) for name, spec in COLUMNS.items()])
NUMERIC = {"v_int", "v_small", "v_dec", "v_float", "k_int"}


def column_type(name: str) -> ColumnType:
    return SCHEMA.column(name).type


@st.composite
def tables(draw: Any) -> dict[str, list[Any]]:
    """Draw a table as column name -> list of storage values, None for NULL."""
    rows = draw(st.integers(0, 40))
    table = {}
    for name, (_, values, _) in COLUMNS.items():
        nulls = draw(st.sampled_from(["none", "some", "all"]))
        if nulls == "none":
            cell = values
        elif nulls == "some":
            cell = st.one_of(st.none(), values)
        else:
            cell = st.none()
        table[name] = draw(st.lists(cell, min_size=rows, max_size=rows))
    return table


@st.composite
def aggregate_lists(draw: Any) -> dict[str, tuple[str, str]]:
    """Draw 1 to 6 valid aggregates over random columns."""
    chosen = {}
    for index in range(draw(st.integers(1, 6))):
        column = draw(st.sampled_from(["*"] + list(COLUMNS)))
        if column == "*":
            function = "count"
        elif column in NUMERIC:
            function = draw(st.sampled_from(["count", "sum", "min", "max", "avg"]))
        else:
            function = draw(st.sampled_from(["count", "min", "max"]))
        chosen[f"a{index}"] = (function, column)
    return chosen


def storage_array(name: str, values: list[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Return values with NULL placeholders, and the NULL mask (None without NULLs)."""
    ctype = column_type(name)
    placeholder = "" if ctype.base == "text" else 0
    filled = [placeholder if value is None else value for value in values]
    if ctype.storage_dtype == object:
        array = np.empty(len(filled), dtype=object)
        array[:] = filled
    else:
        array = np.array(filled, dtype=ctype.storage_dtype)
    nulls = np.array([value is None for value in values], dtype=bool)
    return array, (nulls if nulls.any() else None)


def encode(name: str, values: list[Any], form: str) -> Any:
    """Build one batch column in the requested form."""
    array, nulls = storage_array(name, values)
    if form == "plain":
        return ColumnData(array, nulls)
    present = array if nulls is None else array[~nulls]
    if form == "dictionary":
        dictionary = np.array(sorted(set(present.tolist())), dtype=array.dtype)
        codes = np.zeros(len(array), dtype=np.uint16)
        if len(dictionary):
            positions = [dictionary.tolist().index(value) for value in present.tolist()]
            if nulls is None:
                codes[:] = positions
            else:
                codes[~nulls] = positions
        return DictionaryColumn(dictionary, codes, nulls)
    run_values: list[Any] = []
    run_lengths: list[int] = []
    for value in present.tolist():
        if run_values and run_values[-1] == value:
            run_lengths[-1] += 1
        else:
            run_values.append(value)
            run_lengths.append(1)
    return RunColumn(np.array(run_values, dtype=array.dtype), np.array(run_lengths, dtype=np.int64), nulls)


def sqlite_rows(table: dict[str, list[Any]], group_by: list[str], aggregates: dict[str, tuple[str, str]]) -> list:
    """Run the query in SQLite; avg comes back as exact (sum, count) pairs."""
    connection = sqlite3.connect(":memory:")
    names = list(COLUMNS)
    connection.execute(f"CREATE TABLE t ({', '.join(f'{n} {COLUMNS[n][2]}' for n in names)})")
    rows = list(zip(*(table[n] for n in names)))
    connection.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(names))})", rows)
    selected = list(group_by)
    for function, column in aggregates.values():
        if function == "avg":
            selected += [f"sum({column})", f"count({column})"]
        else:
            selected.append(f"{function}({column})")
    query = f"SELECT {', '.join(selected)} FROM t"
    if group_by:
        query += f" GROUP BY {', '.join(group_by)}"
    return connection.execute(query).fetchall()


def expected_value(function: str, column: str, raw: list[Any]) -> Any:
    """Convert SQLite's output of one aggregate to storagedb's Python form."""
    if column == "*" or function == "count":
        return raw[0]
    ctype = column_type(column)
    if function == "avg":
        total, count = raw
        if count == 0:
            return None
        if ctype.base == "decimal":
            exact = decimal.Context(prec=80).divide(decimal.Decimal(total), count)
            step = decimal.Decimal(1).scaleb(-(ctype.scale + 6))
            return exact.scaleb(-ctype.scale).quantize(step, rounding=decimal.ROUND_HALF_EVEN)
        return total / count
    return None if raw[0] is None else ctype.from_storage(raw[0])


def expected_rows(table, group_by, aggregates) -> dict[tuple, tuple]:
    result = {}
    for row in sqlite_rows(table, group_by, aggregates):
        key = tuple(column_type(c).from_storage(v) for c, v in zip(group_by, row))
        position = len(group_by)
        values = []
        for function, column in aggregates.values():
            width = 2 if function == "avg" else 1
            values.append(expected_value(function, column, list(row[position : position + width])))
            position += width
        result[key] = tuple(values)
    return result


def null_last(key: tuple) -> tuple:
    return tuple((value is None, value) for value in key)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(),
    group_by=st.lists(st.sampled_from(GROUP_CANDIDATES), unique=True, max_size=3),
    aggregates=aggregate_lists(),
    data=st.data(),
)
def test_aggregate_matches_sqlite(table, group_by, aggregates, data):
    rows = len(table["v_int"])
    cuts = sorted(data.draw(st.lists(st.integers(0, rows), max_size=4)))
    bounds = list(zip([0] + cuts, cuts + [rows]))
    spec = AggregateSpec.build(SCHEMA, group_by, aggregates)
    accumulator = spec.accumulator()
    for start, stop in bounds:
        batch = {}
        for name in spec.input_columns:
            form = data.draw(st.sampled_from(["plain", "dictionary", "runs"]))
            batch[name] = encode(name, table[name][start:stop], form)
        accumulator.add(batch, stop - start)
    result = accumulator.result()

    expected = expected_rows(table, group_by, aggregates)
    assert result.names == group_by + list(aggregates)
    actual = {row[: len(group_by)]: row[len(group_by) :] for row in result.rows}
    assert actual == expected
    keys = [row[: len(group_by)] for row in result.rows]
    assert keys == sorted(keys, key=null_last)


@settings(max_examples=100, deadline=None)
@given(table=tables(), data=st.data())
def test_aggregate_batch_split_keeps_result(table, data):
    """Every split into batches gives the result of one batch, floats included."""
    rows = len(table["v_int"])
    spec = AggregateSpec.build(
        SCHEMA,
        ["k_word", "k_bool"],
        {
            "n": ("count", "*"),
            "s": ("sum", "v_int"),
            "f": ("sum", "v_float"),
            "a": ("avg", "v_dec"),
            "lo": ("min", "v_text"),
            "hi": ("max", "v_date"),
        },
    )

    def run(bounds):
        accumulator = spec.accumulator()
        for start, stop in bounds:
            accumulator.add({n: encode(n, table[n][start:stop], "plain") for n in spec.input_columns}, stop - start)
        return accumulator.result().rows

    cuts = sorted(data.draw(st.lists(st.integers(0, rows), max_size=6)))
    assert run(list(zip([0] + cuts, cuts + [rows]))) == run([(0, rows)])
