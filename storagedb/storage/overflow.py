"""Records of any size on slotted pages, with overflow chains for large ones.

A record that fits in an empty slotted page is stored inline. A larger one is
written to a chain of overflow pages, and its slot contains a 12-byte stub
(flagged in the slot's length field) pointing at the chain.

Overflow stub (12 bytes = 8 + 4):

======  ====  ===========  ==================================================
OFFSET  SIZE  FIELD        MEANING
======  ====  ===========  ==================================================
0       8     total_size   bytes in the whole record
8       4     first_page   first overflow page of the chain
======  ====  ===========  ==================================================

Overflow page (8-byte header = 4 + 2 + 2, after the common page header):

======  ====  ===========  ==================================================
OFFSET  SIZE  FIELD        MEANING
======  ====  ===========  ==================================================
24      4     next_page    next page of the chain; 0 = last
28      2     data_size    record bytes on this page
30      2     reserved     0
32      ...   data         ``data_size`` bytes of the record
======  ====  ===========  ==================================================

A chain holds its record's bytes in order. Reading checks that the chain is
exactly as long as the stub says, so a loop or a cut chain is reported as
corruption rather than followed forever.
"""

from __future__ import annotations

import struct

from ..errors import CorruptPageError, InvalidValueError
from . import slotted_page
from .buffer_pool import BufferPool
from .page import PAGE_HEADER_SIZE, PageType, page_type_of, set_page_lsn

__all__ = [
    "STUB",
    "STUB_SIZE",
    "OVERFLOW_HEADER",
    "OVERFLOW_HEADER_SIZE",
    "MAX_RECORD_SIZE",
    "insert_record",
    "read_record",
    "update_record",
    "delete_record",
    "write_chain",
    "read_chain",
    "free_chain",
]

STUB = struct.Struct("<QI")
STUB_SIZE = 12  # 8 + 4
OVERFLOW_HEADER = struct.Struct("<IH2x")
OVERFLOW_HEADER_SIZE = 8  # 4 + 2 + 2
_DATA_START = PAGE_HEADER_SIZE + OVERFLOW_HEADER_SIZE
#: A record read back is allocated at its stored size, so the size is
#: checked against this limit first (1 GiB).
MAX_RECORD_SIZE = 1 << 30


def chain_capacity(page_size: int) -> int:
    """Return the record bytes that one overflow page can store (4,064 for 4 KiB pages)."""
    return page_size - _DATA_START


def write_chain(pool: BufferPool, file_id: int, data: bytes | memoryview, lsn: int = 0) -> bytes:
    """Write ``data`` to a new overflow chain and return its stub.

    ``lsn``, when not 0, is stamped on every page of the chain: the log
    record that describes the change (see the buffer pool's write-ahead rule).
    """
    size = len(data)
    if size > MAX_RECORD_SIZE:
        raise InvalidValueError(f"record of {size} bytes exceeds the {MAX_RECORD_SIZE}-byte limit")
    capacity = chain_capacity(pool.page_size)
    view = memoryview(data)
    first_page = 0
    previous_page = 0
    for start in range(0, size, capacity):
        piece = view[start : start + capacity]
        with pool.new_page(file_id, PageType.OVERFLOW) as page:
            OVERFLOW_HEADER.pack_into(page.data, PAGE_HEADER_SIZE, 0, len(piece))
            page.data[_DATA_START : _DATA_START + len(piece)] = piece
            if lsn:
                set_page_lsn(page.data, lsn)
            page_no = page.page_no
        if previous_page:
            with pool.write_page(file_id, previous_page) as page:
                OVERFLOW_HEADER.pack_into(page.data, PAGE_HEADER_SIZE, page_no, capacity)
        else:
            first_page = page_no
        previous_page = page_no
    return STUB.pack(size, first_page)


def read_chain(pool: BufferPool, file_id: int, stub: bytes | memoryview) -> bytes:
    """Read a whole record back from its overflow chain.

    Raises:
        CorruptPageError: the stub or a chain page is inconsistent.
    """
    size, page_no = STUB.unpack(stub)
    path = pool.file(file_id).path
    if size > MAX_RECORD_SIZE:
        raise CorruptPageError(f"{path}: overflow stub declares {size} bytes, above the {MAX_RECORD_SIZE} limit")
    capacity = chain_capacity(pool.page_size)
    file_pages = pool.file(file_id).page_count
    if -(-size // capacity) >= file_pages:
        raise CorruptPageError(
            f"{path}: overflow stub declares {size} bytes, more than the file's {file_pages} pages can hold"
        )
    # Pieces are joined at the end, so a damaged size cannot make this
    # allocate more than the chain really holds.
    pieces: list[bytes] = []
    position = 0
    while position < size:
        if not page_no:
            raise CorruptPageError(f"{path}: overflow chain ends after {position} of {size} bytes")
        with pool.read_page(file_id, page_no) as page:
            data = page.data
            if page_type_of(data) != PageType.OVERFLOW:
                raise CorruptPageError(
                    f"{path}: page {page_no} is in an overflow chain but is not an overflow page",
                    path=path,
                    page_no=page_no,
                )
            next_page, piece = OVERFLOW_HEADER.unpack_from(data, PAGE_HEADER_SIZE)
            expected = min(capacity, size - position)
            if piece != expected:
                raise CorruptPageError(
                    f"{path}: overflow page {page_no} has {piece} bytes of the record, expected {expected}",
                    path=path,
                    page_no=page_no,
                )
            pieces.append(bytes(data[_DATA_START : _DATA_START + piece]))
        position += piece
        page_no = next_page
    if page_no:
        raise CorruptPageError(f"{path}: overflow chain continues past the {size} bytes its stub declares")
    return b"".join(pieces)


def free_chain(pool: BufferPool, file_id: int, stub: bytes | memoryview) -> None:
    """Put every page of an overflow chain on the free list."""
    size, page_no = STUB.unpack(stub)
    capacity = chain_capacity(pool.page_size)
    pages_left = -(-size // capacity)
    while page_no and pages_left:
        with pool.read_page(file_id, page_no) as page:
            next_page = OVERFLOW_HEADER.unpack_from(page.data, PAGE_HEADER_SIZE)[0]
        pool.free_page(file_id, page_no)
        page_no = next_page
        pages_left -= 1


def insert_record(pool: BufferPool, file_id: int, page_no: int, data: bytes, lsn: int = 0) -> int | None:
    """Insert a record of any size on a slotted page; None if the page lacks room.

    Records too big for an empty page go to an overflow chain and take only
    a stub's room here. A nonzero ``lsn`` is stamped on every page changed.
    """
    with pool.write_page(file_id, page_no) as page:
        if len(data) <= slotted_page.max_record_size(pool.page_size):
            slot = slotted_page.insert(page.data, data)
            if lsn and slot is not None:
                set_page_lsn(page.data, lsn)
            return slot
        if slotted_page.free_space(page.data) < STUB_SIZE:
            return None
        stub = write_chain(pool, file_id, data, lsn)
        slot = slotted_page.insert(page.data, stub, overflow=True)
        if lsn and slot is not None:
            set_page_lsn(page.data, lsn)
    if slot is None:
        free_chain(pool, file_id, stub)
    return slot


def read_record(pool: BufferPool, file_id: int, page_no: int, slot: int) -> bytes:
    """Read a record of any size from a slotted page."""
    with pool.read_page(file_id, page_no) as page:
        try:
            offset, size, overflow = slotted_page.slot_entry(page.data, slot)
        except CorruptPageError as exc:
            path = pool.file(file_id).path
            raise CorruptPageError(f"{path}: page {page_no}: {exc}", path=path, page_no=page_no) from None
        record = bytes(page.data[offset : offset + size])
    if overflow:
        if size != STUB_SIZE:
            path = pool.file(file_id).path
            raise CorruptPageError(f"{path}: page {page_no} slot {slot}: bad overflow stub", path=path, page_no=page_no)
        return read_chain(pool, file_id, record)
    return record


def update_record(pool: BufferPool, file_id: int, page_no: int, slot: int, data: bytes, lsn: int = 0) -> bool:
    """Replace a record; False (nothing changed) if it must move to another page."""
    new_stub = None
    with pool.write_page(file_id, page_no) as page:
        _offset, _size, overflow = slotted_page.slot_entry(page.data, slot)
        old_stub = bytes(slotted_page.read(page.data, slot)) if overflow else None
        if len(data) <= slotted_page.max_record_size(pool.page_size):
            updated = slotted_page.update(page.data, slot, data)
        else:
            new_stub = write_chain(pool, file_id, data, lsn)
            updated = slotted_page.update(page.data, slot, new_stub, overflow=True)
        if lsn and updated:
            set_page_lsn(page.data, lsn)
    if not updated:
        if new_stub is not None:
            free_chain(pool, file_id, new_stub)
        return False
    if old_stub is not None:
        free_chain(pool, file_id, old_stub)
    return True


def delete_record(pool: BufferPool, file_id: int, page_no: int, slot: int, lsn: int = 0) -> None:
    """Delete a record and free its overflow chain, if it has one."""
    with pool.write_page(file_id, page_no) as page:
        _offset, _size, overflow = slotted_page.slot_entry(page.data, slot)
        old_stub = bytes(slotted_page.read(page.data, slot)) if overflow else None
        slotted_page.delete(page.data, slot)
        if lsn:
            set_page_lsn(page.data, lsn)
    if old_stub is not None:
        free_chain(pool, file_id, old_stub)
