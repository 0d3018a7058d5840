"""The common page header that starts every page of every storagedb file.

All integers in storagedb files are little-endian.

Common page header (24 bytes = 4 + 1 + 1 + 2 + 8 + 4 + 4):

======  ====  ==========  ===================================================
OFFSET  SIZE  FIELD       MEANING
======  ====  ==========  ===================================================
0       4     checksum    CRC32 of bytes 4 .. page_size-1 of this page
4       1     page_type   one of :class:`PageType`
5       1     flags       reserved, 0
6       2     reserved    0
8       8     lsn         LSN of the last log record that changed the page
                          (0 for pages no log record describes)
16      4     page_no     the page's own number, so a page written at the
                          wrong offset fails the read check
20      4     reserved    0; keeps the body 8-byte aligned
======  ====  ==========  ===================================================

The checksum is computed when a page is written to disk and checked when it
is read back, so pages in buffer-pool frames do not keep it current. The
checksum sits first so that one contiguous slice covers everything it
protects.
"""

from __future__ import annotations

import enum
import struct
import zlib
from typing import NamedTuple, NewType

__all__ = [
    "PageId",
    "FrameId",
    "FileId",
    "PageType",
    "PAGE_HEADER",
    "PAGE_HEADER_SIZE",
    "PageHeader",
    "DEFAULT_PAGE_SIZE",
    "MIN_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "validate_page_size",
    "page_checksum",
    "stamp_page",
    "read_header",
]

#: A page number inside one file (page 0 is the file header).
PageId = NewType("PageId", int)
#: An index into the buffer pool's frames.
FrameId = NewType("FrameId", int)
#: A file registered with a buffer pool.
FileId = NewType("FileId", int)

DEFAULT_PAGE_SIZE = 4096
MIN_PAGE_SIZE = 1024
#: Slotted pages store offsets and lengths in u16 with the top bit of the
#: length used as a flag, so a page may be at most 32 KiB.
MAX_PAGE_SIZE = 32768

PAGE_HEADER = struct.Struct("<IBBHQII")
PAGE_HEADER_SIZE = 24  # 4 + 1 + 1 + 2 + 8 + 4 + 4
_CHECKSUM = struct.Struct("<I")
_TYPE_OFFSET = 4
_LSN = struct.Struct("<Q")
_LSN_OFFSET = 8
_PAGE_NO = struct.Struct("<I")
_PAGE_NO_OFFSET = 16


class PageType(enum.IntEnum):
    """The ``page_type`` byte. 0 is reserved so an all-zero page is never valid."""

    FILE_HEADER = 1
    FREE = 2
    SLOTTED = 3
    OVERFLOW = 4
    RUN = 5  # one page of a page run: a byte stream spread over consecutive pages


class PageHeader(NamedTuple):
    checksum: int
    page_type: int
    flags: int
    lsn: int
    page_no: int


def validate_page_size(page_size: int) -> int:
    """Return ``page_size`` if it is a power of two in the supported range.

    Raises:
        ValueError: for any other size.
    """
    if (
        not isinstance(page_size, int)
        or page_size < MIN_PAGE_SIZE
        or page_size > MAX_PAGE_SIZE
        or page_size & (page_size - 1)
    ):
        raise ValueError(
            f"page size {page_size!r} is not supported: use a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}"
        )
    return page_size


def page_checksum(page: memoryview) -> int:
    """CRC32 of everything after the checksum field."""
    return zlib.crc32(page[4:])


def stamp_page(page: memoryview, page_no: int) -> None:
    """Write ``page_no`` and the checksum into a page image about to go to disk."""
    _PAGE_NO.pack_into(page, _PAGE_NO_OFFSET, page_no)
    _CHECKSUM.pack_into(page, 0, zlib.crc32(page[4:]))


def init_page(page: memoryview, page_type: int, page_no: int) -> None:
    """Zero a page image and write a fresh common header into it."""
    page[:] = bytes(len(page))
    PAGE_HEADER.pack_into(page, 0, 0, page_type, 0, 0, 0, page_no, 0)


def read_header(page: memoryview) -> PageHeader:
    checksum, page_type, flags, _reserved, lsn, page_no, _reserved2 = PAGE_HEADER.unpack_from(page, 0)
    return PageHeader(checksum, page_type, flags, lsn, page_no)


def page_type_of(page: memoryview) -> int:
    return page[_TYPE_OFFSET]


def page_lsn(page: memoryview) -> int:
    return _LSN.unpack_from(page, _LSN_OFFSET)[0]


def set_page_lsn(page: memoryview, lsn: int) -> None:
    _LSN.pack_into(page, _LSN_OFFSET, lsn)
