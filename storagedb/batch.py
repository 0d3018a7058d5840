"""Column batches: the in-memory form of column values between layers.

Inside the engine a column of a batch is in *storage form* (see
``types.py``): a numpy array of the column's storage dtype, or an object
array of ``str`` (text) or ``bytes`` (blob), plus a NULL mask. Values at
NULL positions are placeholders (0, ``""`` or ``b""``) that nothing may read.

Two compressed forms let scans and aggregates work on encoded data without
expanding it:

* :class:`DictionaryColumn`: codes into a sorted dictionary, so comparisons
  run on the codes;
* :class:`RunColumn`: run values and run lengths.

Every form can be expanded with :func:`plain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

__all__ = ["ColumnData", "DictionaryColumn", "RunColumn", "AnyColumn", "plain", "column_length"]


@dataclass(slots=True)
class ColumnData:
    """Plain storage-form values and a NULL mask (None when nothing is NULL)."""

    values: np.ndarray
    nulls: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.values)


@dataclass(slots=True)
class DictionaryColumn:
    """Values as codes into ``dictionary``, which is sorted ascending.

    Code order equals value order, so ``value < x`` holds exactly when
    ``code < searchsorted(dictionary, x)``. Codes at NULL positions are
    placeholders.
    """

    dictionary: np.ndarray
    codes: np.ndarray
    nulls: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.codes)


@dataclass(slots=True)
class RunColumn:
    """Values as runs: ``run_values[i]`` repeated ``run_lengths[i]`` times.

    The runs cover the non-NULL rows in order. ``nulls`` (None when no row
    is NULL) marks where the NULL rows sit among all rows.
    """

    run_values: np.ndarray
    run_lengths: np.ndarray
    nulls: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.nulls) if self.nulls is not None else int(self.run_lengths.sum())


AnyColumn = Union[ColumnData, DictionaryColumn, RunColumn]


def plain(column: AnyColumn) -> ColumnData:
    """Expand any column form to plain values and a NULL mask."""
    if isinstance(column, ColumnData):
        return column
    if isinstance(column, DictionaryColumn):
        if len(column.dictionary):
            values = column.dictionary[column.codes if column.nulls is None else np.where(column.nulls, 0, column.codes)]
        else:
            values = np.zeros(len(column.codes), dtype=column.dictionary.dtype)
        return ColumnData(values, column.nulls)
    expanded = np.repeat(column.run_values, column.run_lengths)
    if column.nulls is None:
        return ColumnData(expanded, None)
    values = np.zeros(len(column.nulls), dtype=column.run_values.dtype)
    if values.dtype == object:
        values[:] = "" if not len(expanded) or isinstance(expanded[0], str) else b""
    values[~column.nulls] = expanded
    return ColumnData(values, column.nulls)


def column_length(column: AnyColumn) -> int:
    return len(column)
