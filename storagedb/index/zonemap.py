"""Zone maps: per-zone minimum, maximum, NULL count and NaN flag of a column.

A *zone* is a run of consecutive rows of a segment (a group of NSM pages, a
DSM chunk, a PAX row group). If a predicate cannot be true for any value
between a zone's minimum and maximum, a scan skips the zone without reading
its pages.

NaN never enters the minimum or maximum (it is unordered), but the NaN flag
records that the zone contains one, because ``x != 3`` and ``NOT (x = 3)``
are true for NaN. A zone whose values are all NULL or NaN has no minimum
or maximum (``has_value`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import ColumnType

__all__ = ["ZoneMap", "compute_zone_map"]


@dataclass
class ZoneMap:
    """Zone statistics of one column; index ``i`` describes rows ``bounds[i]`` .. ``bounds[i+1]-1``."""

    bounds: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    has_value: np.ndarray
    null_count: np.ndarray
    has_nan: np.ndarray

    @property
    def zone_count(self) -> int:
        return len(self.bounds) - 1

    def zone(self, index: int) -> tuple:
        """``(min, max, null_count, row_count, has_nan)`` of one zone; min and max None if absent."""
        rows = int(self.bounds[index + 1] - self.bounds[index])
        if self.has_value[index]:
            low, high = _scalar(self.minimum[index]), _scalar(self.maximum[index])
        else:
            low = high = None
        return low, high, int(self.null_count[index]), rows, bool(self.has_nan[index])

    def overall(self) -> tuple:
        """Return the statistics of :meth:`zone` over all zones together."""
        rows = int(self.bounds[-1] - self.bounds[0]) if len(self.bounds) else 0
        valid = np.flatnonzero(self.has_value)
        if len(valid):
            low = min(_scalar(v) for v in self.minimum[valid]) if self.minimum.dtype == object else _scalar(self.minimum[valid].min())
            high = max(_scalar(v) for v in self.maximum[valid]) if self.maximum.dtype == object else _scalar(self.maximum[valid].max())
        else:
            low = high = None
        return low, high, int(self.null_count.sum()), rows, bool(self.has_nan.any())


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def compute_zone_map(values: np.ndarray, nulls: np.ndarray | None, bounds: np.ndarray, ctype: ColumnType) -> ZoneMap:
    """Compute a column's zone map for zones cut at ``bounds`` (vectorised for fixed types)."""
    bounds = np.asarray(bounds, dtype=np.int64)
    zones = len(bounds) - 1
    count = len(values)
    starts = bounds[:-1]
    if zones == 0 or count == 0:
        empty = np.zeros(zones, dtype=values.dtype if values.dtype != object else object)
        flags = np.zeros(zones, dtype=bool)
        return ZoneMap(bounds, empty, empty.copy(), flags, np.zeros(zones, np.int64), flags.copy())
    null_mask = nulls if nulls is not None else np.zeros(count, dtype=bool)
    null_count = np.add.reduceat(null_mask.astype(np.int64), starts) if nulls is not None else np.zeros(zones, np.int64)

    if values.dtype == object:
        return _object_zone_map(values, null_mask, bounds, null_count)

    if ctype.is_float:
        nan = np.isnan(values)
        has_nan = np.logical_or.reduceat(nan, starts)
        invalid = null_mask | nan
    else:
        has_nan = np.zeros(zones, dtype=bool)
        invalid = null_mask
    valid_count = np.add.reduceat((~invalid).astype(np.int64), starts)
    has_value = valid_count > 0
    if invalid.any():
        if ctype.is_float:
            high_fill, low_fill = np.inf, -np.inf
        else:
            info = np.iinfo(values.dtype)
            high_fill, low_fill = info.max, info.min
        low_source = np.where(invalid, high_fill, values).astype(values.dtype)
        high_source = np.where(invalid, low_fill, values).astype(values.dtype)
    else:
        low_source = high_source = values
    minimum = np.minimum.reduceat(low_source, starts)
    maximum = np.maximum.reduceat(high_source, starts)
    return ZoneMap(bounds, minimum, maximum, has_value, null_count, has_nan)


def _object_zone_map(values: np.ndarray, null_mask: np.ndarray, bounds: np.ndarray, null_count: np.ndarray) -> ZoneMap:
    zones = len(bounds) - 1
    minimum = np.empty(zones, dtype=object)
    maximum = np.empty(zones, dtype=object)
    has_value = np.zeros(zones, dtype=bool)
    listed = values.tolist()
    any_null = bool(null_mask.any())
    nulls_listed = null_mask.tolist() if any_null else None
    for zone in range(zones):
        start, end = int(bounds[zone]), int(bounds[zone + 1])
        if any_null:
            chunk = [v for v, is_null in zip(listed[start:end], nulls_listed[start:end]) if not is_null]
        else:
            chunk = listed[start:end]
        if chunk:
            minimum[zone] = min(chunk)
            maximum[zone] = max(chunk)
            has_value[zone] = True
        else:
            minimum[zone] = maximum[zone] = values[start] if end > start else ""
    return ZoneMap(bounds, minimum, maximum, has_value, null_count, np.zeros(zones, dtype=bool))
