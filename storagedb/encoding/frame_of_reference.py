"""Frame-of-reference encoding (``"for"``): the minimum, then offsets from it.

For integer kinds only. Every value is stored as ``value - reference``, where
the reference is the chunk's minimum, bit-packed at the width of the largest
difference. A chunk whose values are all equal packs in width 0.

The subtraction runs in uint64, where it cannot overflow: the difference of
two int64 values that are in order is below 2**64, so INT64_MIN next to
INT64_MAX packs in width 64 and decodes exactly.

Payload
-------

======  ========================  ==========  =================================
OFFSET  SIZE                      FIELD       MEANING
======  ========================  ==========  =================================
0       8                         reference   i64, the smallest value
8       1 + ceil(n x w / 8)       residuals   packed block of n values
                                              ``value - reference``
======  ========================  ==========  =================================

``n`` is the number of non-null values. Decoding rejects a reference outside
the kind's range and a residual that would carry a value past the kind's
maximum.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import CorruptChunkError
from . import bitpack
from .kinds import Kind
from .reader import PayloadReader

__all__ = ["HEADER", "encoded_size", "encode", "decode"]

# Frame-of-reference header: reference (8) = 8 bytes.
HEADER = struct.Struct("<q")
_UINT64_MASK = 2**64 - 1


def encoded_size(min_value: int, max_value: int, count: int) -> int:
    """Return the payload size from the value range alone."""
    return HEADER.size + bitpack.block_size(count, bitpack.bit_width(max_value - min_value))


def encode(values: np.ndarray, min_value: int, max_value: int) -> bytes:
    """Encode int64 ``values`` whose minimum and maximum are given."""
    residuals = values.view(np.uint64) - np.uint64(min_value & _UINT64_MASK)
    width = bitpack.bit_width(max_value - min_value)
    return HEADER.pack(min_value) + bitpack.write_block(residuals, width)


def decode(view: memoryview, count: int, kind: Kind) -> np.ndarray:
    """Decode a frame-of-reference payload of ``count`` values of ``kind``.

    Raises:
        CorruptChunkError: the payload size does not match, or a decoded
            value falls outside the kind's range.
    """
    reader = PayloadReader(view, "frame-of-reference payload")
    (reference,) = reader.unpack(HEADER, "reference")
    if not kind.min_value <= reference <= kind.max_value:
        raise CorruptChunkError(
            f"frame-of-reference value {reference} is outside the {kind.name} range "
            f"{kind.min_value}..{kind.max_value}"
        )
    residuals = bitpack.read_block(reader, count, "frame-of-reference residuals")
    reader.expect_end()
    if count:
        largest = int(residuals.max())
        if largest > kind.max_value - reference:
            raise CorruptChunkError(
                f"frame-of-reference residual {largest} added to {reference} exceeds "
                f"the {kind.name} maximum {kind.max_value}"
            )
    values = (residuals + np.uint64(reference & _UINT64_MASK)).view(np.int64)
    return values.astype(kind.dtype)


def take(view: memoryview, count: int, kind: Kind, indexes: np.ndarray) -> np.ndarray:
    """Decode only the values at ``indexes`` of a frame-of-reference payload.

    Raises:
        CorruptChunkError: as :func:`decode`, for the values it reads.
    """
    reader = PayloadReader(view, "frame-of-reference payload")
    (reference,) = reader.unpack(HEADER, "reference")
    if not kind.min_value <= reference <= kind.max_value:
        raise CorruptChunkError(
            f"frame-of-reference value {reference} is outside the {kind.name} range "
            f"{kind.min_value}..{kind.max_value}"
        )
    residuals = bitpack.take_block(reader, count, indexes, "frame-of-reference residuals")
    reader.expect_end()
    if len(residuals) and int(residuals.max()) > kind.max_value - reference:
        raise CorruptChunkError(
            f"frame-of-reference residual {int(residuals.max())} added to {reference} exceeds "
            f"the {kind.name} maximum {kind.max_value}"
        )
    return (residuals + np.uint64(reference & _UINT64_MASK)).view(np.int64).astype(kind.dtype)
