"""Conversions between the Python, batch and storage forms of column values.

``types.py`` converts one value, and this module converts whole columns. It
turns rows of Python values or user numpy arrays into storage-form
:class:`ColumnData`, validating every value. It also turns storage-form
columns back into the numpy arrays that ``scan_batches`` yields or the Python
lists that ``scan`` turns into rows.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from typing import Any, Mapping, Sequence

import numpy as np

from .batch import ColumnData
from .errors import InvalidValueError, NotNullError, SchemaError
from .schema import Column, Schema
from .types import EPOCH_DATETIME

__all__ = [
    "rows_to_columns",
    "arrays_to_columns",
    "row_to_storage",
    "to_batch_array",
    "to_python_list",
    "filler_for",
]

_UTC = _dt.timezone.utc


def filler_for(column: Column) -> Any:
    """Return the placeholder stored at NULL positions of a storage-form array."""
    base = column.type.base
    if base == "text":
        return ""
    if base == "blob":
        return b""
    return 0


def row_to_storage(schema: Schema, row: Any, position: str = "") -> tuple:
    """Convert one row (a dict by column name, or a sequence in column order).

    Missing dict keys are NULL. ``position`` ("row 7") prefixes errors.

    Raises:
        SchemaError: unknown column names or a wrong number of values.
        InvalidValueError: a value does not fit its column.
        NotNullError: NULL in a NOT NULL column.
    """
    columns = schema.columns
    where = f"{position}: " if position else ""
    if isinstance(row, Mapping):
        unknown = [name for name in row if not schema.has_column(name)]
        if unknown:
            raise SchemaError(
                f"{where}unknown column {unknown[0]!r}; the table has columns {', '.join(schema.names)}"
            )
        values = [row.get(column.name) for column in columns]
    elif isinstance(row, (tuple, list)):
        if len(row) != len(columns):
            raise SchemaError(f"{where}row has {len(row)} values, the table has {len(columns)} columns")
        values = list(row)
    else:
        raise SchemaError(f"{where}a row must be a dict or a tuple, not {type(row).__name__}")
    out = []
    for column, value in zip(columns, values):
        if value is None or (isinstance(value, float) and value != value and column.type.is_integer_like):
            if value is not None:
                raise InvalidValueError(f"{where}invalid value nan for column {column.name!r} of type {column.type.name}")
            if not column.nullable:
                raise NotNullError(f"{where}column {column.name!r} is NOT NULL but got None")
            out.append(None)
            continue
        try:
            stored = column.type.to_storage(value, column.name)
        except InvalidValueError as exc:
            raise InvalidValueError(f"{where}{exc}") from None
        if stored is None and not column.nullable:
            raise NotNullError(f"{where}column {column.name!r} is NOT NULL but got {value!r}")
        out.append(stored)
    return tuple(out)


def rows_to_columns(schema: Schema, rows: Sequence[tuple]) -> list[ColumnData]:
    """Storage-form rows (from :func:`row_to_storage`) to columns."""
    count = len(rows)
    out = []
    for index, column in enumerate(schema.columns):
        raw = [row[index] for row in rows]
        nulls = np.fromiter((value is None for value in raw), dtype=bool, count=count)
        has_nulls = bool(nulls.any())
        filler = filler_for(column)
        if has_nulls:
            raw = [filler if value is None else value for value in raw]
        if column.type.is_fixed:
            values = np.array(raw, dtype=column.type.storage_dtype) if count else np.zeros(0, column.type.storage_dtype)
        else:
            values = np.empty(count, dtype=object)
            values[:] = raw
        out.append(ColumnData(values, nulls if has_nulls else None))
    return out


def arrays_to_columns(schema: Schema, arrays: Mapping[str, Any]) -> tuple[list[ColumnData], int]:
    """Validate and convert a dict of column arrays (numpy or lists) to storage form.

    Columns missing from ``arrays`` are NULL. Masked arrays, ``None`` in
    object arrays and NaT in datetime arrays mark NULLs.

    Raises:
        SchemaError: unknown names or arrays of different lengths.
        InvalidValueError, NotNullError: a bad value; the message names the
            column and the row index.
    """
    unknown = [name for name in arrays if not schema.has_column(name)]
    if unknown:
        raise SchemaError(f"unknown column {unknown[0]!r}; the table has columns {', '.join(schema.names)}")
    lengths = {name: len(values) for name, values in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise SchemaError(f"column arrays have different lengths: {detail}")
    count = next(iter(lengths.values())) if lengths else 0
    out = []
    for column in schema.columns:
        if column.name not in arrays:
            if not column.nullable and count:
                raise NotNullError(f"column {column.name!r} is NOT NULL but no values were given for it")
            filler = filler_for(column)
            values = np.full(count, filler, dtype=column.type.storage_dtype)
            out.append(ColumnData(values, np.ones(count, dtype=bool) if count else None))
            continue
        data = _array_to_storage(column, arrays[column.name], count)
        if data.nulls is not None and not data.nulls.any():
            data.nulls = None
        if data.nulls is not None and not column.nullable:
            row = int(np.flatnonzero(data.nulls)[0])
            raise NotNullError(f"row {row}: column {column.name!r} is NOT NULL but got NULL")
        out.append(data)
    return out, count


def _array_to_storage(column: Column, given: Any, count: int) -> ColumnData:
    ctype = column.type
    mask = None
    if isinstance(given, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(given).copy()
        given = given.filled(given.fill_value if given.dtype != object else None)
    array = np.asarray(given) if not isinstance(given, list) else _list_to_array(given)
    if array.ndim != 1:
        raise InvalidValueError(f"column {column.name!r}: expected a 1-D array, got shape {array.shape}")

    kind = array.dtype.kind
    if kind == "O" or (kind == "U" and ctype.base not in ("text",)) or kind == "S" and ctype.base != "blob":
        return _objects_to_storage(column, array, mask)
    base = ctype.base
    if base.startswith("int"):
        values = _ints(column, array)
    elif base in ("float32", "float64"):
        if kind not in "iuf":
            raise _bad_dtype(column, array)
        values = array.astype(ctype.storage_dtype)
        if base == "float32":
            overflow = np.isinf(values) & ~np.isinf(array)
            if overflow.any():
                row = int(np.flatnonzero(overflow)[0])
                raise InvalidValueError(f"row {row}: value {array[row]!r} for column {column.name!r} is out of float32 range")
    elif base == "bool":
        if kind == "b":
            values = array.astype(np.uint8)
        elif kind in "iu" and np.isin(array, (0, 1)).all():
            values = array.astype(np.uint8)
        else:
            raise _bad_dtype(column, array)
    elif base == "date":
        if kind != "M":
            raise _bad_dtype(column, array)
        nat = np.isnat(array)
        days = array.astype("datetime64[D]")
        inexact = (days != array) & ~nat
        if inexact.any():
            row = int(np.flatnonzero(inexact)[0])
            raise InvalidValueError(f"row {row}: value {array[row]} for date column {column.name!r} has a time of day")
        values = np.where(nat, 0, days.astype(np.int64))
        # datetime.date covers days -719162 (0001-01-01) .. 2932896 (9999-12-31).
        values = _check_range(column, values, -719162, 2932896).astype(np.int32)
        mask = nat if mask is None else (mask | nat)
    elif base == "timestamp":
        if kind != "M":
            raise _bad_dtype(column, array)
        nat = np.isnat(array)
        micros = array.astype("datetime64[us]")
        inexact = (micros != array) & ~nat
        if inexact.any():
            row = int(np.flatnonzero(inexact)[0])
            raise InvalidValueError(f"row {row}: value {array[row]} for column {column.name!r} is finer than microseconds")
        values = np.where(nat, 0, micros.astype(np.int64))
        mask = nat if mask is None else (mask | nat)
    elif base == "decimal":
        values = _decimals(column, array)
    elif base == "text":
        if kind != "U":
            raise _bad_dtype(column, array)
        values = array.astype(object)
    else:  # blob
        if kind != "S":
            raise _bad_dtype(column, array)
        values = np.array([bytes(v) for v in array.tolist()], dtype=object) if count else np.zeros(0, object)
    if mask is not None and mask.any():
        values = values.copy()
        values[mask] = filler_for(column)
    return ColumnData(np.ascontiguousarray(values), mask)


def _list_to_array(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _bad_dtype(column: Column, array: np.ndarray) -> InvalidValueError:
    return InvalidValueError(
        f"column {column.name!r} of type {column.type.name} cannot take an array of dtype {array.dtype}"
    )


def _check_range(column: Column, values: np.ndarray, low: int, high: int) -> np.ndarray:
    if len(values):
        bad = (values < low) | (values > high)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidValueError(
                f"row {row}: value {values[row]} for column {column.name!r} of type {column.type.name} "
                f"is out of range {low}..{high}"
            )
    return values


def _ints(column: Column, array: np.ndarray) -> np.ndarray:
    info = np.iinfo(column.type.storage_dtype)
    kind = array.dtype.kind
    if kind in "iu":
        if len(array):
            bad = np.flatnonzero((array < info.min) | (array > info.max))
            if len(bad):
                row = int(bad[0])
                raise InvalidValueError(
                    f"row {row}: value {array[row]} for column {column.name!r} of type {column.type.name} "
                    f"is out of range {info.min}..{info.max}"
                )
        return array.astype(column.type.storage_dtype)
    if kind == "f":
        bad = ~np.isfinite(array) | (array != np.round(array)) | (array < info.min) | (array > info.max)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidValueError(
                f"row {row}: value {array[row]!r} for column {column.name!r} of type {column.type.name} is not an integer in range"
            )
        return array.astype(column.type.storage_dtype)
    raise _bad_dtype(column, array)


def _decimals(column: Column, array: np.ndarray) -> np.ndarray:
    scale = column.type.scale
    limit = 10**column.type.precision
    kind = array.dtype.kind
    if kind in "iu":
        # Integer arrays are the batch form that scan_batches returns: counts
        # of 10**-scale, so a batch read from one table inserts unchanged
        # into another. Values above the precision are rejected.
        bad = np.flatnonzero((array >= limit) | (array <= -limit)) if len(array) else []
        if len(bad):
            row = int(bad[0])
            raise InvalidValueError(
                f"row {row}: scaled value {array[row]!r} for column {column.name!r} of type {column.type.name} "
                f"has more than {column.type.precision} digits; integer arrays for a decimal column hold "
                f"the value times 10**{scale}"
            )
        scaled = array.astype(np.int64)
    elif kind == "f":
        if not np.isfinite(array).all():
            row = int(np.flatnonzero(~np.isfinite(array))[0])
            raise InvalidValueError(f"row {row}: value {array[row]!r} for decimal column {column.name!r} is not finite")
        product = array.astype(np.float64) * (10**scale)
        if len(array) and np.abs(product).max() >= 2**53:
            return _objects_to_storage(column, array.astype(object), None).values
        scaled = np.rint(product).astype(np.int64)
        # A float is taken at its shortest decimal spelling; it must need no
        # more digits after the point than the column's scale.
        inexact = scaled / (10**scale) != array
        if inexact.any():
            row = int(np.flatnonzero(inexact)[0])
            raise InvalidValueError(
                f"row {row}: value {array[row]!r} for column {column.name!r} of type {column.type.name} "
                f"has more than {scale} digits after the point"
            )
    else:
        raise _bad_dtype(column, array)
    too_big = np.abs(scaled) >= limit
    if too_big.any():
        row = int(np.flatnonzero(too_big)[0])
        raise InvalidValueError(
            f"row {row}: value {array[row]!r} for column {column.name!r} of type {column.type.name} "
            f"has more than {column.type.precision} digits in all"
        )
    return scaled


def _objects_to_storage(column: Column, array: np.ndarray, mask: np.ndarray | None) -> ColumnData:
    count = len(array)
    values = np.empty(count, dtype=column.type.storage_dtype) if column.type.is_fixed else np.empty(count, dtype=object)
    nulls = np.zeros(count, dtype=bool) if mask is None else mask.copy()
    filler = filler_for(column)
    to_storage = column.type.to_storage
    converted = []
    for row, value in enumerate(array.tolist()):
        if nulls[row] or value is None:
            nulls[row] = True
            converted.append(filler)
            continue
        try:
            stored = to_storage(value, column.name)
        except InvalidValueError as exc:
            raise InvalidValueError(f"row {row}: {exc}") from None
        if stored is None:  # NaT
            nulls[row] = True
            stored = filler
        converted.append(stored)
    values[:] = converted
    return ColumnData(values, nulls)


# -- storage form -> user forms ------------------------------------------------


def to_batch_array(column: Column, data: ColumnData) -> np.ndarray:
    """Convert a storage-form column to the array that ``scan_batches`` yields.

    The array has the batch dtype and is masked where NULL. Nullable columns
    always come back as ``np.ma.MaskedArray`` so that the type of a column
    does not depend on whether a batch happens to contain a NULL. NOT NULL
    columns come back as plain arrays.
    """
    values = column.type.batch_view(data.values)
    if not column.nullable:
        return values
    mask = data.nulls if data.nulls is not None else np.ma.nomask
    return np.ma.MaskedArray(values, mask=mask)


def to_python_list(column: Column, data: ColumnData) -> list:
    """Convert a storage-form column to a list of Python-form values, None where NULL."""
    base = column.type.base
    values = data.values
    if base in ("int8", "int16", "int32", "int64", "float32", "float64", "text", "blob"):
        out = values.tolist()
    elif base == "bool":
        out = values.view(np.bool_).tolist()
    elif base == "date":
        out = values.astype("datetime64[D]").tolist()
    elif base == "timestamp":
        out = [EPOCH_DATETIME + _dt.timedelta(microseconds=v) for v in values.tolist()]
    else:  # decimal
        exponent = -column.type.scale
        make = decimal.Decimal
        out = [make(v).scaleb(exponent) for v in values.tolist()]
    if data.nulls is not None:
        for row in np.flatnonzero(data.nulls).tolist():
            out[row] = None
    return out
