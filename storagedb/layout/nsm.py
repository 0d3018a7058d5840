"""NSM, the row layout: whole row records on slotted pages.

Two structures live here:

* **sealed NSM data** (:func:`build_pages`, :class:`NsmReader`): the records
  of an immutable segment, sorted by primary key when the table has one,
  packed onto consecutive slotted pages that are written in bulk. Slot ``k``
  of data page ``p`` contains row ``page_first_row[p] + k``, so a row id
  maps to its page with one binary search over ``page_first_row``.
* **the open segment** (:class:`OpenHeap`): slotted pages in a scratch file
  that take inserts, updates and deletes; a row lives at a record id
  ``(page_no << 16) | slot``.

Both are read in batches of pages: the slot arrays of many pinned frames are
gathered with one numpy fancy index, and :meth:`RecordCodec.decode_columns`
then decodes each requested column of every record at once.
"""

from __future__ import annotations

from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np

from ..batch import ColumnData
from ..errors import CorruptPageError
from ..index.arrays import pack_arrays, unpack_arrays
from ..record import RecordCodec
from ..storage import overflow, slotted_page
from ..storage.buffer_pool import BufferPool
from ..storage.page import PAGE_HEADER_SIZE, PageType
from ..storage.page_run import RunRef, read_run, write_run
from ..storage.slotted_page import LENGTH_MASK, OVERFLOW_FLAG, SLOT_ARRAY_START, SLOT_SIZE
from .base import LayoutOptions, WrittenLayout

__all__ = ["build_pages", "write_nsm", "NsmReader", "NsmLayoutReader", "OpenHeap", "decode_pages", "RID_SLOT_BITS"]

#: A record id packs the page number above a 16-bit slot number.
RID_SLOT_BITS = 16
_SLOT_MASK = (1 << RID_SLOT_BITS) - 1

# Offsets of the slotted header fields (see slotted_page.py).
_SLOT_COUNT = PAGE_HEADER_SIZE
_FREE_START = PAGE_HEADER_SIZE + 2
_FREE_END = PAGE_HEADER_SIZE + 4
_LIVE_COUNT = PAGE_HEADER_SIZE + 8


def build_pages(
    data: np.ndarray, offsets: np.ndarray, page_size: int, first_page_no: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pack encoded records onto slotted page images, in order.

    ``data`` and ``offsets`` come from :meth:`RecordCodec.encode_columns`.
    Records too large for a page become overflow stubs whose chains follow
    the data pages. ``first_page_no`` is the page number that the first
    image will get, which the stubs need to point at their chains.
    Returns ``(images, page_first_row)``: the images of data pages then
    overflow pages, and for each data page the index of its first row, plus
    the row count at the end.
    """
    count = len(offsets) - 1
    lengths = np.diff(offsets)
    max_inline = slotted_page.max_record_size(page_size)
    big = lengths > max_inline
    stored = np.where(big, overflow.STUB_SIZE, lengths)
    capacity = page_size - SLOT_ARRAY_START
    cost = np.cumsum(stored + SLOT_SIZE)

    # Greedy page breaks: each page takes rows while their bytes and slots fit.
    first_rows = [0]
    start = 0
    base = 0
    while start < count:
        end = int(np.searchsorted(cost, base + capacity, side="right"))
        if end <= start:
            end = start + 1  # cannot happen: a stub or max_inline record always fits
        first_rows.append(end)
        base = int(cost[end - 1])
        start = end
    page_first_row = np.array(first_rows if count else [0], dtype=np.int64)
    if count == 0:
        page_first_row = np.array([0], dtype=np.int64)
    data_pages = len(page_first_row) - 1

    chain_capacity = overflow.chain_capacity(page_size)
    big_rows = np.flatnonzero(big)
    chain_pages = -(-lengths[big_rows] // chain_capacity) if len(big_rows) else np.zeros(0, dtype=np.int64)
    images = np.zeros((data_pages + int(chain_pages.sum()), page_size), dtype=np.uint8)
    if data_pages == 0:
        return images, page_first_row

    # Stub bytes for big records, and their chain page images.
    stubs: dict[int, bytes] = {}
    next_chain = data_pages
    for row, pages in zip(big_rows.tolist(), chain_pages.tolist()):
        record = data[offsets[row] : offsets[row + 1]]
        stubs[row] = overflow.STUB.pack(len(record), first_page_no + next_chain)
        for piece in range(pages):
            image = images[next_chain + piece]
            image[4] = PageType.OVERFLOW
            chunk = record[piece * chain_capacity : (piece + 1) * chain_capacity]
            link = first_page_no + next_chain + piece + 1 if piece + 1 < pages else 0
            overflow.OVERFLOW_HEADER.pack_into(image, PAGE_HEADER_SIZE, link, len(chunk))
            image[PAGE_HEADER_SIZE + overflow.OVERFLOW_HEADER_SIZE : PAGE_HEADER_SIZE + overflow.OVERFLOW_HEADER_SIZE + len(chunk)] = chunk
        next_chain += pages

    # Headers and slot arrays, vectorised over every data page.
    rows_per_page = np.diff(page_first_row)
    page_of_row = np.repeat(np.arange(data_pages), rows_per_page)
    slot_of_row = np.arange(count) - page_first_row[page_of_row]
    stored_cumulative = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(stored, out=stored_cumulative[1:])
    page_bytes = stored_cumulative[page_first_row[1:]] - stored_cumulative[page_first_row[:-1]]
    free_end = page_size - page_bytes
    record_offset = free_end[page_of_row] + stored_cumulative[:-1] - stored_cumulative[page_first_row[page_of_row]]
    images[:, 4][:data_pages] = PageType.SLOTTED
    header = images[:data_pages, PAGE_HEADER_SIZE : PAGE_HEADER_SIZE + 10].view("<u2")
    header[:, 0] = rows_per_page
    header[:, 1] = SLOT_ARRAY_START + SLOT_SIZE * rows_per_page
    header[:, 2] = free_end
    header[:, 3] = 0
    header[:, 4] = rows_per_page
    flat = images.reshape(-1)
    entry = page_of_row * page_size + SLOT_ARRAY_START + SLOT_SIZE * slot_of_row
    entry_view = flat.view("<u2")  # page_size and 40 are even, so entries are u16-aligned
    entry_view[entry // 2] = record_offset
    entry_view[entry // 2 + 1] = stored | np.where(big, OVERFLOW_FLAG, 0)

    # Record bytes: a page's inline records are contiguous in ``data``.
    for page in range(data_pages):
        first, last = int(page_first_row[page]), int(page_first_row[page + 1])
        end = int(free_end[page])
        if big[first:last].any():
            for row in range(first, last):
                record = stubs[row] if big[row] else data[offsets[row] : offsets[row + 1]]
                position = int(record_offset[row])
                images[page, position : position + len(record)] = np.frombuffer(record, np.uint8) if isinstance(record, bytes) else record
        else:
            images[page, end:] = data[offsets[first] : offsets[last]]
    return images, page_first_row


class RecordLocations(NamedTuple):
    """Positions of the live records of some pinned pages, in page then slot order."""

    positions: np.ndarray  # offset of each record in the flattened frame buffer
    lengths: np.ndarray  # bytes of each record (the stub's bytes if spilled)
    spilled: np.ndarray  # True where the record is an overflow stub
    rids: np.ndarray  # record id of each record


def locate_records(
    pool: BufferPool,
    file_id: int,
    frames: Sequence[int],
    page_nos: Sequence[int],
    expected_rows: np.ndarray | None = None,
) -> RecordLocations:
    """Find every live record on pinned slotted pages with one gather of their slot arrays.

    ``expected_rows``, when given, is the slot count each page must have
    (sealed data, which has no empty slots).

    Raises:
        CorruptPageError: a page is not a slotted page or its slots are
            inconsistent; the message names the file and page.
    """
    page_size = pool.page_size
    all_frames = pool.frames
    frame_index = np.asarray(frames, dtype=np.int64)
    heads = all_frames[frame_index, : SLOT_ARRAY_START]
    page_types = heads[:, 4]
    slot_counts = heads[:, _SLOT_COUNT : _SLOT_COUNT + 2].copy().view("<u2").reshape(-1).astype(np.int64)
    if np.any(page_types != PageType.SLOTTED) or (
        expected_rows is not None and np.any(slot_counts != expected_rows)
    ) or np.any(SLOT_ARRAY_START + SLOT_SIZE * slot_counts > page_size):
        _raise_bad_page(pool, file_id, page_nos, page_types, slot_counts, expected_rows)

    total = int(slot_counts.sum())
    page_of_slot = np.repeat(np.arange(len(frame_index)), slot_counts)
    slot_index = np.arange(total) - np.repeat(np.cumsum(slot_counts) - slot_counts, slot_counts)
    base = frame_index[page_of_slot] * page_size
    flat = all_frames.reshape(-1)
    entry = base + SLOT_ARRAY_START + SLOT_SIZE * slot_index
    as_u16 = flat.view("<u2")
    offsets = as_u16[entry // 2].astype(np.int64)
    lengths = as_u16[entry // 2 + 1].astype(np.int64)
    live = offsets != 0
    page_numbers = np.asarray(page_nos, dtype=np.int64)
    if not live.all():
        if expected_rows is not None:
            _raise_bad_page(pool, file_id, page_nos, page_types, slot_counts, expected_rows)
        offsets, lengths, base, slot_index, page_of_slot = (
            offsets[live], lengths[live], base[live], slot_index[live], page_of_slot[live]
        )
    rids = (page_numbers[page_of_slot] << RID_SLOT_BITS) | slot_index
    spilled = (lengths & OVERFLOW_FLAG) != 0
    lengths = lengths & LENGTH_MASK
    if np.any(offsets + lengths > page_size) or np.any(offsets < SLOT_ARRAY_START):
        bad = int(page_of_slot[np.flatnonzero((offsets + lengths > page_size) | (offsets < SLOT_ARRAY_START))[0]])
        path = pool.file(file_id).path
        raise CorruptPageError(
            f"{path}: page {page_nos[bad]} has a slot pointing outside the page", path=path, page_no=page_nos[bad]
        )
    bad_stubs = np.flatnonzero(spilled & (lengths != overflow.STUB_SIZE))
    if len(bad_stubs):
        bad = int(page_of_slot[bad_stubs[0]])
        path = pool.file(file_id).path
        raise CorruptPageError(
            f"{path}: page {page_nos[bad]} has an overflow stub of {int(lengths[bad_stubs[0]])} bytes, "
            f"expected {overflow.STUB_SIZE}",
            path=path,
            page_no=page_nos[bad],
        )
    return RecordLocations(base + offsets, lengths, spilled, rids)


def decode_located(
    pool: BufferPool,
    file_id: int,
    codec: RecordCodec,
    located: RecordLocations,
    wanted: Sequence[int],
    rows: np.ndarray | None = None,
) -> list[ColumnData]:
    """Decode columns ``wanted`` of the located records (all, or those at ``rows``).

    The pages must still be pinned. Records in overflow chains are read and
    decoded one by one; the rest are decoded vectorised.
    """
    positions, lengths, spilled = located.positions, located.lengths, located.spilled
    if rows is not None:
        positions, lengths, spilled = positions[rows], lengths[rows], spilled[rows]
    flat = pool.frames.reshape(-1)
    if not spilled.any():
        return codec.decode_columns(flat, positions, lengths, wanted)
    inline = ~spilled
    columns = codec.decode_columns(flat, positions[inline], lengths[inline], wanted)
    out = [_widen(column, len(positions), inline) for column in columns]
    for row in np.flatnonzero(spilled).tolist():
        stub = flat[positions[row] : positions[row] + lengths[row]].tobytes()
        record = overflow.read_chain(pool, file_id, stub)
        values = codec.decode(record)
        for column, index in zip(out, wanted):
            value = values[index]
            if value is None:
                if column.nulls is None:
                    column.nulls = np.zeros(len(positions), dtype=bool)
                column.nulls[row] = True
            else:
                column.values[row] = value
    return out


def decode_pages(
    pool: BufferPool,
    file_id: int,
    frames: Sequence[int],
    page_nos: Sequence[int],
    codec: RecordCodec,
    wanted: Sequence[int],
    expected_rows: np.ndarray | None = None,
) -> tuple[list[ColumnData], np.ndarray]:
    """Decode columns ``wanted`` of every live record on pinned slotted pages.

    Returns the columns and the record id of each row, in page then slot
    order; see :func:`locate_records` for ``expected_rows`` and errors.
    """
    located = locate_records(pool, file_id, frames, page_nos, expected_rows)
    return decode_located(pool, file_id, codec, located, wanted), located.rids


class NsmPageBatch:
    """Consecutive data pages of a sealed NSM segment, pinned, decoded column by column.

    The same interface as the columnar ``LazyGroup``: a filtered scan
    decodes the predicate's columns for every record, then the other
    columns only for the records that match. Call :meth:`close` to unpin.
    """

    def __init__(self, reader: "NsmReader", start: int, stop: int) -> None:
        self.reader = reader
        self.first_row = reader._first_rows_list[start]
        self.count = reader._first_rows_list[stop] - self.first_row
        self.pages = stop - start
        self._page_nos = list(range(reader.data_first + start, reader.data_first + stop))
        self._frames = reader.pool.pin_pages(reader.file_id, self._page_nos)
        try:
            self._located = locate_records(
                reader.pool, reader.file_id, self._frames, self._page_nos, reader.rows_per_page[start:stop]
            )
        except BaseException:
            self.close()
            raise
        self._decoded: dict[int, ColumnData] = {}

    def column(self, column: int, raw: bool = False) -> ColumnData:
        data = self._decoded.get(column)
        if data is None:
            reader = self.reader
            (data,) = decode_located(reader.pool, reader.file_id, reader.codec, self._located, [column])
            self._decoded[column] = data
        return data

    def take(self, column: int, rows: np.ndarray, raw: bool = False) -> ColumnData:
        data = self._decoded.get(column)
        if data is None and len(rows) * 4 <= self.count:
            reader = self.reader
            (data,) = decode_located(reader.pool, reader.file_id, reader.codec, self._located, [column], rows)
            return data
        data = self.column(column)
        return ColumnData(data.values[rows], None if data.nulls is None else data.nulls[rows])

    def close(self) -> None:
        if self._frames is not None:
            self.reader.pool.unpin_frames(self._frames)
            self._frames = None


def _widen(column: ColumnData, count: int, where: np.ndarray) -> ColumnData:
    values = np.zeros(count, dtype=column.values.dtype)
    if values.dtype == object:
        values[:] = ""
    values[where] = column.values
    nulls = None
    if column.nulls is not None:
        nulls = np.zeros(count, dtype=bool)
        nulls[where] = column.nulls
    return ColumnData(values, nulls)


def _raise_bad_page(pool, file_id, page_nos, page_types, slot_counts, expected_rows) -> None:
    path = pool.file(file_id).path
    for index, page_no in enumerate(page_nos):
        if page_types[index] != PageType.SLOTTED:
            raise CorruptPageError(
                f"{path}: page {page_no} should be a slotted page but has page type {int(page_types[index])}",
                path=path,
                page_no=page_no,
            )
        if SLOT_ARRAY_START + SLOT_SIZE * int(slot_counts[index]) > pool.page_size:
            raise CorruptPageError(
                f"{path}: page {page_no} claims {int(slot_counts[index])} slots, more than fit",
                path=path,
                page_no=page_no,
            )
        if expected_rows is not None and slot_counts[index] != expected_rows[index]:
            raise CorruptPageError(
                f"{path}: page {page_no} has {int(slot_counts[index])} slots, expected {int(expected_rows[index])}",
                path=path,
                page_no=page_no,
            )
    raise CorruptPageError(f"{path}: a sealed data page among pages {page_nos[0]}..{page_nos[-1]} has an empty slot")


class NsmReader:
    """Reads the data pages of a sealed NSM segment.

    ``data_first`` is the first data page; data pages are consecutive and
    ``page_first_row`` (length pages + 1) gives each page's first row id.
    """

    def __init__(
        self,
        pool: BufferPool,
        file_id: int,
        codec: RecordCodec,
        data_first: int,
        page_first_row: np.ndarray,
        pages_per_batch: int = 128,
    ) -> None:
        self.pool = pool
        self.file_id = file_id
        self.codec = codec
        self.data_first = data_first
        self.page_first_row = page_first_row
        self.page_count = len(page_first_row) - 1
        self.rows = int(page_first_row[-1])
        self.rows_per_page = np.diff(page_first_row)
        self.pages_per_batch = max(1, min(pages_per_batch, pool.num_frames // 4))
        self._first_rows_list = page_first_row.tolist()

    def page_of_row(self, row: int) -> int:
        return int(np.searchsorted(self.page_first_row, row, side="right")) - 1

    def scan_pages(
        self, first_page: int, last_page: int, wanted: Sequence[int]
    ) -> Iterator[tuple[int, list[ColumnData], int]]:
        """Yield ``(first_row, columns, pages_read)`` for data pages ``first_page`` .. ``last_page - 1``."""
        step = self.pages_per_batch
        for start in range(first_page, last_page, step):
            stop = min(start + step, last_page)
            page_nos = list(range(self.data_first + start, self.data_first + stop))
            frames = self.pool.pin_pages(self.file_id, page_nos)
            try:
                columns, _rids = decode_pages(
                    self.pool, self.file_id, frames, page_nos, self.codec, wanted, self.rows_per_page[start:stop]
                )
            finally:
                self.pool.unpin_frames(frames)
            yield self._first_rows_list[start], columns, stop - start

    def read_row(self, row: int) -> tuple:
        """Decode one whole row (storage form) by row id."""
        page = self.page_of_row(row)
        slot = row - self._first_rows_list[page]
        record = overflow.read_record(self.pool, self.file_id, self.data_first + page, slot)
        return self.codec.decode(record)

    def find_in_page(self, page: int, key: tuple, decode: bool = False):
        """Binary-search one data page for ``key``; the row id, or None.

        With ``decode``, return ``(row id, row values)`` instead, decoded
        while the page is still pinned. Precondition: rows are sorted by
        primary key.
        """
        pool = self.pool
        codec = self.codec
        key_of = codec.key_reader
        count = int(self.rows_per_page[page])
        page_no = self.data_first + page
        frame = pool.pin(self.file_id, page_no)
        try:
            view = pool.view(frame)
            entries = view[SLOT_ARRAY_START : SLOT_ARRAY_START + SLOT_SIZE * count].cast("H")
            low, high = 0, count
            while low < high:
                middle = (low + high) >> 1
                offset = entries[2 * middle]
                if entries[2 * middle + 1] & OVERFLOW_FLAG:
                    found = self._spilled_key(page_no, middle)
                else:
                    found = key_of(view, offset)
                if found < key:
                    low = middle + 1
                elif found > key:
                    high = middle
                else:
                    row = self._first_rows_list[page] + middle
                    if not decode:
                        return row
                    if entries[2 * middle + 1] & OVERFLOW_FLAG:
                        return row, codec.decode(overflow.read_record(pool, self.file_id, page_no, middle))
                    return row, codec.decode(view, offset, entries[2 * middle + 1])
            return None
        finally:
            pool.unpin(frame)

    def _spilled_key(self, page_no: int, slot: int) -> tuple:
        record = overflow.read_record(self.pool, self.file_id, page_no, slot)
        row = self.codec.decode(record)
        return tuple(row[i] for i in self.codec.key_indexes)


class OpenHeap:
    """The mutable slotted pages of an open segment.

    Records are addressed by record id (``page_no << 16 | slot``). Inserts
    go to the last page with room; an update that no longer fits its page
    moves the record and returns its new id. The page list lives in memory:
    the open segment's file is scratch space rebuilt when the table opens.
    """

    def __init__(self, pool: BufferPool, file_id: int, codec: RecordCodec) -> None:
        self.pool = pool
        self.file_id = file_id
        self.codec = codec
        self.pages: list[int] = []
        self.live_rows = 0
        self.max_inline = slotted_page.max_record_size(pool.page_size)

    def _new_page(self) -> int:
        with self.pool.new_page(self.file_id, PageType.SLOTTED) as page:
            slotted_page.format_page(page.data)
            page_no = page.page_no
        self.pages.append(page_no)
        return page_no

    def insert(self, record: bytes, lsn: int = 0) -> int:
        """Store a record and return its record id; ``lsn`` is stamped on the pages changed."""
        if self.pages:
            slot = overflow.insert_record(self.pool, self.file_id, self.pages[-1], record, lsn)
            if slot is not None:
                self.live_rows += 1
                return (self.pages[-1] << RID_SLOT_BITS) | slot
        page_no = self._new_page()
        slot = overflow.insert_record(self.pool, self.file_id, page_no, record, lsn)
        if slot is None:  # an empty page always takes a record or a stub
            raise CorruptPageError(f"a fresh page of {self.pool.file(self.file_id).path} rejected a record")
        self.live_rows += 1
        return (page_no << RID_SLOT_BITS) | slot

    def read(self, rid: int) -> bytes:
        return overflow.read_record(self.pool, self.file_id, rid >> RID_SLOT_BITS, rid & _SLOT_MASK)

    def update(self, rid: int, record: bytes, lsn: int = 0) -> int:
        """Replace a record; returns its record id, which changes if it moved."""
        page_no, slot = rid >> RID_SLOT_BITS, rid & _SLOT_MASK
        if overflow.update_record(self.pool, self.file_id, page_no, slot, record, lsn):
            return rid
        overflow.delete_record(self.pool, self.file_id, page_no, slot, lsn)
        self.live_rows -= 1
        return self.insert(record, lsn)

    def delete(self, rid: int, lsn: int = 0) -> None:
        overflow.delete_record(self.pool, self.file_id, rid >> RID_SLOT_BITS, rid & _SLOT_MASK, lsn)
        self.live_rows -= 1

    def scan(self, wanted: Sequence[int], pages_per_batch: int = 64) -> Iterator[tuple[list[ColumnData], np.ndarray]]:
        """Yield ``(columns, record_ids)`` for every live record, page by page."""
        return self.scan_where((), None, wanted, pages_per_batch)

    def scan_where(
        self,
        tested: Sequence[int],
        keep: Callable[[list[ColumnData], int], np.ndarray] | None,
        wanted: Sequence[int],
        pages_per_batch: int = 64,
    ) -> Iterator[tuple[list[ColumnData], np.ndarray]]:
        """Yield ``(columns, record_ids)`` of the live records that ``keep`` selects, page by page.

        Columns ``tested`` are decoded for every record and passed to
        ``keep``, which returns a bool mask. Columns ``wanted`` are decoded
        only at the selected records, so a selective filter costs about one
        column's decoding instead of a whole row's. Without ``keep`` every
        live record is selected.
        """
        step = max(1, min(pages_per_batch, self.pool.num_frames // 4))
        pages = list(self.pages)
        for start in range(0, len(pages), step):
            page_nos = pages[start : start + step]
            frames = self.pool.pin_pages(self.file_id, page_nos)
            columns = None
            try:
                located = locate_records(self.pool, self.file_id, frames, page_nos)
                count = len(located.rids)
                if count and keep is None:
                    columns = decode_located(self.pool, self.file_id, self.codec, located, wanted)
                    rids = located.rids
                elif count:
                    tested_columns = decode_located(self.pool, self.file_id, self.codec, located, tested)
                    selected = np.flatnonzero(keep(tested_columns, count))
                    if len(selected):
                        columns = decode_located(self.pool, self.file_id, self.codec, located, wanted, selected)
                        rids = located.rids[selected]
            finally:
                self.pool.unpin_frames(frames)
            if columns is not None:
                yield columns, rids


# -- the layout interface ------------------------------------------------------


def write_nsm(
    pool: BufferPool,
    file_id: int,
    schema,
    codec: RecordCodec,
    columns: Sequence[ColumnData],
    count: int,
    options: LayoutOptions,
) -> WrittenLayout:
    """Write a sealed segment's rows as NSM data pages (the ``LayoutWriter`` of ``"nsm"``)."""
    data, offsets = codec.encode_columns(columns, count)
    first = pool.file(file_id).page_count
    images, page_first_row = build_pages(data, offsets, pool.page_size, first)
    if images.shape[0]:
        written = pool.write_new_pages(file_id, images)
        if written != first:
            raise RuntimeError(f"NSM pages landed at page {written}, expected {first}: the file grew meanwhile")
    directory = write_run(pool, file_id, pack_arrays([(page_first_row, None, "int64")]))
    data_pages = len(page_first_row) - 1
    per_zone = max(1, int(options.nsm_pages_per_zone))
    zone_bounds = np.append(page_first_row[:-1][::per_zone], count) if data_pages else np.zeros(1, np.int64)
    info = {
        "data_first": int(first),
        "data_pages": int(data_pages),
        "overflow_pages": int(images.shape[0] - data_pages),
        "pages_per_zone": per_zone,
        "directory": directory.to_json(),
    }
    return WrittenLayout(info, zone_bounds.astype(np.int64), page_first_row)


class NsmLayoutReader(NsmReader):
    """:class:`NsmReader` behind the ``LayoutReader`` interface."""

    @classmethod
    def open(cls, pool, file_id, schema, codec, info, rows):
        path = pool.file(file_id).path
        try:
            data_first = int(info["data_first"])
            data_pages = int(info["data_pages"])
            per_zone = int(info["pages_per_zone"])
            directory_ref = RunRef.from_json(info["directory"], path)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptPageError(f"{path}: NSM segment descriptor is invalid ({exc})") from None
        ((page_first_row, _nulls),) = unpack_arrays(read_run(pool, file_id, directory_ref), path)
        page_first_row = np.asarray(page_first_row, dtype=np.int64)
        if (
            len(page_first_row) != data_pages + 1
            or page_first_row[0] != 0
            or page_first_row[-1] != rows
            or np.any(np.diff(page_first_row) <= 0) and data_pages
            or per_zone < 1
            or data_first < 1
            or data_first + data_pages > pool.file(file_id).page_count
        ):
            raise CorruptPageError(f"{path}: NSM page directory does not match the segment's {rows} rows")
        reader = cls(pool, file_id, codec, data_first, page_first_row)
        reader.pages_per_zone = per_zone
        reader.zone_bounds = (
            np.append(page_first_row[:-1][::per_zone], rows).astype(np.int64) if data_pages else np.zeros(1, np.int64)
        )
        reader.fence_bounds = page_first_row
        reader.data_pages = data_pages
        reader.overflow_pages = int(info.get("overflow_pages", 0))
        return reader

    def zone_page_counts(self) -> np.ndarray:
        """Data pages of every zone, as an array."""
        zones = len(self.zone_bounds) - 1
        counts = np.full(zones, self.pages_per_zone, dtype=np.int64)
        if zones:
            counts[-1] = self.page_count - (zones - 1) * self.pages_per_zone
        return counts

    def groups(self, first_zone: int, last_zone: int) -> Iterator[NsmPageBatch]:
        """Page batches covering zones ``first_zone`` .. ``last_zone - 1``, decoded on demand."""
        first_page = first_zone * self.pages_per_zone
        last_page = min(last_zone * self.pages_per_zone, self.page_count)
        for start in range(first_page, last_page, self.pages_per_batch):
            yield NsmPageBatch(self, start, min(start + self.pages_per_batch, last_page))

    def scan_zones(self, first_zone, last_zone, wanted, raw=False):
        first_page = first_zone * self.pages_per_zone
        last_page = min(last_zone * self.pages_per_zone, self.page_count)
        yield from self.scan_pages(first_page, last_page, wanted)

    def read_rows(self, rows, wanted):
        out_rows = [self.read_row(int(row)) for row in rows]
        columns = []
        for index in wanted:
            ctype = self.codec.schema.columns[index].type
            raw = [row[index] for row in out_rows]
            nulls = np.array([value is None for value in raw], dtype=bool)
            values = np.empty(len(raw), dtype=ctype.storage_dtype)
            if ctype.base == "text":
                filler = ""
            elif ctype.base == "blob":
                filler = b""
            else:
                filler = 0
            values[:] = [filler if value is None else value for value in raw]
            columns.append(ColumnData(values, nulls if nulls.any() else None))
        return columns, len(rows)

    def find_in_unit(self, unit, key):
        return self.find_in_page(unit, key), 1

    def fetch_in_unit(self, unit, key):
        """``((row id, row values) or None, pages read)`` for ``key`` in fence unit ``unit``."""
        return self.find_in_page(unit, key, decode=True), 1

    def fetch_row(self, row):
        """``(row values, pages read)`` of one row id."""
        return self.read_row(row), 1

    def column_bytes(self):
        return [
            {
                "column": column.name,
                "pages": None,
                "encoding": "row records",
                "raw_bytes": None,
                "stored_bytes": None,
            }
            for column in self.codec.schema.columns
        ]
