"""Value kinds that column chunks store, and the numpy forms of their values.

A *kind* is the storage form of a column type as the encodings see it. Dates,
timestamps and decimals arrive as ``int32`` or ``int64``, and bool arrives as
``uint8`` holding 0 or 1, so nine kinds cover every column type:

=======  ==  ==========  ========  =============================================
kind     id  dtype       itemsize  encodings
=======  ==  ==========  ========  =============================================
int8     1   ``<i1``     1         all six
int16    2   ``<i2``     2         all six
int32    3   ``<i4``     4         all six
int64    4   ``<i8``     8         all six
float32  5   ``<f4``     4         plain, dictionary, rle
float64  6   ``<f8``     8         plain, dictionary, rle
uint8    7   ``u1``      1         all six
text     8   object      0         plain, dictionary, rle (values are ``str``)
blob     9   object      0         plain, dictionary, rle (values are ``bytes``)
=======  ==  ==========  ========  =============================================

The id is the one-byte kind field of the chunk header; 0 is reserved. Integer
kinds are handled in an int64 *domain* (uint8 fits in it), and floats are
compared by their bit patterns, so that -0.0 and +0.0, and NaNs with different
payloads, stay distinct.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError

__all__ = ["Kind", "KINDS", "KINDS_BY_ID", "get_kind", "float_bit_patterns"]


@dataclass(frozen=True, slots=True)
class Kind:
    """One value kind: its name, header id, dtype and integer range."""

    name: str
    kind_id: int
    dtype: np.dtype
    #: Smallest and largest value of an integer kind; 0, 0 for the others.
    min_value: int = 0
    max_value: int = 0

    @property
    def itemsize(self) -> int:
        """Bytes per value in plain form; 0 for text and blob."""
        return 0 if self.is_variable else self.dtype.itemsize

    @property
    def is_integer(self) -> bool:
        return self.dtype.kind in "iu"

    @property
    def is_signed(self) -> bool:
        return self.dtype.kind == "i"

    @property
    def is_float(self) -> bool:
        return self.dtype.kind == "f"

    @property
    def is_variable(self) -> bool:
        """True for text and blob, whose values are byte strings of any length."""
        return self.dtype.kind == "O"

    @property
    def bit_dtype(self) -> np.dtype:
        """Unsigned dtype of the same width, for comparing float bit patterns."""
        return np.dtype(f"<u{self.dtype.itemsize}")


def _integer_kind(name: str, kind_id: int, code: str) -> Kind:
    info = np.iinfo(np.dtype(code))
    return Kind(name, kind_id, np.dtype(code), int(info.min), int(info.max))


KINDS: dict[str, Kind] = {
    "int8": _integer_kind("int8", 1, "<i1"),
    "int16": _integer_kind("int16", 2, "<i2"),
    "int32": _integer_kind("int32", 3, "<i4"),
    "int64": _integer_kind("int64", 4, "<i8"),
    "float32": Kind("float32", 5, np.dtype("<f4")),
    "float64": Kind("float64", 6, np.dtype("<f8")),
    "uint8": _integer_kind("uint8", 7, "u1"),
    "text": Kind("text", 8, np.dtype(object)),
    "blob": Kind("blob", 9, np.dtype(object)),
}

KINDS_BY_ID: dict[int, Kind] = {kind.kind_id: kind for kind in KINDS.values()}


def get_kind(name: str) -> Kind:
    """Return the kind called ``name``.

    Raises:
        InvalidInputError: ``name`` is not one of the nine kinds.
    """
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        known = ", ".join(KINDS)
        raise InvalidInputError(f"unknown value kind {name!r}; expected one of: {known}") from None


def float_bit_patterns(values: np.ndarray, kind: Kind) -> np.ndarray:
    """Return the unsigned bit patterns of float values, without copying.

    Comparing patterns keeps -0.0 apart from +0.0 and makes NaN equal to a NaN
    with the same payload, which ``==`` on floats does not.
    """
    return np.ascontiguousarray(values, dtype=kind.dtype).view(kind.bit_dtype)
