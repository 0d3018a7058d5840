"""Delta encoding: the first value, then the differences between neighbours.

For integer kinds only; it suits sorted or slowly changing columns (keys,
timestamps). The differences are taken in uint64, so they wrap modulo 2**64
instead of overflowing, and adding them back wraps to the exact values. An
alternation of INT64_MIN and INT64_MAX has differences 1 and -1 (as int64)
and packs in 2 bits. The smallest difference, read as int64, is subtracted
from all of them so that the residuals are non-negative and bit-pack narrowly.

Payload
-------

======  ==========================  ==========  ===============================
OFFSET  SIZE                        FIELD       MEANING
======  ==========================  ==========  ===============================
0       8                           first       i64, the first value (0 when
                                                there are no values)
8       8                           min_delta   i64, the smallest difference
                                                ``value[i+1] - value[i]``
                                                modulo 2**64, read as int64
16      1 + ceil((n-1) x w / 8)     residuals   packed block of n-1 values
                                                ``delta - min_delta`` mod 2**64
======  ==========================  ==========  ===============================

``n`` is the number of non-null values; with n of 0 or 1 the block holds no
values. Decoding rejects a first value or any decoded value outside the
kind's range.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import CorruptChunkError
from . import bitpack
from .kinds import Kind
from .reader import PayloadReader

__all__ = ["HEADER", "deltas", "encoded_size", "encode", "decode"]

# Delta header: first (8) + min_delta (8) = 16 bytes.
HEADER = struct.Struct("<qq")
_UINT64_MASK = 2**64 - 1


def deltas(values: np.ndarray) -> np.ndarray:
    """Return ``values[i+1] - values[i]`` of int64 values, wrapping, as int64."""
    unsigned = values.view(np.uint64)
    return (unsigned[1:] - unsigned[:-1]).view(np.int64)


def encoded_size(min_delta: int, max_delta: int, count: int) -> int:
    """Return the payload size from the smallest and largest delta."""
    residual_count = max(count - 1, 0)
    return HEADER.size + bitpack.block_size(residual_count, bitpack.bit_width(max_delta - min_delta))


def encode(values: np.ndarray, differences: np.ndarray) -> bytes:
    """Encode int64 ``values`` given their :func:`deltas`."""
    first = int(values[0]) if len(values) else 0
    min_delta = int(differences.min()) if len(differences) else 0
    max_delta = int(differences.max()) if len(differences) else 0
    residuals = differences.view(np.uint64) - np.uint64(min_delta & _UINT64_MASK)
    width = bitpack.bit_width(max_delta - min_delta)
    return HEADER.pack(first, min_delta) + bitpack.write_block(residuals, width)


def decode(view: memoryview, count: int, kind: Kind) -> np.ndarray:
    """Decode a delta payload of ``count`` values of ``kind``.

    Raises:
        CorruptChunkError: the payload size does not match, or a value falls
            outside the kind's range.
    """
    reader = PayloadReader(view, "delta payload")
    first, min_delta = reader.unpack(HEADER, "delta header")
    residuals = bitpack.read_block(reader, max(count - 1, 0), "delta residuals")
    reader.expect_end()
    if count == 0:
        return np.zeros(0, dtype=kind.dtype)
    if not kind.min_value <= first <= kind.max_value:
        raise CorruptChunkError(
            f"delta first value {first} is outside the {kind.name} range {kind.min_value}..{kind.max_value}"
        )

    steps = np.empty(count, dtype=np.uint64)
    steps[0] = first & _UINT64_MASK
    np.add(residuals, np.uint64(min_delta & _UINT64_MASK), out=steps[1:])
    values = np.cumsum(steps, dtype=np.uint64).view(np.int64)
    if kind.dtype.itemsize < 8 or not kind.is_signed:
        low, high = int(values.min()), int(values.max())
        if low < kind.min_value or high > kind.max_value:
            raise CorruptChunkError(
                f"delta payload decodes to values {low}..{high}, outside the {kind.name} "
                f"range {kind.min_value}..{kind.max_value}"
            )
    return values.astype(kind.dtype)
