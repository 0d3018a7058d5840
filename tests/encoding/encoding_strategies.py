"""Hypothesis strategies and comparison helpers shared by the encoding tests.

Values are drawn to reach the interesting paths: runs (so run-length and
dictionary codes with runs get exercised), small pools of distinct values,
sorted data, and the extremes of every integer kind. Floats are drawn as bit
patterns, so NaN payloads, signed zeros and infinities all appear.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from storagedb.encoding.kinds import KINDS

ALL_KINDS = tuple(KINDS)
INTEGER_KINDS = ("int8", "int16", "int32", "int64", "uint8")
FLOAT_KINDS = ("float32", "float64")
VARIABLE_KINDS = ("text", "blob")
ENCODINGS_FOR_ALL = ("plain", "dictionary", "rle")
INTEGER_ONLY_ENCODINGS = ("bitpack", "delta", "for")
COMPRESSIONS = ("none", "zstd", "lz4", "auto")

#: (encoding, kind) pairs that encode_chunk accepts.
SUPPORTED_PAIRS = tuple(
    [(encoding, kind) for encoding in ENCODINGS_FOR_ALL for kind in ALL_KINDS]
    + [(encoding, kind) for encoding in INTEGER_ONLY_ENCODINGS for kind in INTEGER_KINDS]
)

_SPECIAL_FLOATS = (0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0, -1.0)


def scalar_values(kind: str) -> st.SearchStrategy:
    """One value of ``kind`` as a Python object (floats as their bit pattern)."""
    info = KINDS[kind]
    if info.is_integer:
        extremes = st.sampled_from([info.min_value, info.max_value, 0, -1 if info.is_signed else 1])
        return st.one_of(extremes, st.integers(info.min_value, info.max_value))
    if info.is_float:
        bits = info.dtype.itemsize * 8
        specials = [int(np.array([value], dtype=info.dtype).view(info.bit_dtype)[0]) for value in _SPECIAL_FLOATS]
        return st.one_of(st.sampled_from(specials), st.integers(0, 2**bits - 1))
    if kind == "text":
        return st.text(max_size=12)
    return st.binary(max_size=12)


def _to_array(items: list, kind: str) -> np.ndarray:
    info = KINDS[kind]
    if info.is_float:
        return np.array(items, dtype=info.bit_dtype).view(info.dtype)
    if info.is_variable:
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array
    return np.array(items, dtype=info.dtype)


@st.composite
def value_arrays(draw, kind: str, max_size: int = 200) -> np.ndarray:
    """An array of values of ``kind``: free, from a small pool, in runs, or sorted."""
    shape = draw(st.sampled_from(["free", "pool", "runs", "sorted"]))
    if shape == "free":
        items = draw(st.lists(scalar_values(kind), max_size=max_size))
    elif shape == "pool":
        pool = draw(st.lists(scalar_values(kind), min_size=1, max_size=5))
        items = draw(st.lists(st.sampled_from(pool), max_size=max_size))
    elif shape == "runs":
        runs = draw(st.lists(st.tuples(scalar_values(kind), st.integers(1, 40)), max_size=12))
        items = [value for value, length in runs for _ in range(length)]
    else:
        items = draw(st.lists(scalar_values(kind), max_size=max_size))
        info = KINDS[kind]
        if not info.is_float:
            items.sort()
    return _to_array(items, kind)


@st.composite
def chunk_inputs(draw, kind: str, max_size: int = 200) -> tuple[np.ndarray, np.ndarray | None]:
    """``(values, nulls)`` for encode_chunk; nulls is None or a bool array."""
    values = draw(value_arrays(kind, max_size))
    null_style = draw(st.sampled_from(["none", "some", "all"]))
    if null_style == "none":
        return values, None
    if null_style == "all":
        return values, np.ones(len(values), dtype=bool)
    flags = draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    return values, np.array(flags, dtype=bool)


def null_placeholder(kind: str):
    info = KINDS[kind]
    if kind == "text":
        return ""
    if kind == "blob":
        return b""
    return info.dtype.type(0)


def assert_same_values(expected: np.ndarray, found: np.ndarray, nulls: np.ndarray | None, kind: str) -> None:
    """Assert ``found`` equals ``expected`` at non-null rows and the placeholder at NULL rows.

    Floats are compared by bit pattern, so -0.0 differs from +0.0 and NaNs
    compare equal only with the same payload.
    """
    info = KINDS[kind]
    assert len(found) == len(expected)
    valid = np.ones(len(expected), dtype=bool) if nulls is None else ~nulls
    if info.is_variable:
        assert found.dtype == object
        assert found[valid].tolist() == expected[valid].tolist()
        assert all(item == null_placeholder(kind) for item in found[~valid].tolist())
        return
    assert found.dtype == info.dtype
    if info.is_float:
        assert np.array_equal(found[valid].view(info.bit_dtype), expected[valid].view(info.bit_dtype))
    else:
        assert np.array_equal(found[valid], expected[valid])
    assert not np.any(found[~valid].view(info.bit_dtype) if info.is_float else found[~valid])


def sort_key(kind: str):
    """Key that orders Python values of ``kind`` as the dictionary does."""
    info = KINDS[kind]
    if info.is_float:
        def key(value):
            bits = int(np.array([value], dtype=info.dtype).view(info.bit_dtype)[0])
            sign = 1 << (info.dtype.itemsize * 8 - 1)
            total = (~bits & (2 * sign - 1)) if bits & sign else bits | sign
            return (np.isnan(value), total)
        return key
    return lambda value: value
