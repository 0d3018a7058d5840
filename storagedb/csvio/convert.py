"""Convert one column of a chunk to the storage form of its column type."""

from __future__ import annotations

import numpy as np

from ..types import ColumnType
from .datetimes import parse_date, parse_timestamp
from .numbers import (
    INT_RANGES,
    fixed_point_to_decimal,
    fixed_point_to_integer,
    parse_bool,
    parse_fixed_point,
    parse_float,
)
from .spans import ColumnSpans
from .text import parse_blob, parse_text

__all__ = ["convert_column", "null_mask"]


def null_mask(spans: ColumnSpans, ctype: ColumnType) -> np.ndarray:
    """Mark the NULL values: the empty ones, except that ``""`` is an empty text or blob value."""
    return spans.unquoted_empty() if ctype.base in ("text", "blob") else spans.empty()


def convert_column(spans: ColumnSpans, ctype: ColumnType) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the column's storage-form array and its NULL mask (None without NULLs).

    NULL values hold 0 in numeric arrays and None in object arrays.

    Raises:
        ValueProblem: the first value that does not convert.
    """
    nulls = null_mask(spans, ctype)
    base = ctype.base
    if base == "text":
        values = parse_text(spans, nulls)
    elif base in INT_RANGES:
        values = fixed_point_to_integer(parse_fixed_point(spans, nulls, f"{ctype.name} value"), ctype)
    elif base == "decimal":
        number = parse_fixed_point(spans, nulls, f"{ctype.name} value")
        values = fixed_point_to_decimal(number, ctype.precision, ctype.scale)
    elif ctype.is_float:
        values = parse_float(spans, nulls, ctype)
    elif base == "bool":
        values = parse_bool(spans, nulls, strict=False)
    elif base == "date":
        values = parse_date(spans, nulls)
    elif base == "timestamp":
        values = parse_timestamp(spans, nulls)
    elif base == "blob":
        values = parse_blob(spans, nulls)
    else:
        raise AssertionError(f"no CSV conversion for column type {ctype.name}")
    return values, (nulls if nulls.any() else None)
