"""Column types: names, storage representation and value conversion.

Every column value has three forms:

* the **Python form** a caller passes in and gets back from ``get`` and
  ``scan`` (``int``, ``float``, ``bool``, ``datetime.date``,
  ``datetime.datetime``, ``decimal.Decimal``, ``str``, ``bytes``);
* the **storage form**, what records, column chunks and encodings hold: a
  fixed-width number for every type but text and blob, which are byte strings;
* the **batch form** that ``scan_batches`` yields: a numpy array per column.

=============  ==========  ==============================  =====================
type           storage     meaning of the stored number    batch dtype
=============  ==========  ==============================  =====================
int8..int64    int8..int64 the value                       int8..int64
float32/64     float32/64  the value (IEEE 754)            float32/float64
bool           uint8       0 or 1                          bool
date           int32       days since 1970-01-01           datetime64[D]
timestamp      int64       microseconds since the Unix     datetime64[us]
                           epoch, UTC
decimal(p,s)   int64       value x 10**s (exact)           int64, scaled
text           bytes       UTF-8                           object (str)
blob           bytes       the bytes                       object (bytes)
=============  ==========  ==============================  =====================

Decimal columns come back from ``scan_batches`` as their scaled int64 so that
sums stay exact; divide by ``10**scale`` for floats.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import InvalidValueError, SchemaError

__all__ = [
    "ColumnType",
    "parse_type",
    "TYPE_CODES",
    "type_from_code",
    "EPOCH_DATE",
    "EPOCH_DATETIME",
    "MAX_DECIMAL_PRECISION",
]

#: Decimals are scaled int64 values, and 10**18 < 2**63 <= 10**19, so a
#: decimal of 18 digits always fits.
MAX_DECIMAL_PRECISION = 18

EPOCH_DATE = _dt.date(1970, 1, 1)
EPOCH_DATETIME = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_ORDINAL_EPOCH = EPOCH_DATE.toordinal()
_MIN_DAY = _dt.date.min.toordinal() - _ORDINAL_EPOCH
_MAX_DAY = _dt.date.max.toordinal() - _ORDINAL_EPOCH
_US_PER_DAY = 86_400_000_000
# datetime.datetime covers years 1..9999; the stored int64 could hold more,
# but values outside this range could not be returned as Python objects.
_MIN_MICROS = _MIN_DAY * _US_PER_DAY
_MAX_MICROS = (_MAX_DAY + 1) * _US_PER_DAY - 1

_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

# One-byte type codes stored in segment files; 0 is reserved as "no type".
TYPE_CODES = {
    "int8": 1,
    "int16": 2,
    "int32": 3,
    "int64": 4,
    "float32": 5,
    "float64": 6,
    "bool": 7,
    "date": 8,
    "timestamp": 9,
    "decimal": 10,
    "text": 11,
    "blob": 12,
}

_ALIASES = {
    "tinyint": "int8",
    "smallint": "int16",
    "int": "int32",
    "integer": "int64",
    "bigint": "int64",
    "real": "float32",
    "float": "float64",
    "double": "float64",
    "boolean": "bool",
    "datetime": "timestamp",
    "varchar": "text",
    "string": "text",
    "str": "text",
    "bytes": "blob",
    "numeric": "decimal",
}

_STORAGE_DTYPES = {
    "int8": np.dtype("<i1"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
    "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
    "bool": np.dtype("u1"),
    "date": np.dtype("<i4"),
    "timestamp": np.dtype("<i8"),
    "decimal": np.dtype("<i8"),
}

_STRUCT_CODES = {
    "int8": "b",
    "int16": "h",
    "int32": "i",
    "int64": "q",
    "float32": "f",
    "float64": "d",
    "bool": "B",
    "date": "i",
    "timestamp": "q",
    "decimal": "q",
}

_BATCH_DTYPES = {
    "bool": np.dtype(bool),
    "date": np.dtype("datetime64[D]"),
    "timestamp": np.dtype("datetime64[us]"),
}

_DECIMAL_RE = re.compile(r"^decimal\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A column type: its base name and, for decimals, precision and scale.

    Build one with :func:`parse_type`. ``name`` is the canonical spelling
    (``"int64"``, ``"decimal(12,2)"``); ``base`` drops the parameters.
    """

    base: str
    precision: int = 0
    scale: int = 0

    @property
    def name(self) -> str:
        if self.base == "decimal":
            return f"decimal({self.precision},{self.scale})"
        return self.base

    @property
    def code(self) -> int:
        """One-byte type code stored in segment files."""
        return TYPE_CODES[self.base]

    @property
    def is_fixed(self) -> bool:
        """True for every type whose storage form is a fixed-width number."""
        return self.base not in ("text", "blob")

    @property
    def is_integer_like(self) -> bool:
        """True when the storage form is an integer that orders like the value."""
        return self.base in ("int8", "int16", "int32", "int64", "date", "timestamp", "decimal")

    @property
    def is_float(self) -> bool:
        return self.base in ("float32", "float64")

    @property
    def int_range(self) -> tuple[int, int] | None:
        """``(lowest, highest)`` value of an integer type; None for the other types."""
        return _INT_RANGES.get(self.base)

    @property
    def storage_is_python(self) -> bool:
        """True when :meth:`from_storage` returns a non-NULL value unchanged."""
        return _FROM_STORAGE[self.base] is _identity

    @property
    def storage_dtype(self) -> np.dtype:
        """numpy dtype of the storage form; ``object`` for text and blob."""
        return _STORAGE_DTYPES.get(self.base, np.dtype(object))

    @property
    def batch_dtype(self) -> np.dtype:
        """numpy dtype of the arrays ``scan_batches`` yields for this type."""
        return _BATCH_DTYPES.get(self.base, self.storage_dtype)

    @property
    def struct_code(self) -> str:
        """``struct`` format character of the storage form (fixed types only)."""
        return _STRUCT_CODES[self.base]

    @property
    def itemsize(self) -> int:
        """Bytes of the storage form; 0 for variable-length types."""
        return self.storage_dtype.itemsize if self.is_fixed else 0

    def __str__(self) -> str:
        return self.name

    # -- Python form -> storage form ---------------------------------------

    def to_storage(self, value: Any, column: str = "?") -> Any:
        """Convert one Python value to its storage form.

        ``None`` passes through (NULL). ``column`` only names the column in
        error messages.

        Raises:
            InvalidValueError: the value has the wrong type, is out of range
                or does not parse; the message names the column and value.
        """
        if value is None:
            return None
        converter = _TO_STORAGE[self.base]
        return converter(self, value, column)

    def from_storage(self, value: Any) -> Any:
        """Convert one storage-form value back to its Python form."""
        if value is None:
            return None
        return _FROM_STORAGE[self.base](self, value)

    def from_storage_function(self) -> Callable[[Any], Any]:
        """Return :meth:`from_storage` for non-NULL values as a one-argument function.

        Row-at-a-time readers bind it once per table and skip the method call
        and the NULL test for every value.
        """
        return functools.partial(_FROM_STORAGE[self.base], self)

    def parse_text(self, text: str, column: str = "?") -> Any:
        """Parse a literal written as text (a CLI argument) to storage form."""
        if self.base in ("text",):
            return text
        if self.base == "blob":
            return text.encode("utf-8")
        return self.to_storage(text, column)

    def batch_view(self, storage: np.ndarray) -> np.ndarray:
        """Return a storage-form array as this type's batch dtype.

        No copy is made except for dates, whose int32 days widen to the
        8-byte ``datetime64[D]``.
        """
        if self.base == "bool":
            return storage.view(np.bool_)
        if self.base == "timestamp":
            return storage.view(self.batch_dtype)
        if self.base == "date":
            return storage.astype(self.batch_dtype)
        return storage


def parse_type(text: str) -> ColumnType:
    """Parse a type name such as ``"int64"``, ``"text"`` or ``"decimal(12,2)"``.

    Common SQL spellings are accepted as aliases (``bigint``, ``double``,
    ``varchar``, ``numeric(p,s)``). Matching ignores case and surrounding
    blanks.

    Raises:
        SchemaError: unknown name, or a decimal's precision or scale out of
            range.
    """
    if not isinstance(text, str):
        raise SchemaError(f"column type must be a string such as 'int64', not {text!r}")
    name = text.strip().lower()
    name = re.sub(r"^(varchar|char|text)\s*\(\s*\d+\s*\)$", "text", name)
    match = re.match(r"^([a-z]+)\s*(\(.*\))?$", name)
    if match and match.group(1) in _ALIASES:
        name = _ALIASES[match.group(1)] + (match.group(2) or "")
    if name in TYPE_CODES and name != "decimal":
        return ColumnType(name)
    match = _DECIMAL_RE.match(name)
    if match:
        precision = int(match.group(1))
        scale = int(match.group(2) or 0)
        if not 1 <= precision <= MAX_DECIMAL_PRECISION:
            raise SchemaError(
                f"decimal precision {precision} in {text!r} is out of range: "
                f"use 1 to {MAX_DECIMAL_PRECISION} digits (values are scaled int64)"
            )
        if scale > precision:
            raise SchemaError(f"decimal scale {scale} in {text!r} exceeds its precision {precision}")
        return ColumnType("decimal", precision, scale)
    if name == "decimal":
        return ColumnType("decimal", MAX_DECIMAL_PRECISION, 0)
    known = ", ".join(sorted(set(TYPE_CODES) - {"decimal"}) + ["decimal(p,s)"])
    raise SchemaError(f"unknown column type {text!r}; known types: {known}")


def type_from_code(code: int, precision: int = 0, scale: int = 0) -> ColumnType:
    """Rebuild a ColumnType from its on-disk code (the inverse of ``.code``)."""
    for base, known in TYPE_CODES.items():
        if known == code:
            if base == "decimal":
                if not 1 <= precision <= MAX_DECIMAL_PRECISION or scale > precision:
                    raise SchemaError(f"invalid decimal({precision},{scale}) in a stored schema")
                return ColumnType("decimal", precision, scale)
            return ColumnType(base)
    raise SchemaError(f"unknown type code {code} in a stored schema")


# -- conversions -------------------------------------------------------------


def _wrong(value: Any, ctype: ColumnType, column: str, reason: str = "") -> InvalidValueError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    detail = f": {reason}" if reason else ""
    return InvalidValueError(f"invalid value {shown} for column {column!r} of type {ctype.name}{detail}")


def _int_to_storage(ctype: ColumnType, value: Any, column: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise _wrong(value, ctype, column, "a bool is not an integer")
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            raise _wrong(value, ctype, column, "not an integer")
        number = int(value)
    elif isinstance(value, decimal.Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise _wrong(value, ctype, column, "not an integer")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        # int() accepts "1_000"; a data value with underscores is more likely a mistake.
        if "_" in text:
            raise _wrong(value, ctype, column, "not an integer")
        try:
            number = int(text)
        except ValueError:
            raise _wrong(value, ctype, column, "not an integer") from None
    else:
        raise _wrong(value, ctype, column, f"expected an integer, got {type(value).__name__}")
    low, high = _INT_RANGES[ctype.base]
    if not low <= number <= high:
        raise _wrong(value, ctype, column, f"out of range {low}..{high}")
    return number


def _float_to_storage(ctype: ColumnType, value: Any, column: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise _wrong(value, ctype, column, "a bool is not a number")
    if isinstance(value, (int, float, np.integer, np.floating, decimal.Decimal)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _wrong(value, ctype, column, "not a number") from None
    else:
        raise _wrong(value, ctype, column, f"expected a number, got {type(value).__name__}")
    if ctype.base == "float32" and math.isfinite(number):
        stored = float(np.float32(number))
        if math.isinf(stored):
            raise _wrong(value, ctype, column, "out of float32 range")
        return stored
    return number


def _bool_to_storage(ctype: ColumnType, value: Any, column: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise _wrong(value, ctype, column, "expected true or false")
    raise _wrong(value, ctype, column, f"expected a bool, got {type(value).__name__}")


def _date_to_storage(ctype: ColumnType, value: Any, column: str) -> int:
    if isinstance(value, _dt.datetime):
        if value.time() != _dt.time(0) or value.tzinfo is not None:
            raise _wrong(value, ctype, column, "a date column takes a date, not a time of day")
        value = value.date()
    if isinstance(value, _dt.date):
        return value.toordinal() - _ORDINAL_EPOCH
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None  # type: ignore[return-value]
        day = int(value.astype("datetime64[D]").astype(np.int64))
        if value != value.astype("datetime64[D]"):
            raise _wrong(value, ctype, column, "a date column takes a date, not a time of day")
        if not _MIN_DAY <= day <= _MAX_DAY:
            raise _wrong(value, ctype, column, "outside years 1 to 9999")
        return day
    if isinstance(value, str):
        try:
            parsed = _dt.date.fromisoformat(value.strip())
        except ValueError:
            raise _wrong(value, ctype, column, "expected a date as YYYY-MM-DD") from None
        return parsed.toordinal() - _ORDINAL_EPOCH
    raise _wrong(value, ctype, column, f"expected a date, got {type(value).__name__}")


def _timestamp_to_storage(ctype: ColumnType, value: Any, column: str) -> int:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise _wrong(value, ctype, column, "expected an ISO 8601 timestamp") from None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None  # type: ignore[return-value]
        micros = int(value.astype("datetime64[us]").astype(np.int64))
        if value != value.astype("datetime64[us]"):
            raise _wrong(value, ctype, column, "finer than microseconds")
        if not _MIN_MICROS <= micros <= _MAX_MICROS:
            raise _wrong(value, ctype, column, "outside years 1 to 9999")
        return micros
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - EPOCH_DATETIME
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, _dt.date):
        return (value.toordinal() - _ORDINAL_EPOCH) * _US_PER_DAY
    raise _wrong(value, ctype, column, f"expected a timestamp, got {type(value).__name__}")


def _decimal_to_storage(ctype: ColumnType, value: Any, column: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise _wrong(value, ctype, column, "a bool is not a number")
    if isinstance(value, (int, np.integer)):
        exact = decimal.Decimal(int(value))
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise _wrong(value, ctype, column, "not a finite number")
        exact = decimal.Decimal(repr(float(value)))
    elif isinstance(value, decimal.Decimal):
        exact = value
    elif isinstance(value, str):
        try:
            exact = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            raise _wrong(value, ctype, column, "not a decimal number") from None
    else:
        raise _wrong(value, ctype, column, f"expected a decimal, got {type(value).__name__}")
    return decimal_to_scaled(exact, ctype, column, value)


def decimal_to_scaled(exact: decimal.Decimal, ctype: ColumnType, column: str, shown: Any) -> int:
    """Scale an exact Decimal to the column's int64 storage form, or raise."""
    if not exact.is_finite():
        raise _wrong(shown, ctype, column, "not a finite number")
    sign, digits, exponent = exact.as_tuple()
    assert isinstance(exponent, int)
    if exponent < -ctype.scale:
        # Trailing zeros beyond the scale (1.500 in a scale-2 column) are exact.
        excess = -ctype.scale - exponent
        if any(digits[-excess:]):
            raise _wrong(shown, ctype, column, f"more than {ctype.scale} digits after the point")
    scaled = int(exact.scaleb(ctype.scale, context=_EXACT))
    if abs(scaled) >= 10**ctype.precision:
        raise _wrong(shown, ctype, column, f"more than {ctype.precision} digits in all")
    return scaled


_EXACT = decimal.Context(prec=60, traps=[decimal.Inexact, decimal.InvalidOperation])


def _text_to_storage(ctype: ColumnType, value: Any, column: str) -> str:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _wrong(value, ctype, column, "not valid Unicode (lone surrogate)") from None
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _wrong(bytes(value), ctype, column, f"invalid UTF-8 at byte {exc.start}") from None
    if isinstance(value, np.str_):
        return str(value)
    raise _wrong(value, ctype, column, f"expected text, got {type(value).__name__}")


def _blob_to_storage(ctype: ColumnType, value: Any, column: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise _wrong(value, ctype, column, f"expected bytes, got {type(value).__name__}")


_TO_STORAGE = {
    "int8": _int_to_storage,
    "int16": _int_to_storage,
    "int32": _int_to_storage,
    "int64": _int_to_storage,
    "float32": _float_to_storage,
    "float64": _float_to_storage,
    "bool": _bool_to_storage,
    "date": _date_to_storage,
    "timestamp": _timestamp_to_storage,
    "decimal": _decimal_to_storage,
    "text": _text_to_storage,
    "blob": _blob_to_storage,
}


def _identity(ctype: ColumnType, value: Any) -> Any:
    return value


def _date_from_storage(ctype: ColumnType, value: int) -> _dt.date:
    return _dt.date.fromordinal(value + _ORDINAL_EPOCH)


def _timestamp_from_storage(ctype: ColumnType, value: int) -> _dt.datetime:
    return EPOCH_DATETIME + _dt.timedelta(microseconds=value)


def _decimal_from_storage(ctype: ColumnType, value: int) -> decimal.Decimal:
    return decimal.Decimal(value).scaleb(-ctype.scale)


_FROM_STORAGE = {
    "int8": _identity,
    "int16": _identity,
    "int32": _identity,
    "int64": _identity,
    "float32": _identity,
    "float64": _identity,
    "bool": lambda ctype, value: bool(value),
    "date": _date_from_storage,
    "timestamp": _timestamp_from_storage,
    "decimal": _decimal_from_storage,
    "text": _identity,
    "blob": _identity,
}
