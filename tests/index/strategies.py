"""Hypothesis strategies for primary keys of every column kind.

Values are in storage form, as ``ColumnType.to_storage`` returns them, and
``storage_column`` turns a list of them into the numpy array a segment holds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from storagedb.types import parse_type

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: Storage-form values of each key kind, with their edge cases: both signed
#: zeros, NaN and infinities, empty and long text, NUL bytes in blobs.
VALUES_BY_KIND: dict[str, st.SearchStrategy] = {
    "int8": st.integers(-(2**7), 2**7 - 1),
    "int16": st.integers(-(2**15), 2**15 - 1),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "int64": st.integers(INT64_MIN, INT64_MAX),
    "date": st.integers(-(2**31), 2**31 - 1),
    "timestamp": st.integers(INT64_MIN, INT64_MAX),
    "decimal": st.integers(-(10**18) + 1, 10**18 - 1),
    "bool": st.booleans(),
    "float32": st.floats(width=32).map(float),
    "float64": st.floats(),
    "text": st.one_of(
        st.text(),
        st.text(min_size=1000, max_size=4000),
        st.sampled_from(["", "\x00", "é", "日本語", "a" * 5000]),
    ),
    "blob": st.one_of(
        st.binary(),
        st.binary(min_size=1000, max_size=4000),
        st.sampled_from([b"", b"\x00", b"\x00" * 17, b"a\x00b"]),
    ),
}

KINDS = sorted(VALUES_BY_KIND)

_TYPE_NAMES = {"decimal": "decimal(18,2)"}


def storage_column(kind: str, values: list) -> np.ndarray:
    """Build the storage-form numpy array of one key column."""
    dtype = parse_type(_TYPE_NAMES.get(kind, kind)).storage_dtype
    if dtype == np.dtype(object):
        # Assigning into an empty object array keeps each str or bytes whole.
        column = np.empty(len(values), dtype=object)
        column[:] = values
        return column
    return np.array(values, dtype=dtype)


@st.composite
def key_tables(draw, max_columns: int = 3, min_rows: int = 0, max_rows: int = 30):
    """Draw ``(kinds, rows)``: 1 to ``max_columns`` key kinds and rows of values."""
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=max_columns))
    row_strategy = st.tuples(*(VALUES_BY_KIND[kind] for kind in kinds))
    rows = draw(st.lists(row_strategy, min_size=min_rows, max_size=max_rows))
    return kinds, rows


def columns_of(kinds: list[str], rows: list[tuple]) -> list[np.ndarray]:
    """Split rows into one storage-form column per kind."""
    return [storage_column(kind, [row[i] for row in rows]) for i, kind in enumerate(kinds)]
