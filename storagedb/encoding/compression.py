"""General-purpose compression of an encoded payload: zstd or lz4.

Compression runs over the payload of an encoding (after bit-packing or
dictionary coding), never over the chunk header or the null bitmap, so those
stay readable without decompressing.

* zstd at level 1. Higher levels gained at most 7% on lineitem columns at a
  multiple of the time, so level 1 is fixed. Each frame records its content
  size.
* lz4 block format without a stored size (the chunk header has it); it
  decompresses about 3x faster than zstd, at a lower ratio.

Decompression never trusts the stored data for the output size: the caller
passes the uncompressed size from the chunk header, which it has already
checked against :data:`MAX_PAYLOAD_BYTES`, and the output must come out at
exactly that size. A zstd frame whose declared content size differs is
rejected before any output is allocated.

zstd compressor and decompressor objects are reused per thread
(``threading.local``): creating one per call costs 1.6x to 3x on small
payloads, and one object must not be used by two threads at once.
"""

from __future__ import annotations

import threading

import lz4.block
import zstandard

from ..errors import CorruptChunkError

__all__ = ["COMPRESSIONS", "ZSTD_LEVEL", "MAX_PAYLOAD_BYTES", "compress", "decompress"]

#: Compression names and their one-byte ids in the chunk header; 0 is "none".
COMPRESSIONS = {"none": 0, "zstd": 1, "lz4": 2}

ZSTD_LEVEL = 1

#: Largest encoded payload of one chunk, compressed or not: 256 MiB. A chunk
#: header declaring more is rejected before anything is allocated.
MAX_PAYLOAD_BYTES = 256 * 1024 * 1024

_per_thread = threading.local()


def _zstd_compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_per_thread, "compressor", None)
    if compressor is None:
        compressor = _per_thread.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return compressor


def _zstd_decompressor() -> zstandard.ZstdDecompressor:
    decompressor = getattr(_per_thread, "decompressor", None)
    if decompressor is None:
        decompressor = _per_thread.decompressor = zstandard.ZstdDecompressor()
    return decompressor


def compress(payload: bytes, compression: str) -> bytes:
    """Compress ``payload`` with ``"zstd"`` or ``"lz4"``; ``"none"`` returns it."""
    if compression == "zstd":
        return _zstd_compressor().compress(payload)
    if compression == "lz4":
        return lz4.block.compress(payload, store_size=False)
    return payload


def decompress(data: memoryview, compression: str, size: int) -> bytes:
    """Decompress ``data`` into exactly ``size`` bytes.

    ``size`` comes from the chunk header and must already be checked against
    the limits; no more than ``size`` bytes are ever allocated.

    Raises:
        CorruptChunkError: the data does not decompress, or decompresses to a
            size other than ``size``.
    """
    if compression == "zstd":
        output = _decompress_zstd(data, size)
    elif compression == "lz4":
        output = _decompress_lz4(data, size)
    else:
        output = bytes(data)
    if len(output) != size:
        raise CorruptChunkError(
            f"{compression} payload decompressed to {len(output)} bytes, expected {size}"
        )
    return output


def _decompress_zstd(data: memoryview, size: int) -> bytes:
    try:
        declared = zstandard.get_frame_parameters(data).content_size
    except zstandard.ZstdError as exc:
        raise CorruptChunkError(f"zstd frame header is invalid: {exc}") from None
    # zstandard 0.25 allocates the content size that a frame declares and
    # ignores max_output_size, so the declared size is checked first.
    if declared != size:
        raise CorruptChunkError(f"zstd frame declares {declared} bytes, expected {size}")
    try:
        return _zstd_decompressor().decompress(data, max_output_size=size, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise CorruptChunkError(f"zstd payload does not decompress: {exc}") from None


#: An lz4 block expands at most 255 times, because a sequence can copy at
#: most 255 bytes per length byte. A larger claimed size means the payload is
#: damaged, so it is rejected before the output is allocated.
LZ4_MAX_EXPANSION = 255


def _decompress_lz4(data: memoryview, size: int) -> bytes:
    if size > LZ4_MAX_EXPANSION * len(data) + LZ4_MAX_EXPANSION:
        raise CorruptChunkError(
            f"lz4 payload of {len(data)} bytes claims {size} uncompressed bytes, "
            f"more than {LZ4_MAX_EXPANSION} times its size"
        )
    if size == 0:
        # lz4 compresses an empty payload to the single byte 0.
        if bytes(data) != b"\x00":
            raise CorruptChunkError(f"lz4 payload of {len(data)} bytes for 0 uncompressed bytes")
        return b""
    try:
        return lz4.block.decompress(data, uncompressed_size=size)
    except lz4.block.LZ4BlockError as exc:
        raise CorruptChunkError(f"lz4 payload does not decompress: {exc}") from None
