"""Array groups: several typed arrays stored together as one byte string.

Segment metadata (zone maps, fence keys, page directories) is a handful of
arrays per column. An array group stores them as encoded column chunks
(``storagedb.encoding``) behind a small directory, so every array keeps its
type and NULL mask and is read back without trusting any size it has not
checked.

Array group (12 + 8 x count bytes of header, then the chunks):

======  ===========  ===========  ===========================================
OFFSET  SIZE         FIELD        MEANING
======  ===========  ===========  ===========================================
0       4            magic        ``b"SDBA"``
4       4            version      1
8       4            count        number of arrays
12      8 x count    lengths      u64 byte length of each chunk, in order
...     sum(lengths) chunks       the encoded chunks back to back
======  ===========  ===========  ===========================================
"""

from __future__ import annotations

import struct
from typing import Sequence

import numpy as np

from ..encoding import decode_chunk, encode_chunk
from ..errors import CorruptionError

__all__ = ["pack_arrays", "unpack_arrays", "GROUP_HEADER", "MAX_ARRAYS"]

GROUP_HEADER = struct.Struct("<4sII")
GROUP_HEADER_SIZE = 12  # 4 + 4 + 4
MAGIC = b"SDBA"
VERSION = 1
#: An array group never needs more arrays than this; a larger count read
#: from disk is corruption.
MAX_ARRAYS = 1 << 16


def pack_arrays(arrays: Sequence[tuple[np.ndarray, np.ndarray | None, str]], compression: str = "none") -> bytes:
    """Encode ``(values, nulls, kind)`` triples into one array group."""
    chunks = [encode_chunk(values, nulls, kind, compression=compression) for values, nulls, kind in arrays]
    header = GROUP_HEADER.pack(MAGIC, VERSION, len(chunks))
    lengths = struct.pack(f"<{len(chunks)}Q", *map(len, chunks))
    return b"".join((header, lengths, *chunks))


def unpack_arrays(data: bytes | np.ndarray, source: str = "?") -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Decode an array group into ``(values, nulls)`` pairs.

    Raises:
        CorruptionError: the header, a length or a chunk is invalid; the
            message names ``source``.
    """
    buffer = memoryview(data.tobytes() if isinstance(data, np.ndarray) else data)
    if len(buffer) < GROUP_HEADER_SIZE:
        raise CorruptionError(f"{source}: array group of {len(buffer)} bytes is shorter than its header")
    magic, version, count = GROUP_HEADER.unpack_from(buffer, 0)
    if magic != MAGIC or version != VERSION:
        raise CorruptionError(f"{source}: not an array group (magic {magic!r}, version {version})")
    if count > MAX_ARRAYS or GROUP_HEADER_SIZE + 8 * count > len(buffer):
        raise CorruptionError(f"{source}: array group declares {count} arrays, more than its {len(buffer)} bytes hold")
    lengths = struct.unpack_from(f"<{count}Q", buffer, GROUP_HEADER_SIZE)
    position = GROUP_HEADER_SIZE + 8 * count
    if position + sum(lengths) != len(buffer):
        raise CorruptionError(
            f"{source}: array group lengths add up to {position + sum(lengths)} bytes, the group has {len(buffer)}"
        )
    out = []
    for length in lengths:
        out.append(decode_chunk(buffer[position : position + length]))
        position += length
    return out
