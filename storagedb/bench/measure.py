"""Timing helpers: medians, latency percentiles and counter deltas."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["add_counters", "counter_delta", "hit_rate", "latency_percentiles", "median"]


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def latency_percentiles(latencies_ns: list[np.ndarray]) -> dict[str, float | None]:
    """p50, p95 and p99 in microseconds over all operations of the timed runs."""
    pooled = np.concatenate(latencies_ns) if latencies_ns else np.zeros(0, np.int64)
    if len(pooled) == 0:
        return {"p50_us": None, "p95_us": None, "p99_us": None}
    p50, p95, p99 = np.percentile(pooled, [50, 95, 99]) / 1000.0
    return {"p50_us": float(p50), "p95_us": float(p95), "p99_us": float(p99)}


def counter_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, int]:
    """``after - before`` for every integer counter present in both."""
    return {
        key: after[key] - before[key]
        for key in after
        if key in before and isinstance(after[key], int) and not isinstance(after[key], bool)
    }


def add_counters(total: dict[str, int], delta: Mapping[str, int]) -> None:
    for key, value in delta.items():
        total[key] = total.get(key, 0) + value


def hit_rate(counters: Mapping[str, int]) -> float | None:
    """Buffer-pool hits divided by page requests, or None when no page was requested."""
    hits, misses = counters.get("hits", 0), counters.get("misses", 0)
    return hits / (hits + misses) if hits + misses else None
