"""Zone statistics and zone-map pruning with BoundPredicate.may_match."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from storagedb.predicate import ZoneStats, col, zone_stats
from storagedb.schema import Schema

SCHEMA = Schema.build([("x", "float64"), ("n", "int64"), ("s", "text"), ("b", "blob"), ("d", "decimal(12,2)")])


def may_match(predicate, **zones: ZoneStats) -> bool:
    return predicate.bind(SCHEMA).may_match(zones)


def ints(low: int, high: int, null_count: int = 0, row_count: int = 100) -> ZoneStats:
    return ZoneStats(low, high, null_count, row_count)


# -- zone_stats ----------------------------------------------------------------------


def test_zone_stats_of_ints():
    assert zone_stats(np.array([5, -3, 9], dtype=np.int64)) == ZoneStats(-3, 9, 0, 3, False)


def test_zone_stats_ignore_null_placeholders():
    values = np.array([0, 7, 0, 4], dtype=np.int32)
    nulls = np.array([True, False, True, False])
    assert zone_stats(values, nulls) == ZoneStats(4, 7, 2, 4, False)


def test_zone_stats_skip_nan():
    stats = zone_stats(np.array([2.0, np.nan, -1.5]))
    assert stats == ZoneStats(-1.5, 2.0, 0, 3, True)


def test_zone_stats_all_nan():
    assert zone_stats(np.array([np.nan, np.nan], dtype=np.float32)) == ZoneStats(None, None, 0, 2, True)


def test_zone_stats_all_null():
    nulls = np.array([True, True])
    assert zone_stats(np.array([0.0, 0.0]), nulls) == ZoneStats(None, None, 2, 2, False)


def test_zone_stats_empty():
    assert zone_stats(np.array([], dtype=np.int64)) == ZoneStats(None, None, 0, 0, False)


def test_zone_stats_return_python_scalars():
    stats = zone_stats(np.array([1.5, 2.5], dtype=np.float32))
    assert type(stats.min) is float
    assert type(zone_stats(np.array([1], dtype=np.int8)).max) is int


def test_zone_stats_of_text_and_blob():
    text = np.empty(4, dtype=object)
    text[:] = ["b", "", "é", "a"]
    assert zone_stats(text, np.array([False, True, False, False])) == ZoneStats("a", "é", 1, 4, False)
    blob = np.empty(2, dtype=object)
    blob[:] = [b"\xff", b"\x00"]
    assert zone_stats(blob) == ZoneStats(b"\x00", b"\xff", 0, 2, False)


def test_zone_stats_of_dates_in_batch_dtype():
    days = np.array(["1994-01-02", "1994-01-01"], dtype="datetime64[D]")
    assert zone_stats(days) == ZoneStats(8766, 8767, 0, 2, False)


def test_merge_combines_bounds_and_counts():
    left = ZoneStats(1, 5, 1, 10, False)
    right = ZoneStats(None, None, 3, 3, True)
    assert left.merge(right) == ZoneStats(1, 5, 4, 13, True)
    assert right.merge(ZoneStats(-2, 0, 0, 1)) == ZoneStats(-2, 0, 3, 4, True)


def test_zone_stats_fast_on_a_large_chunk():
    # A generous bound that only a Python loop per value would break. A
    # numpy min and max over 65,536 int64 values take tens of microseconds.
    values = np.random.default_rng(7).integers(-(10**9), 10**9, 65_536)
    nulls = np.zeros(65_536, dtype=bool)
    nulls[::7] = True
    zone_stats(values, nulls)
    started = time.perf_counter()
    for _ in range(20):
        zone_stats(values, nulls)
    assert (time.perf_counter() - started) / 20 < 0.005


# -- pruning ------------------------------------------------------------------------


def test_prunes_below_min():
    assert not may_match(col("n") < 10, n=ints(10, 20))
    assert may_match(col("n") <= 10, n=ints(10, 20))


def test_prunes_above_max():
    assert not may_match(col("n") > 20, n=ints(10, 20))
    assert may_match(col("n") >= 20, n=ints(10, 20))


def test_prunes_equality_outside_range():
    assert not may_match(col("n") == 21, n=ints(10, 20))
    assert may_match(col("n") == 15, n=ints(10, 20))


def test_prunes_sorted_chunks_of_a_range_scan():
    values = np.arange(1000, dtype=np.int64)
    chunks = [zone_stats(values[start : start + 100]) for start in range(0, 1000, 100)]
    bound = ((col("n") >= 250) & (col("n") < 420)).bind(SCHEMA)
    assert [bound.may_match({"n": chunk}) for chunk in chunks] == [False, False, True, True, True] + [False] * 5


def test_prunes_and_when_one_side_cannot_match():
    predicate = (col("n") > 100) & (col("s") == "x")
    assert not may_match(predicate, n=ints(0, 50))


def test_or_needs_both_sides_pruned():
    predicate = (col("n") > 100) | (col("s") == "x")
    assert may_match(predicate, n=ints(0, 50))
    assert not may_match(predicate, n=ints(0, 50), s=ZoneStats("a", "c", 0, 5))


def test_missing_column_means_anything():
    assert may_match(col("n") == 5)
    assert may_match(~(col("n") == 5))
    assert may_match(col("n").is_null())


def test_isin_prunes_when_no_value_in_range():
    assert not may_match(col("n").isin([1, 2, 30]), n=ints(10, 20))
    assert may_match(col("n").isin([1, 15, 30]), n=ints(10, 20))


def test_not_isin_prunes_full_zone():
    assert not may_match(~col("n").isin([7, 8]), n=ints(7, 7))
    assert may_match(~col("n").isin([7, 8]), n=ints(7, 8))


def test_not_isin_with_null_in_list_never_matches():
    assert not may_match(~col("n").isin([1, None]), n=ints(10, 20))


def test_is_null_prunes_zone_without_nulls():
    assert not may_match(col("n").is_null(), n=ints(1, 2, null_count=0))
    assert may_match(col("n").is_null(), n=ints(1, 2, null_count=1))


def test_is_not_null_prunes_all_null_zone():
    assert not may_match(col("n").is_not_null(), n=ZoneStats(None, None, 5, 5))
    assert not may_match(col("n") != 3, n=ZoneStats(None, None, 5, 5))


def test_empty_zone_matches_nothing():
    assert not may_match(col("n").is_null() | (col("n") != 1), n=ZoneStats(None, None, 0, 0))


def test_not_equal_prunes_zone_of_that_value():
    assert not may_match(col("n") != 7, n=ints(7, 7))
    assert not may_match(~(col("n") == 7), n=ints(7, 7))
    assert may_match(~(col("n") == 7), n=ints(7, 8))


def test_not_of_unknown_does_not_match_null_rows():
    # Every row is 7 or NULL: NOT (n = 7) is FALSE or unknown everywhere.
    assert not may_match(~(col("n") == 7), n=ints(7, 7, null_count=50))


def test_double_not_prunes_like_plain():
    assert not may_match(~~(col("n") > 20), n=ints(10, 20))


def test_exact_rewrite_prunes():
    decimals = ZoneStats(6, 10, 0, 10)  # 0.06 .. 0.10
    assert not may_match(col("d") < 0.055, d=decimals)
    assert not may_match(col("d") == 0.055, d=ZoneStats(0, 100, 0, 10))
    assert not may_match(col("n") > 10**30, n=ints(-(2**63), 2**63 - 1))


def test_text_and_blob_zones():
    assert not may_match(col("s") > "é", s=ZoneStats("a", "é", 0, 5))
    assert may_match(col("s") >= "é", s=ZoneStats("a", "é", 0, 5))
    assert not may_match(col("b") < b"\x00", b=ZoneStats(b"\x00", b"\xff", 0, 5))


# -- NaN never hides a matching row --------------------------------------------------


def nan_zone(low: float | None, high: float | None, row_count: int = 10) -> ZoneStats:
    return ZoneStats(low, high, 0, row_count, has_nan=True)


def test_nan_rows_satisfy_not_equal():
    assert may_match(col("x") != 3, x=nan_zone(3.0, 3.0))


def test_nan_rows_satisfy_not_of_equal():
    assert may_match(~(col("x") == 3), x=nan_zone(3.0, 3.0))


def test_nan_rows_satisfy_not_of_ordering():
    assert may_match(~(col("x") < 5), x=nan_zone(1.0, 2.0))
    assert not may_match(~(col("x") < 5), x=ZoneStats(1.0, 2.0, 0, 10))


def test_nan_rows_satisfy_not_isin():
    assert may_match(~col("x").isin([3.0]), x=nan_zone(3.0, 3.0))


def test_all_nan_zone():
    zone = nan_zone(None, None)
    assert not may_match(col("x") == 3, x=zone)
    assert not may_match(col("x") > -math.inf, x=zone)
    assert may_match(col("x") != 3, x=zone)
    assert may_match(~(col("x") >= 3), x=zone)
    assert not may_match(col("x").isin([1.0]), x=zone)
    assert may_match(~col("x").isin([1.0]), x=zone)


def test_all_nan_zone_prunes_what_nan_cannot_satisfy():
    zone = nan_zone(None, None)
    assert not may_match(~(col("x") != 3), x=zone)
    assert not may_match(~col("x").isin([1.0, None]), x=zone)


def test_nan_zone_still_prunes_positive_comparisons():
    assert not may_match(col("x") > 5, x=nan_zone(1.0, 2.0))
    assert not may_match(col("x") == 5, x=nan_zone(1.0, 2.0))


def test_negative_zero_bounds():
    zone = ZoneStats(-0.0, -0.0, 0, 3)
    assert may_match(col("x") == 0, x=zone)
    assert not may_match(col("x") != 0, x=zone)
    assert not may_match(col("x") < 0, x=zone)


def test_nan_bounds_prune_nothing():
    zone = ZoneStats(math.nan, math.nan, 0, 10)
    assert may_match(col("x") == 3, x=zone)
    assert may_match(col("x").isin([3.0]), x=zone)


@pytest.mark.parametrize("literal", [math.nan, 10**400, -(10**400)])
def test_odd_float_literals_against_zone(literal):
    zone = ZoneStats(-1.0, 1.0, 0, 10)
    bound = (col("x") == literal).bind(SCHEMA)
    assert not bound.may_match({"x": zone})
