"""Lightweight column encodings: pure functions of numpy arrays and bytes.

A *column chunk* holds one column's values for a run of rows, encoded with
one of six encodings (plain, order-preserving dictionary, run-length,
bit-packing, frame-of-reference, delta) and optionally compressed with zstd
or lz4. :func:`encode_chunk` picks the smallest encoding unless the caller names one;
:func:`decode_chunk` and :class:`ChunkView` read a chunk back. The byte
layouts are documented in each module and in ``docs/file-format.md`` (section "Column chunks").

This package depends on nothing in storagedb but :mod:`storagedb.errors`.

Example:
    >>> import numpy as np
    >>> values = np.array(["b", "a", "b"], dtype=object)
    >>> view = ChunkView(encode_chunk(values, None, "text", encoding="dictionary"))
    >>> view.encoding
    'dictionary+bitpack'
    >>> entries, codes = view.dictionary()
    >>> entries.tolist(), codes.tolist()
    (['a', 'b'], [1, 0, 1])
"""

from __future__ import annotations

from .chunk import AUTO_COMPRESSION_MIN_SAVING, decode_chunk, encode_chunk
from .compression import COMPRESSIONS, MAX_PAYLOAD_BYTES
from .header import ENCODINGS, FORMAT_VERSION, MAX_CHUNK_ROWS, ChunkHeader
from .kinds import KINDS
from .rle import MAX_RUN_LENGTH
from .view import ChunkView

__all__ = [
    "encode_chunk",
    "decode_chunk",
    "ChunkView",
    "ChunkHeader",
    "KINDS",
    "ENCODINGS",
    "COMPRESSIONS",
    "FORMAT_VERSION",
    "MAX_CHUNK_ROWS",
    "MAX_PAYLOAD_BYTES",
    "MAX_RUN_LENGTH",
    "AUTO_COMPRESSION_MIN_SAVING",
]
