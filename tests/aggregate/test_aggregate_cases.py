"""Tests of storagedb.aggregate: exact sums past int64, run and dictionary
columns, NULL groups, empty input, float NaN, validation and result types."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

import storagedb.aggregate as aggregate_module
from storagedb.aggregate import AggregateSpec
from storagedb.batch import ColumnData, DictionaryColumn, RunColumn, plain
from storagedb.errors import InvalidInputError, SchemaError
from storagedb.schema import Schema

SCHEMA = Schema.build(
    [
        ("g", "text"),
        ("h", "int32"),
        ("i", "int64"),
        ("d", "decimal(18,2)"),
        ("f", "float64"),
        ("t", "text"),
        ("day", "date"),
        ("flag", "bool"),
        ("ts", "timestamp"),
        ("b", "blob"),
    ]
)


def objects(*values):
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def aggregate(group_by, aggregates, *batches, schema=SCHEMA):
    """Run one query over batches given as (columns, length) pairs."""
    accumulator = AggregateSpec.build(schema, group_by, aggregates).accumulator()
    for columns, length in batches:
        accumulator.add(columns, length)
    return accumulator.result()


# -- exact sums ---------------------------------------------------------------


def test_sum_past_int64_is_exact():
    values = np.full(10, 2**62, dtype=np.int64)
    result = aggregate([], {"s": ("sum", "i"), "a": ("avg", "i")}, ({"i": values}, 10))
    assert result.rows == [(10 * 2**62, float(10 * 2**62) / 10)]


def test_sum_past_int64_with_groups_and_negatives():
    values = np.array([2**63 - 1, 2**63 - 1, -(2**63), -(2**63), -(2**63), 5], dtype=np.int64)
    groups = objects("x", "y", "x", "y", "y", "x")
    result = aggregate(["g"], {"s": ("sum", "i")}, ({"g": groups, "i": values}, 6))
    assert result.rows == [("x", 2**63 - 1 - 2**63 + 5), ("y", 2**63 - 1 - 2 * 2**63)]


def test_sum_limbs_carry_across_many_batches():
    accumulator = AggregateSpec.build(SCHEMA, ["h"], {"s": ("sum", "d")}).accumulator()
    values = np.array([10**18 - 1, -(10**18) + 1, 10**18 - 1], dtype=np.int64)
    keys = np.array([1, 2, 1], dtype=np.int32)
    for _ in range(1000):
        accumulator.add({"h": keys, "d": values}, 3)
    rows = accumulator.result().rows
    assert rows == [(1, Decimal(f"{2000 * (10**18 - 1)}e-2")), (2, Decimal(f"{-1000 * (10**18 - 1)}e-2"))]


def test_decimal_sum_keeps_scale():
    result = aggregate([], {"s": ("sum", "d")}, ({"d": np.array([0, 0], dtype=np.int64)}, 2))
    (total,) = result.rows[0]
    assert str(total) == "0.00"


def test_decimal_avg_has_scale_plus_six_digits():
    # 0.01 / 8 = 0.00125 needs no rounding; 0.01 / 3 rounds down and 0.02 / 3 up.
    cases = [
        ([1, 0, 0, 0, 0, 0, 0, 0], Decimal("0.00125000")),
        ([1, 0, 0], Decimal("0.00333333")),
        ([2, 0, 0], Decimal("0.00666667")),
        ([-2, 0, 0], Decimal("-0.00666667")),
    ]
    for values, expected in cases:
        result = aggregate([], {"a": ("avg", "d")}, ({"d": np.array(values, dtype=np.int64)}, len(values)))
        assert result.rows == [(expected,)]
        assert result.rows[0][0].as_tuple().exponent == -8


def test_decimal_avg_tie_goes_to_even_digit():
    # Over 128 rows, a total of k hundredths averages to k * 0.000078125,
    # which lies exactly half way between two values of 8 decimal places.
    cases = [(1, "0.00007812"), (3, "0.00023438"), (-1, "-0.00007812"), (-3, "-0.00023438")]
    for total, expected in cases:
        values = np.zeros(128, dtype=np.int64)
        values[0] = total
        result = aggregate([], {"a": ("avg", "d")}, ({"d": values}, 128))
        assert result.rows == [(Decimal(expected),)], total


def test_int_avg_is_correctly_rounded_float():
    values = np.array([2**62, 2**62, 1], dtype=np.int64)
    result = aggregate([], {"a": ("avg", "i")}, ({"i": values}, 3))
    assert result.rows == [((2**63 + 1) / 3,)]


# -- run-length columns -------------------------------------------------------


def test_runs_of_a_billion_rows_aggregate_without_expanding():
    # Expanding these runs would need 24 GB of int64, so only the run path passes.
    runs = RunColumn(np.array([10**15, -3, 7], dtype=np.int64), np.full(3, 10**9, dtype=np.int64))
    result = aggregate(
        [],
        {
            "n": ("count", "*"),
            "c": ("count", "i"),
            "s": ("sum", "i"),
            "lo": ("min", "i"),
            "hi": ("max", "i"),
            "a": ("avg", "i"),
        },
        ({"i": runs}, 3 * 10**9),
    )
    total = (10**15 - 3 + 7) * 10**9
    assert result.rows == [(3 * 10**9, 3 * 10**9, total, -3, 10**15, total / (3 * 10**9))]


def test_runs_of_decimals_past_int64_sum_exactly():
    values = np.array([10**18 - 1, -(10**18) + 7, 10**17], dtype=np.int64)
    lengths = np.array([2**40, 10**9, 0], dtype=np.int64)
    result = aggregate([], {"s": ("sum", "d"), "hi": ("max", "d")}, ({"d": RunColumn(values, lengths)}, 2**40 + 10**9))
    exact = (10**18 - 1) * 2**40 + (-(10**18) + 7) * 10**9
    assert result.rows == [(Decimal(f"{exact}e-2"), Decimal("9999999999999999.99"))]


def test_runs_with_nulls_equal_expanded_values():
    rng = np.random.default_rng(7)
    nulls = rng.random(500) < 0.2
    # 200 runs, some of length 0, covering exactly the non-NULL rows.
    lengths = rng.multinomial(int((~nulls).sum()), np.full(200, 1 / 200)).astype(np.int64)
    aggregates = {
        "n": ("count", "*"),
        "c": ("count", "x"),
        "s": ("sum", "x"),
        "lo": ("min", "x"),
        "hi": ("max", "x"),
        "a": ("avg", "x"),
    }
    for type_name, values in [
        ("int64", rng.integers(-(2**62), 2**62, size=200)),
        ("decimal(18,4)", rng.integers(-(10**17), 10**17, size=200)),
        ("float64", rng.integers(-1000, 1000, size=200) / 8),
        ("date", rng.integers(-5000, 5000, size=200).astype(np.int32)),
        ("text", objects(*(f"v{value}" for value in rng.integers(0, 50, size=200)))),
    ]:
        schema = Schema.build([("x", type_name), ("k", "int8")])
        wanted = {k: v for k, v in aggregates.items() if k not in ("s", "a") or type_name not in ("date", "text")}
        runs = RunColumn(values, lengths, nulls)
        expanded = plain(runs)
        on_runs = aggregate([], wanted, ({"x": runs}, 500), schema=schema)
        on_values = aggregate([], wanted, ({"x": expanded}, 500), schema=schema)
        assert on_runs.rows == on_values.rows, type_name
        keys = np.arange(500, dtype=np.int8) % 3
        grouped_runs = aggregate(["k"], wanted, ({"x": runs, "k": keys}, 500), schema=schema)
        grouped_values = aggregate(["k"], wanted, ({"x": expanded, "k": keys}, 500), schema=schema)
        assert grouped_runs.rows == grouped_values.rows, type_name


def test_runs_without_rows_give_nulls():
    runs = RunColumn(np.array([4], dtype=np.int64), np.array([0], dtype=np.int64), np.ones(3, dtype=bool))
    result = aggregate([], {"c": ("count", "i"), "s": ("sum", "i"), "lo": ("min", "i")}, ({"i": runs}, 3))
    assert result.rows == [(0, None, None)]


def test_run_group_keys_equal_expanded_keys():
    keys = RunColumn(np.array([5, 2, 5], dtype=np.int32), np.array([3, 2, 1], dtype=np.int64))
    values = np.arange(6, dtype=np.int64)
    result = aggregate(["h"], {"s": ("sum", "i")}, ({"h": keys, "i": values}, 6))
    assert result.rows == [(2, 3 + 4), (5, 0 + 1 + 2 + 5)]


# -- dictionary columns -----------------------------------------------------------


def test_dictionary_group_keys_equal_plain_keys():
    rng = np.random.default_rng(3)
    dictionary = objects("AIR", "MAIL", "RAIL", "SHIP", "TRUCK")
    codes = rng.integers(0, 5, size=1000).astype(np.uint8)
    nulls = rng.random(1000) < 0.1
    values = rng.integers(-(10**6), 10**6, size=1000)
    aggregates = {"n": ("count", "*"), "s": ("sum", "d"), "lo": ("min", "t"), "hi": ("max", "t")}
    texts = objects(*(f"t{value % 17}" for value in values))
    encoded = DictionaryColumn(dictionary, codes, nulls)
    on_codes = aggregate(["g"], aggregates, ({"g": encoded, "d": values, "t": texts}, 1000))
    on_values = aggregate(["g"], aggregates, ({"g": plain(encoded), "d": values, "t": texts}, 1000))
    assert on_codes.rows == on_values.rows
    assert [row[0] for row in on_codes.rows] == ["AIR", "MAIL", "RAIL", "SHIP", "TRUCK", None]


def test_dictionary_arguments_reduce_on_codes():
    dictionary = objects("apple", "kiwi", "pear")
    codes = np.array([2, 1, 9, 1, 0], dtype=np.uint8)  # 9 is the placeholder of a NULL row
    nulls = np.array([False, False, True, False, False])
    keys = np.array([1, 1, 1, 2, 2], dtype=np.int32)
    column = DictionaryColumn(dictionary, codes, nulls)
    result = aggregate(
        ["h"], {"lo": ("min", "t"), "hi": ("max", "t"), "c": ("count", "t")}, ({"h": keys, "t": column}, 5)
    )
    assert result.rows == [(1, "kiwi", "pear", 2), (2, "apple", "kiwi", 2)]


def test_float_dictionary_merges_signed_zeros():
    column = DictionaryColumn(np.array([-0.0, 0.0, 1.5]), np.array([0, 1, 2, 1], dtype=np.uint8))
    result = aggregate(["f"], {"n": ("count", "*")}, ({"f": column}, 4))
    assert result.rows == [(0.0, 3), (1.5, 1)]


# -- NULLs and empty input --------------------------------------------------------------


def test_empty_input_without_group_by_gives_one_row():
    result = aggregate([], {"n": ("count", "*"), "c": ("count", "i"), "s": ("sum", "d"), "hi": ("max", "t")})
    assert result.rows == [(0, 0, None, None)]


def test_empty_batches_with_group_by_give_no_rows():
    empty = {"g": objects(), "i": np.zeros(0, dtype=np.int64)}
    result = aggregate(["g"], {"s": ("sum", "i")}, (empty, 0), (empty, 0))
    assert result.rows == []
    assert result.names == ["g", "s"]
    assert len(result.columns()["s"]) == 0


def test_all_null_group_gives_null_aggregates():
    groups = objects("x", "y", "y")
    values = ColumnData(np.array([4, 0, 0], dtype=np.int64), np.array([False, True, True]))
    texts = ColumnData(objects("a", "", ""), np.array([False, True, True]))
    result = aggregate(
        ["g"],
        {"c": ("count", "i"), "s": ("sum", "i"), "a": ("avg", "i"), "lo": ("min", "i"), "hi": ("max", "t")},
        ({"g": groups, "i": values, "t": texts}, 3),
    )
    assert result.rows == [("x", 1, 4, 4.0, 4, "a"), ("y", 0, None, None, None, None)]


def test_null_group_keys_form_one_group_sorted_last():
    nulls = np.array([True, False, True, False, True])
    keys = ColumnData(np.array([0, 3, 0, -1, 0], dtype=np.int32), nulls)
    texts = ColumnData(objects("", "b", "", "a", ""), nulls)
    values = np.arange(5, dtype=np.int64)
    result = aggregate(["h", "g"], {"s": ("sum", "i")}, ({"h": keys, "g": texts, "i": values}, 5))
    assert result.rows == [(-1, "a", 3), (3, "b", 1), (None, None, 0 + 2 + 4)]


def test_null_keys_of_single_characters_stay_apart():
    # The NULL placeholder "" must not turn into a group of its own.
    nulls = np.array([False, True, False, False])
    keys = ColumnData(objects("b", "", "a", "b"), nulls)
    result = aggregate(["g"], {"n": ("count", "*")}, ({"g": keys}, 4))
    assert result.rows == [("a", 1), ("b", 2), (None, 1)]


def test_all_null_keys():
    keys = ColumnData(objects("", ""), np.array([True, True]))
    result = aggregate(["g"], {"n": ("count", "*")}, ({"g": keys}, 2))
    assert result.rows == [(None, 2)]


# -- value semantics ----------------------------------------------------------------


def test_float_min_skips_nan_and_max_returns_nan():
    values = np.array([np.nan, 2.0, -1.0, np.nan, np.nan])
    keys = np.array([1, 1, 1, 2, 2], dtype=np.int32)
    result = aggregate(["h"], {"lo": ("min", "f"), "hi": ("max", "f")}, ({"h": keys, "f": values}, 5))
    (first, second) = result.rows
    assert first[:2] == (1, -1.0)
    assert np.isnan(first[2])
    assert second[0] == 2
    assert np.isnan(second[1])
    assert np.isnan(second[2])


def test_min_max_return_python_forms():
    batch = {
        "day": np.array([19000, 18000], dtype=np.int32),
        "flag": np.array([1, 0], dtype=np.uint8),
        "ts": np.array([0, 1_500_000], dtype=np.int64),
        "b": objects(b"\x00z", b"\x00\x01"),
        "t": objects("\U0001f600", "z"),
    }
    aggregates = {f"{f}_{c}": (f, c) for c in ("day", "flag", "ts", "b", "t") for f in ("min", "max")}
    (row,) = aggregate([], aggregates, (batch, 2)).rows
    utc = dt.UTC
    assert row == (
        dt.date(2019, 4, 14),
        dt.date(2022, 1, 8),
        False,
        True,
        dt.datetime(1970, 1, 1, tzinfo=utc),
        dt.datetime(1970, 1, 1, 0, 0, 1, 500_000, tzinfo=utc),
        b"\x00\x01",
        b"\x00z",
        "z",
        "\U0001f600",
    )


def test_batch_dtypes_of_bool_and_date_are_accepted():
    batch = {"day": np.array(["2020-01-02", "2020-01-01"], dtype="datetime64[D]"), "flag": np.array([True, False])}
    result = aggregate(["flag"], {"d": ("min", "day")}, (batch, 2))
    assert result.rows == [(False, dt.date(2020, 1, 1)), (True, dt.date(2020, 1, 2))]


def test_columns_give_typed_arrays():
    batch = {
        "h": np.array([2, 1, 2], dtype=np.int32),
        "i": np.array([2**62, 5, 2**62], dtype=np.int64),
        "d": np.array([150, 250, 1], dtype=np.int64),
        "day": np.array([1, 2, 3], dtype=np.int32),
        "f": np.array([0.5, 1.0, 2.0]),
    }
    aggregates = {
        "n": ("count", "*"),
        "s": ("sum", "i"),
        "sd": ("sum", "d"),
        "hi": ("max", "day"),
        "a": ("avg", "f"),
    }
    columns = aggregate(["h"], aggregates, (batch, 3)).columns()
    assert columns["h"].dtype == np.int64
    assert columns["n"].tolist() == [1, 2]
    assert columns["s"].dtype == object  # 2**63 does not fit int64
    assert columns["s"].tolist() == [5, 2**63]
    assert columns["sd"].tolist() == [Decimal("2.50"), Decimal("1.51")]
    assert columns["hi"].dtype == np.dtype("datetime64[D]")
    assert columns["a"].dtype == np.float64


def test_columns_with_null_are_object_arrays():
    keys = ColumnData(np.array([1, 0], dtype=np.int32), np.array([False, True]))
    columns = aggregate(["h"], {"n": ("count", "*")}, ({"h": keys}, 2)).columns()
    assert columns["h"].dtype == object
    assert columns["h"].tolist() == [1, None]
    assert columns["n"].dtype == np.int64


# -- many groups and re-reduction --------------------------------------------------------


def test_many_groups_across_batches_match_one_batch(monkeypatch):
    rng = np.random.default_rng(11)
    keys = rng.integers(0, 50_000, size=200_000)
    texts = objects(*(f"k{key % 1000}" for key in keys.tolist()))
    values = rng.integers(-(2**40), 2**40, size=200_000)
    aggregates = {"n": ("count", "*"), "s": ("sum", "i"), "lo": ("min", "d"), "hi": ("max", "t")}
    whole = aggregate(
        ["h", "g"],
        aggregates,
        ({"h": keys.astype(np.int32), "g": texts, "i": values, "d": values, "t": texts}, 200_000),
    )
    # Re-reduce after every few partial rows, so merging runs many times.
    monkeypatch.setattr(aggregate_module, "_MERGE_ROWS", 1000)
    accumulator = AggregateSpec.build(SCHEMA, ["h", "g"], aggregates).accumulator()
    for start in range(0, 200_000, 7_000):
        stop = min(start + 7_000, 200_000)
        part = slice(start, stop)
        accumulator.add(
            {
                "h": keys[part].astype(np.int32),
                "g": texts[part],
                "i": values[part],
                "d": values[part],
                "t": texts[part],
            },
            stop - start,
        )
    assert accumulator.result().rows == whole.rows
    assert len(whole) == len(set(zip(keys.tolist(), texts.tolist())))


def test_result_can_be_read_twice_and_extended():
    accumulator = AggregateSpec.build(SCHEMA, ["h"], {"n": ("count", "*")}).accumulator()
    accumulator.add({"h": np.array([1, 2], dtype=np.int32)}, 2)
    assert accumulator.result().rows == [(1, 1), (2, 1)]
    accumulator.add({"h": np.array([2], dtype=np.int32)}, 1)
    assert accumulator.result().rows == [(1, 1), (2, 2)]


def test_wide_composite_keys_do_not_overflow_codes():
    # Four int64 columns of 40,000 distinct values each mix to more than 2**62 codes.
    rng = np.random.default_rng(5)
    schema = Schema.build([(f"k{i}", "int64") for i in range(4)])
    columns = {f"k{i}": rng.integers(-(2**62), 2**62, size=40_000) for i in range(4)}
    columns["k3"][:20_000] = columns["k3"][20_000:]
    for i in range(3):
        columns[f"k{i}"][:20_000] = columns[f"k{i}"][20_000:]
    result = aggregate([f"k{i}" for i in range(4)], {"n": ("count", "*")}, (columns, 40_000), schema=schema)
    assert len(result) == 20_000
    assert all(row[4] == 2 for row in result.rows)
    assert [row[:4] for row in result.rows] == sorted(row[:4] for row in result.rows)


# -- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_by", "aggregates", "message"),
    [
        ([], {"x": ("median", "i")}, "unknown function 'median'"),
        ([], {"x": ("sum", "nope")}, "unknown column 'nope'"),
        (["nope"], {"x": ("count", "*")}, "group_by names unknown column 'nope'"),
        ([], {"x": ("sum", "*")}, "only count takes '*'"),
        ([], {"x": ("sum", "t")}, "sum needs a numeric column, but 't' is text"),
        ([], {"x": ("avg", "flag")}, "avg needs a numeric column, but 'flag' is bool"),
        ([], {"x": ("sum", "day")}, "'day' is date"),
        ([], {"x": ("avg", "ts")}, "'ts' is timestamp"),
        ([], {"x": "sum"}, "must be a (function, column) pair"),
        (["g", "g"], {}, "names a column twice"),
        (["g"], {"g": ("count", "*")}, "output name 'g' is used twice"),
        ([], {}, "needs at least one group_by column or one aggregate"),
    ],
)
def test_invalid_spec_raises_schema_error(group_by, aggregates, message):
    with pytest.raises(SchemaError) as caught:
        AggregateSpec.build(SCHEMA, group_by, aggregates)
    assert message in str(caught.value)


def test_function_names_ignore_case():
    spec = AggregateSpec.build(SCHEMA, "g", {"n": ("COUNT", "*"), "s": ("Sum", "i")})
    assert [call.function for call in spec.calls] == ["count", "sum"]
    assert spec.input_columns == ["g", "i"]


def test_group_by_alone_lists_distinct_keys():
    result = aggregate(["g"], {}, ({"g": objects("b", "a", "b")}, 3))
    assert result.rows == [("a",), ("b",)]


def test_batch_missing_column_raises():
    accumulator = AggregateSpec.build(SCHEMA, ["g"], {"s": ("sum", "i")}).accumulator()
    with pytest.raises(InvalidInputError, match="batch is missing column .i."):
        accumulator.add({"g": objects("a")}, 1)


def test_batch_length_mismatch_raises():
    accumulator = AggregateSpec.build(SCHEMA, [], {"s": ("sum", "i")}).accumulator()
    with pytest.raises(InvalidInputError, match="has 2 rows, expected 3"):
        accumulator.add({"i": np.array([1, 2])}, 3)


def test_text_keys_with_nul_and_empty_values():
    # Six values of 6 characters in all, as six single characters would have.
    keys = objects("a\x00", "", "b", "\x00", "a\x00", "")
    result = aggregate(["g"], {"n": ("count", "*")}, ({"g": keys}, 6))
    assert result.rows == [("", 2), ("\x00", 1), ("a\x00", 2), ("b", 1)]


def test_single_character_keys_sort_by_code_point():
    keys = objects("\U0001f600", "é", "Z", "a", "é", "\ud800")
    result = aggregate(["g"], {"n": ("count", "*")}, ({"g": keys}, 6))
    assert result.rows == [("Z", 1), ("a", 1), ("é", 2), ("\ud800", 1), ("\U0001f600", 1)]


def test_blob_keys_group_by_bytes():
    keys = objects(b"b", b"a", b"", b"b")
    result = aggregate(["b"], {"n": ("count", "*")}, ({"b": keys}, 4))
    assert result.rows == [(b"", 1), (b"a", 1), (b"b", 2)]


def test_nan_keys_form_one_group_after_numbers():
    keys = np.array([np.nan, 1.0, -0.0, np.nan, 0.0])
    result = aggregate(["f"], {"n": ("count", "*")}, ({"f": keys}, 5))
    rows = result.rows
    assert rows[:2] == [(0.0, 2), (1.0, 1)]  # -0.0 == 0.0, so either zero may come back
    assert np.isnan(rows[2][0])
    assert rows[2][1] == 2


def test_all_null_group_of_dates_and_decimals():
    # The min of a group without values is a placeholder outside the date range.
    keys = np.array([1, 2, 2], dtype=np.int32)
    nulls = np.array([False, True, True])
    days = ColumnData(np.array([5, 0, 0], dtype=np.int32), nulls)
    amounts = ColumnData(np.array([125, 0, 0], dtype=np.int64), nulls)
    aggregates = {"lo": ("min", "day"), "hi": ("max", "day"), "d": ("min", "d"), "flag": ("max", "flag")}
    flags = ColumnData(np.array([1, 0, 0], dtype=np.uint8), nulls)
    result = aggregate(["h"], aggregates, ({"h": keys, "day": days, "d": amounts, "flag": flags}, 3))
    assert result.rows == [
        (1, dt.date(1970, 1, 6), dt.date(1970, 1, 6), Decimal("1.25"), True),
        (2, None, None, None, None),
    ]
