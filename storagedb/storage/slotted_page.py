"""Slotted pages: variable-length records addressed by slot number.

A slotted page starts with the common page header, then the slotted header.
The slot array grows from the front, and record bytes grow from the back::

    0              24               40
    +--------------+----------------+--------+--------+-----+----------+
    | page header  | slotted header | slot 0 | slot 1 | ... | slot n-1 |
    +--------------+----------------+--------+--------+-----+----------+
    |                       free space                                 |
    +------------------------+-----------+-----+----------+------------+
    |  (dead bytes between)  | record n-1| ... | record 1 |  record 0  |
    +------------------------+-----------+-----+----------+------------+
                             ^ free_end                     page_size ^

Slotted header (16 bytes = 2 + 2 + 2 + 2 + 2 + 2 + 4), at offset 24:

======  ====  ==========  ===================================================
OFFSET  SIZE  FIELD       MEANING
======  ====  ==========  ===================================================
24      2     slot_count  entries in the slot array, empty ones included
26      2     free_start  first byte after the slot array (40 + 4 x slots)
28      2     free_end    first byte of the record area
30      2     dead_bytes  bytes in the record area that no live slot uses;
                          :func:`compact` reclaims them
32      2     live_count  slots that hold a record
34      2     flags       reserved, 0
36      4     reserved    0
======  ====  ==========  ===================================================

Slot entry (4 bytes = 2 + 2), slot ``i`` at offset ``40 + 4 * i``:

======  ====  ==========  ===================================================
OFFSET  SIZE  FIELD       MEANING
======  ====  ==========  ===================================================
0       2     offset      where the record starts; 0 = empty slot (offset 0
                          is the page header, so no record can start there)
2       2     length      bits 0-14: record length in bytes; bit 15 set: the
                          record is an overflow stub (see ``overflow.py``)
======  ====  ==========  ===================================================

Slot numbers never change while a record lives: :func:`compact` moves record
bytes, not slots, and :func:`insert` reuses empty slots before adding one.
u16 slot count: at most 65,535 slots per page (a 32 KiB page fits at most
8,182 zero-length records, so the limit is never reached).

These functions work on a page image (a frame's memoryview) and never do
I/O; ``overflow.py`` adds records larger than a page.
"""

from __future__ import annotations

import struct
from typing import Iterator, NamedTuple

import numpy as np

from ..errors import CorruptPageError
from .page import PAGE_HEADER_SIZE

__all__ = [
    "SLOTTED_HEADER",
    "SLOTTED_HEADER_SIZE",
    "SLOT",
    "SLOT_SIZE",
    "SLOT_ARRAY_START",
    "OVERFLOW_FLAG",
    "SlottedHeader",
    "format_page",
    "read_slotted_header",
    "max_record_size",
    "free_space",
    "insert",
    "read",
    "slot_entry",
    "update",
    "delete",
    "compact",
    "live_slots",
    "slot_array",
    "check_page",
]

SLOTTED_HEADER = struct.Struct("<HHHHHH4x")
SLOTTED_HEADER_SIZE = 16  # 2 + 2 + 2 + 2 + 2 + 2 + 4
SLOT = struct.Struct("<HH")
SLOT_SIZE = 4  # 2 + 2
SLOT_ARRAY_START = PAGE_HEADER_SIZE + SLOTTED_HEADER_SIZE  # 40
OVERFLOW_FLAG = 0x8000
LENGTH_MASK = 0x7FFF

_H = SLOTTED_HEADER
_SLOT_COUNT = struct.Struct("<H")


class SlottedHeader(NamedTuple):
    slot_count: int
    free_start: int
    free_end: int
    dead_bytes: int
    live_count: int
    flags: int


def format_page(page: memoryview) -> None:
    """Write an empty slotted header into a page whose common header is set."""
    _H.pack_into(page, PAGE_HEADER_SIZE, 0, SLOT_ARRAY_START, len(page), 0, 0, 0)


def read_slotted_header(page: memoryview) -> SlottedHeader:
    return SlottedHeader(*_H.unpack_from(page, PAGE_HEADER_SIZE))


def max_record_size(page_size: int) -> int:
    """Largest record that fits in an empty page (4,052 bytes for 4 KiB pages)."""
    return page_size - SLOT_ARRAY_START - SLOT_SIZE


def free_space(page: memoryview) -> int:
    """Largest record :func:`insert` would accept now (compacting if needed).

    Negative when not even an empty record fits: the page has no room left
    for one more slot.
    """
    slots, free_start, free_end, dead, live, _flags = _H.unpack_from(page, PAGE_HEADER_SIZE)
    slot_cost = 0 if live < slots else SLOT_SIZE
    return free_end - free_start + dead - slot_cost


def insert(page: memoryview, record: bytes | memoryview, overflow: bool = False) -> int | None:
    """Store ``record`` and return its slot number, or None if it does not fit.

    The page is compacted first when only the dead bytes make room.
    ``overflow`` flags the record as an overflow stub.
    """
    size = len(record)
    slots, free_start, free_end, dead, live, flags = _H.unpack_from(page, PAGE_HEADER_SIZE)
    slot = _find_empty_slot(page, slots) if live < slots else slots
    slot_cost = SLOT_SIZE if slot == slots else 0
    if size + slot_cost > free_end - free_start:
        if size + slot_cost > free_end - free_start + dead:
            return None
        compact(page)
        slots, free_start, free_end, dead, live, flags = _H.unpack_from(page, PAGE_HEADER_SIZE)
    offset = free_end - size
    page[offset:free_end] = record
    SLOT.pack_into(page, SLOT_ARRAY_START + SLOT_SIZE * slot, offset, size | (OVERFLOW_FLAG if overflow else 0))
    if slot == slots:
        slots += 1
        free_start += SLOT_SIZE
    _H.pack_into(page, PAGE_HEADER_SIZE, slots, free_start, offset, dead, live + 1, flags)
    return slot


def _find_empty_slot(page: memoryview, slots: int) -> int:
    entries = np.frombuffer(page, dtype="<u2", count=2 * slots, offset=SLOT_ARRAY_START)
    empty = np.flatnonzero(entries[0::2] == 0)
    return int(empty[0]) if len(empty) else slots


def slot_entry(page: memoryview, slot: int) -> tuple[int, int, bool]:
    """``(offset, length, is_overflow_stub)`` of a live slot.

    Raises:
        CorruptPageError: the slot is empty, out of range or points outside
            the page (the caller adds the file and page number).
    """
    slots = _SLOT_COUNT.unpack_from(page, PAGE_HEADER_SIZE)[0]
    if not 0 <= slot < slots:
        raise CorruptPageError(f"slot {slot} does not exist (the page has {slots} slots)")
    offset, length = SLOT.unpack_from(page, SLOT_ARRAY_START + SLOT_SIZE * slot)
    if offset == 0:
        raise CorruptPageError(f"slot {slot} is empty")
    size = length & LENGTH_MASK
    if offset + size > len(page) or offset < SLOT_ARRAY_START + SLOT_SIZE * slots:
        raise CorruptPageError(f"slot {slot} points outside the record area (offset {offset}, length {size})")
    return offset, size, bool(length & OVERFLOW_FLAG)


def read(page: memoryview, slot: int) -> memoryview:
    """Return the bytes of a live record (an overflow stub's own bytes if flagged)."""
    offset, size, _overflow = slot_entry(page, slot)
    return page[offset : offset + size]


def update(page: memoryview, slot: int, record: bytes | memoryview, overflow: bool = False) -> bool:
    """Replace a live record, in place when possible.

    Returns False, changing nothing, when the new record does not fit on
    this page even after compaction: the caller must move it elsewhere.
    """
    old_offset, old_size, _old_overflow = slot_entry(page, slot)
    size = len(record)
    length_field = size | (OVERFLOW_FLAG if overflow else 0)
    slots, free_start, free_end, dead, live, flags = _H.unpack_from(page, PAGE_HEADER_SIZE)
    if size <= old_size:
        page[old_offset : old_offset + size] = record
        SLOT.pack_into(page, SLOT_ARRAY_START + SLOT_SIZE * slot, old_offset, length_field)
        _H.pack_into(page, PAGE_HEADER_SIZE, slots, free_start, free_end, dead + old_size - size, live, flags)
        return True
    if size > free_end - free_start + dead + old_size:
        return False
    if size > free_end - free_start:
        # Free the old copy first so compaction can reclaim it.
        SLOT.pack_into(page, SLOT_ARRAY_START + SLOT_SIZE * slot, 0, 0)
        _H.pack_into(page, PAGE_HEADER_SIZE, slots, free_start, free_end, dead + old_size, live - 1, flags)
        compact(page)
        slots, free_start, free_end, dead, live, flags = _H.unpack_from(page, PAGE_HEADER_SIZE)
        live += 1
    else:
        dead += old_size
    offset = free_end - size
    page[offset:free_end] = record
    SLOT.pack_into(page, SLOT_ARRAY_START + SLOT_SIZE * slot, offset, length_field)
    _H.pack_into(page, PAGE_HEADER_SIZE, slots, free_start, offset, dead, live, flags)
    return True


def delete(page: memoryview, slot: int) -> None:
    """Empty a live slot; its bytes become dead until the next compaction."""
    _offset, size, _overflow = slot_entry(page, slot)
    slots, free_start, free_end, dead, live, flags = _H.unpack_from(page, PAGE_HEADER_SIZE)
    SLOT.pack_into(page, SLOT_ARRAY_START + SLOT_SIZE * slot, 0, 0)
    _H.pack_into(page, PAGE_HEADER_SIZE, slots, free_start, free_end, dead + size, live - 1, flags)


def compact(page: memoryview) -> None:
    """Move live records to the end of the page, keeping their slot numbers."""
    slots, free_start, free_end, _dead, live, flags = _H.unpack_from(page, PAGE_HEADER_SIZE)
    page_size = len(page)
    area = bytes(page[free_end:page_size])
    end = page_size
    for slot in range(slots):
        position = SLOT_ARRAY_START + SLOT_SIZE * slot
        offset, length = SLOT.unpack_from(page, position)
        if not offset:
            continue
        size = length & LENGTH_MASK
        start = end - size
        source = offset - free_end
        page[start:end] = area[source : source + size]
        SLOT.pack_into(page, position, start, length)
        end = start
    _H.pack_into(page, PAGE_HEADER_SIZE, slots, free_start, end, 0, live, flags)


def live_slots(page: memoryview) -> Iterator[tuple[int, int, int, bool]]:
    """Yield ``(slot, offset, length, is_overflow_stub)`` for every live slot."""
    slots = _SLOT_COUNT.unpack_from(page, PAGE_HEADER_SIZE)[0]
    for slot, (offset, length) in enumerate(SLOT.iter_unpack(page[SLOT_ARRAY_START : SLOT_ARRAY_START + 4 * slots])):
        if offset:
            yield slot, offset, length & LENGTH_MASK, bool(length & OVERFLOW_FLAG)


def slot_array(page: memoryview) -> np.ndarray:
    """Return the slot array as a (slot_count, 2) uint16 array of (offset, length) pairs, without a copy."""
    slots = _SLOT_COUNT.unpack_from(page, PAGE_HEADER_SIZE)[0]
    return np.frombuffer(page, dtype="<u2", count=2 * slots, offset=SLOT_ARRAY_START).reshape(slots, 2)


def check_page(page: memoryview) -> list[str]:
    """Return what is structurally wrong with a slotted page (empty if nothing)."""
    problems = []
    page_size = len(page)
    slots, free_start, free_end, dead, live, _flags = _H.unpack_from(page, PAGE_HEADER_SIZE)

    if free_start != SLOT_ARRAY_START + SLOT_SIZE * slots:
        problems.append(f"free_start {free_start} does not match {slots} slots")
    if SLOT_ARRAY_START + SLOT_SIZE * slots > page_size:
        problems.append(f"{slots} slots do not fit in a {page_size}-byte page")
        return problems
    if not free_start <= free_end <= page_size:
        problems.append(f"free space bounds are inverted (start {free_start}, end {free_end})")
        return problems

    entries = slot_array(page)
    used = 0
    extents = []
    for slot, (offset, length) in enumerate(entries.tolist()):
        if not offset:
            continue
        size = length & LENGTH_MASK
        if offset < free_end or offset + size > page_size:
            problems.append(f"slot {slot} (offset {offset}, length {size}) lies outside the record area")
            continue
        used += size
        extents.append((offset, offset + size, slot))

    live_found = sum(1 for offset, _ in entries.tolist() if offset)
    if live_found != live:
        problems.append(f"live_count is {live} but {live_found} slots are live")

    extents.sort()
    for (start_a, end_a, slot_a), (start_b, _end_b, slot_b) in zip(extents, extents[1:]):
        if end_a > start_b:
            problems.append(f"records of slots {slot_a} and {slot_b} overlap")

    if not problems and used + dead != page_size - free_end:
        problems.append(
            f"record area accounting is off: {used} live + {dead} dead bytes, area is {page_size - free_end} bytes"
        )
    return problems
