"""The column chunk header: its layout, its limits and its validation.

A chunk is self-describing: a fixed header, a null bitmap when the chunk has
NULLs, and the payload of one encoding, possibly compressed::

    chunk := header null_bitmap? payload

All integers are little-endian.

Header (28 bytes)
-----------------

======  ====  ===================  ============================================
OFFSET  SIZE  FIELD                MEANING
======  ====  ===================  ============================================
0       1     format_version       1; any other value is rejected
1       1     kind                 value kind id, 1..9 (see ``kinds``)
2       1     encoding             1 plain, 2 dictionary, 3 rle, 4 bitpack,
                                   5 delta, 6 for
3       1     code_encoding        dictionary only: 4 bitpack or 3 rle codes;
                                   0 for every other encoding
4       1     compression          0 none, 1 zstd, 2 lz4
5       1     flags                bit 0: a null bitmap follows the header;
                                   bits 1..7 reserved, 0
6       2     reserved             0
8       4     row_count            u32 rows, NULLs included; at most
                                   MAX_CHUNK_ROWS
12      4     null_count           u32 NULL rows; 0 exactly when bit 0 of
                                   flags is clear
16      4     plain_size           u32 bytes the non-null values take in plain
                                   encoding (``ChunkView.raw_bytes``); checked
                                   for fixed-width kinds only
20      4     payload_size         u32 bytes of the payload before
                                   compression; at most MAX_PAYLOAD_BYTES
24      4     stored_payload_size  u32 bytes of the payload as stored; equal
                                   to payload_size when not compressed
======  ====  ===================  ============================================

Id 0 is reserved in the kind, encoding and code-encoding fields.

Null bitmap
-----------
Present only when the chunk has NULLs: ``ceil(row_count / 8)`` bytes, bit
*i* (``np.packbits(..., bitorder="little")`` order) set when row *i* is NULL.
The high bits of the last byte are ignored.

Payload
-------
The payload contains only the non-null values, in row order, in the layout
of its encoding (documented in the encoding's module: ``plain``,
``dictionary``, ``rle``, ``bitpack``, ``frame_of_reference``, ``delta``).
Bytes after the payload are not part of the chunk, so a chunk may be read
from a buffer that continues past it, such as the rest of a page.
``ChunkView.stored_bytes`` is the chunk's length. :mod:`.chunk` writes
chunks and :mod:`.view` reads them.

Limits that keep a damaged chunk from allocating without bound:

* ``row_count`` at most :data:`MAX_CHUNK_ROWS` (4,194,304);
* ``payload_size`` at most :data:`MAX_PAYLOAD_BYTES` (256 MiB) for every kind,
  and for fixed-width kinds at most ``64 + values x (itemsize + 8)``, more
  than any encoding needs (dictionary with run-length codes, the largest,
  takes at most ``itemsize + 5`` bytes per value plus 16 bytes of headers).

Both are checked before anything is decompressed or allocated.

NOTE: the chunk carries no checksum of its own; the page checksums of the
storage layer cover its bytes on disk.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from ..errors import CorruptChunkError
from .compression import COMPRESSIONS, MAX_PAYLOAD_BYTES
from .kinds import KINDS_BY_ID, Kind

__all__ = [
    "FORMAT_VERSION",
    "HEADER",
    "ENCODINGS",
    "ENCODING_NAMES",
    "COMPRESSION_NAMES",
    "INTEGER_ONLY_ENCODINGS",
    "FLAG_NULLS",
    "MAX_CHUNK_ROWS",
    "MAX_PAYLOAD_BYTES",
    "ChunkHeader",
    "check_header",
]

FORMAT_VERSION = 1

# Chunk header: format_version (1) + kind (1) + encoding (1) + code_encoding (1)
# + compression (1) + flags (1) + reserved (2) + row_count (4) + null_count (4)
# + plain_size (4) + payload_size (4) + stored_payload_size (4) = 28 bytes.
HEADER = struct.Struct("<BBBBBBHIIIII")

#: Encoding names and their ids in the header; 0 is reserved.
ENCODINGS = {"plain": 1, "dictionary": 2, "rle": 3, "bitpack": 4, "delta": 5, "for": 6}
ENCODING_NAMES = {number: name for name, number in ENCODINGS.items()}
COMPRESSION_NAMES = {number: name for name, number in COMPRESSIONS.items()}
INTEGER_ONLY_ENCODINGS = frozenset({"bitpack", "delta", "for"})

#: Maximum rows in one chunk: 4,194,304. It bounds what a damaged run-length
#: chunk can make the decoder allocate (32 MiB of int64).
MAX_CHUNK_ROWS = 1 << 22

FLAG_NULLS = 0x01

# Largest payload a fixed-width chunk may declare: 64 bytes of encoding
# headers plus itemsize + 8 bytes per non-null value. The largest encoding,
# dictionary with run-length codes, needs at most 16 + n x (itemsize + 5).
_PAYLOAD_HEADER_ALLOWANCE = 64
_PAYLOAD_SLACK_PER_VALUE = 8


class ChunkHeader(NamedTuple):
    """The fields of a chunk header, in on-disk order."""

    format_version: int
    kind: int
    encoding: int
    code_encoding: int
    compression: int
    flags: int
    reserved: int
    row_count: int
    null_count: int
    plain_size: int
    payload_size: int
    stored_payload_size: int


def check_header(header: ChunkHeader) -> Kind:
    """Validate every header field on its own and against the others; return the kind.

    Raises:
        CorruptChunkError: a field contains a reserved or impossible value,
            or exceeds a limit. The message names the field and both values.
    """
    if header.format_version != FORMAT_VERSION:
        raise CorruptChunkError(
            f"chunk format version is {header.format_version}, expected {FORMAT_VERSION}; "
            "the chunk is damaged or was written by a newer storagedb"
        )
    kind = KINDS_BY_ID.get(header.kind)
    if kind is None:
        raise CorruptChunkError(f"chunk kind id {header.kind} is unknown (expected 1..{len(KINDS_BY_ID)})")
    encoding = ENCODING_NAMES.get(header.encoding)
    if encoding is None:
        raise CorruptChunkError(f"chunk encoding id {header.encoding} is unknown (expected 1..{len(ENCODINGS)})")
    if encoding in INTEGER_ONLY_ENCODINGS and not kind.is_integer:
        raise CorruptChunkError(f"chunk encoding {encoding} cannot hold kind {kind.name}")
    _check_code_encoding(encoding, header.code_encoding)
    if header.compression not in COMPRESSION_NAMES:
        raise CorruptChunkError(f"chunk compression id {header.compression} is unknown (expected 0..2)")
    if header.flags & ~FLAG_NULLS or header.reserved:
        raise CorruptChunkError(
            f"chunk header reserved bits are set: flags 0x{header.flags:02x}, reserved 0x{header.reserved:04x}"
        )
    _check_counts(header, kind)
    return kind


def _check_code_encoding(encoding: str, code_encoding: int) -> None:
    if encoding == "dictionary":
        if code_encoding not in (ENCODINGS["bitpack"], ENCODINGS["rle"]):
            raise CorruptChunkError(
                f"dictionary code encoding id {code_encoding} is invalid "
                f"(expected {ENCODINGS['bitpack']} bitpack or {ENCODINGS['rle']} rle)"
            )
    elif code_encoding:
        raise CorruptChunkError(f"code encoding id {code_encoding} is set on a {encoding} chunk (expected 0)")


def _check_counts(header: ChunkHeader, kind: Kind) -> None:
    if header.row_count > MAX_CHUNK_ROWS:
        raise CorruptChunkError(f"chunk declares {header.row_count} rows, above the limit of {MAX_CHUNK_ROWS}")
    if header.null_count > header.row_count:
        raise CorruptChunkError(f"chunk declares {header.null_count} NULLs in {header.row_count} rows")
    if bool(header.flags & FLAG_NULLS) != (header.null_count > 0):
        raise CorruptChunkError(
            f"chunk null flag is {header.flags & FLAG_NULLS} but null_count is {header.null_count}"
        )
    value_count = header.row_count - header.null_count
    limit = MAX_PAYLOAD_BYTES
    if not kind.is_variable:
        limit = min(limit, _PAYLOAD_HEADER_ALLOWANCE + value_count * (kind.itemsize + _PAYLOAD_SLACK_PER_VALUE))
        if header.plain_size != value_count * kind.itemsize:
            raise CorruptChunkError(
                f"chunk plain size is {header.plain_size} bytes, expected {value_count * kind.itemsize} "
                f"for {value_count} {kind.name} values"
            )
    if header.payload_size > limit:
        raise CorruptChunkError(
            f"chunk declares a payload of {header.payload_size} bytes, above the limit of {limit} bytes "
            f"for {value_count} {kind.name} values"
        )
    if header.stored_payload_size > MAX_PAYLOAD_BYTES:
        raise CorruptChunkError(
            f"chunk declares a stored payload of {header.stored_payload_size} bytes, above the limit "
            f"of {MAX_PAYLOAD_BYTES}"
        )
    if header.compression == COMPRESSIONS["none"] and header.stored_payload_size != header.payload_size:
        raise CorruptChunkError(
            f"uncompressed chunk stores {header.stored_payload_size} payload bytes but declares "
            f"{header.payload_size}"
        )
