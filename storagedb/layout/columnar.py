"""DSM and PAX: column chunks on page runs.

Both layouts cut a segment's rows into groups of ``row_group_rows`` rows and
encode each column of each group as one *column chunk*
(``storagedb.encoding``), stored as its own page run. They differ only in
where the runs sit in the file:

* **DSM** (column store) writes column 0's chunks for every group, then
  column 1's, and so on: each column's values lie contiguously on their own
  run of pages, so a scan of one column reads nothing else.
* **PAX** writes group 0's chunks for every column, then group 1's: a row
  group's chunks lie together, so rebuilding a row reads pages that are
  close, while a scan of some columns still reads only their chunks.

A chunk starts on a page boundary, so every data page belongs to exactly one
column chunk (PAX's minipages). Row ``r`` is in group ``r // row_group_rows``
at position ``r % row_group_rows``: arithmetic, no search.

The directory (an array group run) holds, per column and group, the chunk's
first page, page count, byte length and raw (unencoded) size, and the
encoding names used per column. Zones and fence units are the row groups.

Point lookups need one value from each of a row group's chunks, but most
encodings (delta, dictionary, compressed payloads) can only be decoded
whole. Lookups therefore keep recently used row groups, decoded, in a
:class:`DecodedChunkCache` shared by the database: the key columns as plain
arrays for the search, and every column behind a :class:`PointGroup` of
value readers for rebuilding the row. A cache miss reads the chunks' pages
through the buffer pool as usual. Scans never use the cache.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import bisect
import threading
from collections import OrderedDict

import numpy as np

from ..batch import AnyColumn, ColumnData, DictionaryColumn, RunColumn, plain
from ..encoding import ChunkView, encode_chunk
from ..errors import CorruptionError, UnsupportedError
from ..index.arrays import pack_arrays, unpack_arrays
from ..record import RecordCodec
from ..schema import Schema
from ..storage.buffer_pool import BufferPool
from ..storage.page_run import RunRef, read_run, run_images, write_run
from .base import LayoutOptions, WrittenLayout

__all__ = [
    "write_dsm",
    "write_pax",
    "ColumnarLayoutReader",
    "DecodedChunkCache",
    "encoding_kind",
    "DEFAULT_ROW_GROUP_ROWS",
]

#: Default rows per chunk. Smaller PAX row groups made row rebuilds cheaper
#: but cost more per chunk than they saved: with 16,384 rows, TPC-H Q6 at
#: SF 0.1 ran about 1.7x slower than with 65,536, and slower compressed
#: than uncompressed.
DEFAULT_ROW_GROUP_ROWS = {"dsm": 65_536, "pax": 65_536}

_FORCED = {"dictionary", "rle", "bitpack", "delta", "for"}


def encoding_kind(column) -> str:
    """Return the ``storagedb.encoding`` kind of a column's storage form."""
    base = column.type.base
    if base == "bool":
        return "uint8"
    if base == "date":
        return "int32"
    if base in ("timestamp", "decimal"):
        return "int64"
    return base


def _encode(values: np.ndarray, nulls: np.ndarray | None, kind: str, compression: str) -> bytes:
    """Encode one chunk following the table's ``compression`` option."""
    if compression == "auto":
        return encode_chunk(values, nulls, kind)
    if compression in ("none", "plain"):
        return encode_chunk(values, nulls, kind, encoding="plain", compression="none")
    if compression in ("zstd", "lz4"):
        return encode_chunk(values, nulls, kind, encoding="plain", compression=compression)
    if compression in _FORCED:
        try:
            return encode_chunk(values, nulls, kind, encoding=compression, compression="none")
        except UnsupportedError:
            # This encoding cannot hold this kind (delta of text, say); the
            # column falls back to plain and ``info`` shows it.
            return encode_chunk(values, nulls, kind, encoding="plain", compression="none")
    raise UnsupportedError(f"unknown compression {compression!r}")


def _write(
    order: str,
    pool: BufferPool,
    file_id: int,
    schema: Schema,
    codec: RecordCodec,
    columns: Sequence[ColumnData],
    count: int,
    options: LayoutOptions,
) -> WrittenLayout:
    group_rows = int(options.row_group_rows)
    bounds = np.arange(0, count, group_rows, dtype=np.int64)
    bounds = np.append(bounds, count) if count else np.zeros(1, dtype=np.int64)
    groups = len(bounds) - 1
    kinds = [encoding_kind(column) for column in schema.columns]
    column_count = len(schema.columns)

    # Encode every chunk first: (column, group) -> bytes.
    chunks: list[list[bytes]] = [[b""] * groups for _ in range(column_count)]
    raw = np.zeros((column_count, groups), dtype=np.int64)
    names: list[set[str]] = [set() for _ in range(column_count)]
    for index, data in enumerate(columns):
        for group in range(groups):
            start, stop = int(bounds[group]), int(bounds[group + 1])
            nulls = None if data.nulls is None else data.nulls[start:stop]
            encoded = _encode(data.values[start:stop], nulls, kinds[index], options.compression)
            view = ChunkView(encoded)
            raw[index, group] = view.raw_bytes
            names[index].add(view.encoding if view.compression == "none" else f"{view.encoding}+{view.compression}")
            chunks[index][group] = encoded

    # Place the runs: column-major for DSM, group-major for PAX.
    if order == "dsm":
        placement = [(c, g) for c in range(column_count) for g in range(groups)]
    else:
        placement = [(c, g) for g in range(groups) for c in range(column_count)]
    first_page = np.zeros((column_count, groups), dtype=np.int64)
    pages = np.zeros((column_count, groups), dtype=np.int64)
    lengths = np.zeros((column_count, groups), dtype=np.int64)
    images = []
    next_page = pool.file(file_id).page_count
    for column, group in placement:
        image = run_images(chunks[column][group], pool.page_size)
        first_page[column, group] = next_page
        pages[column, group] = image.shape[0]
        lengths[column, group] = len(chunks[column][group])
        next_page += image.shape[0]
        images.append(image)
    if images:
        written = pool.write_new_pages(file_id, np.concatenate(images))
        if written != first_page[placement[0]]:
            raise RuntimeError("column chunks landed on unexpected pages: the file grew meanwhile")
    encodings = np.array([", ".join(sorted(n)) for n in names], dtype=object)
    directory = write_run(
        pool,
        file_id,
        pack_arrays(
            [
                (first_page.reshape(-1), None, "int64"),
                (pages.reshape(-1), None, "int64"),
                (lengths.reshape(-1), None, "int64"),
                (raw.reshape(-1), None, "int64"),
                (encodings, None, "text"),
            ]
        ),
    )
    info = {"row_group_rows": group_rows, "groups": groups, "directory": directory.to_json()}
    return WrittenLayout(info, bounds, bounds)


def write_dsm(pool, file_id, schema, codec, columns, count, options) -> WrittenLayout:
    """Write a sealed segment column by column (the ``LayoutWriter`` of ``"dsm"``)."""
    return _write("dsm", pool, file_id, schema, codec, columns, count, options)


def write_pax(pool, file_id, schema, codec, columns, count, options) -> WrittenLayout:
    """Write a sealed segment row group by row group (the ``LayoutWriter`` of ``"pax"``)."""
    return _write("pax", pool, file_id, schema, codec, columns, count, options)


class DecodedChunkCache:
    """Least recently used decoded row groups, bounded in (estimated) bytes.

    Keys are ``(segment path, "keys" or "rows", row group)``. Segment file
    names are never reused, so an entry can never describe another file.
    Thread-safe: ``_lock`` protects the entries and counters.

    NOTE: one cache serves every table of a database. When the hot groups of
    all tables exceed ``max_bytes`` (a 65,536-row lineitem group takes about
    3.4 MB for its rows and 1 MB for its key arrays), lookups spread over the
    tables evict each other and most of them decode whole groups again.
    """

    #: Estimated bytes per value of an object (text or blob) array.
    OBJECT_VALUE_BYTES = 64

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> AnyColumn | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: tuple, data: Any, size: int | None = None) -> None:
        """Keep ``data`` under ``key``; ``size`` (estimated bytes) defaults to that of a decoded chunk."""
        if size is None:
            size = _estimated_bytes(data)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (data, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _key, (_data, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped


def _estimated_bytes(data: AnyColumn) -> int:
    arrays = [getattr(data, name, None) for name in ("values", "codes", "dictionary", "run_values", "run_lengths", "nulls")]
    total = 0
    for array in arrays:
        if isinstance(array, np.ndarray):
            total += len(array) * DecodedChunkCache.OBJECT_VALUE_BYTES if array.dtype == object else array.nbytes
    return total


def _value_reader(data: AnyColumn, is_bool: bool) -> Callable[[int], Any]:
    """Return a function from a row position to that row's storage-form value (None when NULL).

    The work that does not depend on the position (run ends, the dictionary
    as a list) is done here once per decoded chunk, so that each point read
    is one or two C calls.
    """
    only_non_null = False
    if isinstance(data, DictionaryColumn):
        dictionary = data.dictionary.tolist()
        code_at = data.codes.item

        def read(position: int) -> Any:
            return dictionary[code_at(position)]

    elif isinstance(data, RunColumn):
        ends = np.cumsum(data.run_lengths).tolist()
        run_values = data.run_values.tolist()
        only_non_null = True

        def read(index: int) -> Any:
            return run_values[bisect.bisect_right(ends, index)]

    else:
        read = data.values.item
    read = _with_nulls(read, data.nulls, only_non_null)
    if is_bool:
        read_number = read

        def read(position: int) -> Any:
            value = read_number(position)
            return None if value is None else bool(value)

    return read


def _text_reader(bounds: np.ndarray, data: bytes, is_text: bool) -> Callable[[int], Any]:
    """Return a function from a value index to that value of a plain text or blob chunk's bytes."""
    bound = bounds.item

    def read(index: int) -> Any:
        piece = data[bound(index) : bound(index + 1)]
        if not is_text:
            return piece
        try:
            return piece.decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptChunkError(f"plain text payload: value {index} is not valid UTF-8") from None

    return read


def _with_nulls(read: Callable[[int], Any], nulls: np.ndarray | None, only_non_null: bool) -> Callable[[int], Any]:
    """Wrap a value reader so that NULL rows read as None.

    With ``only_non_null``, ``read`` takes an index among the non-NULL rows
    (run-length and plain text chunks store only those), so a row's position
    is first turned into the number of non-NULL rows before it.
    """
    if nulls is None:
        return read
    is_null = nulls.item
    if not only_non_null:

        def read_row(position: int) -> Any:
            return None if is_null(position) else read(position)

        return read_row

    live = ~nulls
    index_of = _narrow(np.cumsum(live) - live).item

    def read_non_null_row(position: int) -> Any:
        return None if is_null(position) else read(index_of(position))

    return read_non_null_row


def _narrow(array: np.ndarray) -> np.ndarray:
    """Return an integer array in the smallest signed dtype that fits its values (point reads keep many)."""
    if array.dtype.kind not in "iu" or len(array) == 0:
        return array
    low, high = int(array.min()), int(array.max())
    for dtype in (np.int8, np.int16, np.int32):
        limits = np.iinfo(dtype)
        if limits.min <= low and high <= limits.max:
            return array if array.dtype == dtype else array.astype(dtype)
    return array


def _narrowed(data: AnyColumn) -> AnyColumn:
    """Return a decoded chunk with its integer arrays narrowed by :func:`_narrow`."""
    if isinstance(data, DictionaryColumn):
        return DictionaryColumn(data.dictionary, _narrow(data.codes), data.nulls)
    if isinstance(data, RunColumn):
        return data
    return ColumnData(_narrow(data.values), data.nulls)


class PointGroup:
    """One row group prepared for point reads: a value reader per column.

    ``nbytes`` estimates the memory of the decoded chunks it keeps alive.
    """

    __slots__ = ("readers", "nbytes")

    def __init__(self, readers: list[Callable[[int], Any]], nbytes: int) -> None:
        self.readers = readers
        self.nbytes = nbytes


#: ``take`` decodes a whole chunk once more than 1/DENSE_TAKE of its rows are wanted.
DENSE_TAKE = 4


class LazyGroup:
    """One row group whose column chunks are read only when asked for.

    A filtered scan decodes the first predicate's columns whole, then reads
    later columns only at the rows still selected (:meth:`take`), which for
    bit-packed encodings unpacks just those values. ``pages`` counts the
    data pages read so far.
    """

    def __init__(self, reader: "ColumnarLayoutReader", group: int) -> None:
        self.reader = reader
        self.group = group
        self.first_row = int(reader.zone_bounds[group])
        self.count = int(reader.zone_bounds[group + 1]) - self.first_row
        self.pages = 0
        self._views: dict[int, ChunkView] = {}
        self._decoded: dict[tuple[int, bool], AnyColumn] = {}

    def _view(self, column: int) -> ChunkView:
        view = self._views.get(column)
        if view is None:
            view = self.reader._chunk(column, self.group)
            self.pages += self.reader.pages[column][self.group]
            self._views[column] = view
        return view

    def column(self, column: int, raw: bool = False) -> AnyColumn:
        """Decode every row of one column (dictionary and run-length chunks stay encoded when ``raw``)."""
        key = (column, raw)
        data = self._decoded.get(key)
        if data is None:
            data = _decode_view(self._view(column), raw)
            self._decoded[key] = data
        return data

    def close(self) -> None:
        """Nothing to release: chunks are copied out of the pool when read."""

    def take(self, column: int, positions: np.ndarray, raw: bool = False) -> AnyColumn:
        """Read one column at the given row positions of the group.

        Above a quarter of the group's rows, decoding the whole chunk once
        and indexing it costs less than unpacking values one by one.
        """
        for key in ((column, raw), (column, False)):
            data = self._decoded.get(key)
            if data is not None:
                return _take_decoded(data, positions)
        if len(positions) * DENSE_TAKE > self.count:
            return _take_decoded(self.column(column, raw), positions)
        view = self._view(column)
        nulls = view.nulls()
        taken_nulls = None if nulls is None else nulls[positions]
        if raw:
            codes = view.take_codes(positions)
            if codes is not None:
                return DictionaryColumn(codes[0], codes[1], taken_nulls)
            if view.encoding.startswith("dictionary"):
                return _take_decoded(self.column(column, raw), positions)
        return ColumnData(view.take(positions), taken_nulls)


def _decode_view(view: ChunkView, raw: bool) -> AnyColumn:
    nulls = view.nulls()
    if raw:
        pair = view.dictionary()
        if pair is not None:
            return DictionaryColumn(pair[0], pair[1], nulls)
        runs = view.runs()
        if runs is not None:
            return RunColumn(runs[0], runs[1], nulls)
    return ColumnData(view.values(), nulls)


def _take_decoded(data: AnyColumn, positions: np.ndarray) -> AnyColumn:
    nulls = None if data.nulls is None else data.nulls[positions]
    if isinstance(data, DictionaryColumn):
        return DictionaryColumn(data.dictionary, data.codes[positions], nulls)
    if isinstance(data, RunColumn):
        expanded = plain(data)
        return ColumnData(expanded.values[positions], nulls)
    return ColumnData(data.values[positions], nulls)


class ColumnarLayoutReader:
    """Reads the column chunks of a DSM or PAX segment."""

    #: Shared by every columnar segment of a database (set by the segment's
    #: opener); see :class:`DecodedChunkCache`. None: decode on every lookup.
    cache: DecodedChunkCache | None = None

    def __init__(
        self,
        pool: BufferPool,
        file_id: int,
        schema: Schema,
        rows: int,
        group_rows: int,
        first_page: np.ndarray,
        pages: np.ndarray,
        lengths: np.ndarray,
        raw: np.ndarray,
        encodings: list[str],
    ) -> None:
        self.pool = pool
        self.file_id = file_id
        self.schema = schema
        self.rows = rows
        self.group_rows = group_rows
        groups = first_page.shape[1]
        self.zone_bounds = np.append(np.arange(0, rows, group_rows, dtype=np.int64), rows) if rows else np.zeros(1, np.int64)
        if len(self.zone_bounds) - 1 != groups:
            raise CorruptionError(f"{pool.file(file_id).path}: chunk directory has {groups} groups for {rows} rows")
        self.fence_bounds = self.zone_bounds
        self.first_page = first_page.tolist()
        self.pages = pages.tolist()
        self.lengths = lengths.tolist()
        self._pages_array = pages
        self._lengths_array = lengths
        self._raw = raw
        self.encodings = encodings
        self.key_indexes = schema.key_indexes
        self.path = pool.file(file_id).path
        self._bool_columns = {i for i, c in enumerate(schema.columns) if c.type.base == "bool"}

    @classmethod
    def open(cls, pool, file_id, schema, codec, info, rows) -> "ColumnarLayoutReader":
        path = pool.file(file_id).path

        try:
            group_rows = int(info["row_group_rows"])
            groups = int(info["groups"])
            ref = RunRef.from_json(info["directory"], path)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptionError(f"{path}: columnar segment descriptor is invalid ({exc})") from None

        # Checked before anything is sized by ``rows``: a damaged count must
        # not make the reader allocate zone bounds for it.
        consistent = (rows == 0 and groups == 0) or (
            group_rows >= 1 and groups >= 1 and (groups - 1) * group_rows < rows <= groups * group_rows
        )
        if not consistent:
            raise CorruptionError(
                f"{path}: columnar segment declares {rows} rows in {groups} groups of {group_rows} rows"
            )

        arrays = unpack_arrays(read_run(pool, file_id, ref), path)
        columns = len(schema.columns)
        if len(arrays) != 5:
            raise CorruptionError(f"{path}: chunk directory has {len(arrays)} arrays, expected 5")
        shaped = []
        for values, _nulls in arrays[:4]:
            if len(values) != columns * groups:
                raise CorruptionError(f"{path}: chunk directory has {len(values)} entries, expected {columns * groups}")
            shaped.append(np.asarray(values, dtype=np.int64).reshape(columns, groups))

        first_page, pages, lengths, raw = shaped
        page_count = pool.file(file_id).page_count
        capacity = pool.page_size - 24
        if np.any(first_page < 1) or np.any(first_page + pages > page_count) or np.any(
            pages != np.maximum(1, -(-lengths // capacity))
        ):
            raise CorruptionError(f"{path}: chunk directory points outside the file or has inconsistent sizes")

        encodings = arrays[4][0].tolist()
        if len(encodings) != columns:
            raise CorruptionError(f"{path}: chunk directory names {len(encodings)} encodings for {columns} columns")
        return cls(pool, file_id, schema, rows, group_rows, first_page, pages, lengths, raw, encodings)

    # -- chunks ----------------------------------------------------------

    def _chunk(self, column: int, group: int) -> ChunkView:
        ref = RunRef(self.first_page[column][group], self.pages[column][group], self.lengths[column][group])
        view = ChunkView(read_run(self.pool, self.file_id, ref))
        expected = min(self.group_rows, self.rows - group * self.group_rows)
        if view.row_count != expected:
            path = self.pool.file(self.file_id).path
            raise CorruptionError(
                f"{path}: chunk of column {self.schema.columns[column].name!r} in row group {group} "
                f"holds {view.row_count} rows, expected {expected}"
            )
        return view

    def _decode(self, column: int, group: int, raw: bool) -> AnyColumn:
        return _decode_view(self._chunk(column, group), raw)

    def scan_zones(
        self, first_zone: int, last_zone: int, wanted: Sequence[int], raw: bool = False
    ) -> Iterator[tuple[int, list[AnyColumn], int]]:
        for group in range(first_zone, last_zone):
            columns = [self._decode(column, group, raw) for column in wanted]
            pages = sum(self.pages[column][group] for column in wanted)
            yield int(self.zone_bounds[group]), columns, pages

    def groups(self, first_zone: int, last_zone: int) -> Iterator["LazyGroup"]:
        """Row groups ``first_zone`` .. ``last_zone - 1`` whose chunks decode on demand."""
        for group in range(first_zone, last_zone):
            yield LazyGroup(self, group)

    def zone_page_counts(self) -> np.ndarray:
        """Data pages of every zone (all columns), as an array."""
        return self._pages_array.sum(axis=0)

    def _point_group(self, group: int) -> tuple[PointGroup, int]:
        """Return row group ``group`` prepared for point reads, and the number of pages read for it.

        The group comes from the cache when possible, and then no pages are
        read. Dictionary and run-length chunks stay in their compact forms.
        """
        cache = self.cache
        key = (self.path, "rows", group)
        entry = cache.get(key) if cache is not None else None
        if entry is not None:
            return entry, 0
        readers = []
        nbytes = 0
        pages = 0
        for column in range(len(self.schema.columns)):
            view = self._chunk(column, group)
            pages += self.pages[column][group]
            parts = view.variable_bounds()
            if parts is not None:
                # Plain text stays as bytes, about a third of the memory of str objects.
                bounds, data = _narrow(parts[0]), parts[1]
                nulls = view.nulls()
                is_text = self.schema.columns[column].type.base == "text"
                readers.append(_with_nulls(_text_reader(bounds, data, is_text), nulls, only_non_null=True))
                # A NULL mask of one byte per row and an index of at most four.
                nbytes += len(data) + bounds.nbytes + (0 if nulls is None else 5 * len(nulls))
                continue
            decoded = _narrowed(_decode_view(view, raw=True))
            nbytes += _estimated_bytes(decoded)
            readers.append(_value_reader(decoded, column in self._bool_columns))
        entry = PointGroup(readers, nbytes)
        if cache is not None:
            cache.put(key, entry, nbytes)
        return entry, pages

    def _key_arrays(self, group: int) -> tuple[list[np.ndarray], int]:
        """Return the key columns of row group ``group`` as plain arrays, and the pages read for them."""
        cache = self.cache
        key = (self.path, "keys", group)
        arrays = cache.get(key) if cache is not None else None
        if arrays is not None:
            return arrays, 0
        arrays = []
        pages = 0
        for column in self.key_indexes:
            # Not narrowed: searchsorted with a Python int on a narrower
            # array converts the whole array first.
            arrays.append(self._decode(column, group, raw=False).values)
            pages += self.pages[column][group]
        if cache is not None:
            cache.put(key, arrays, sum(_estimated_bytes(ColumnData(values, None)) for values in arrays))
        return arrays, pages

    def fetch_row(self, row: int) -> tuple[tuple, int]:
        """``(row values, pages read)`` of one row id."""
        group, position = divmod(int(row), self.group_rows)
        entry, pages = self._point_group(group)
        return tuple([read(position) for read in entry.readers]), pages

    def fetch_in_unit(self, unit: int, key: tuple):
        """``((row id, row values) or None, pages read)`` for ``key`` in row group ``unit``."""
        row, pages = self.find_in_unit(unit, key)
        if row is None:
            return None, pages
        values, more = self.fetch_row(row)
        return (row, values), pages + more

    def read_rows(self, rows: np.ndarray, wanted: Sequence[int]) -> tuple[list[ColumnData], int]:
        rows = np.asarray(rows, dtype=np.int64)
        groups = rows // self.group_rows
        out_values: list[list[Any]] = [[None] * len(rows) for _ in wanted]
        out_nulls = [np.zeros(len(rows), dtype=bool) for _ in wanted]
        pages = 0
        for group in np.unique(groups).tolist():
            picked = np.flatnonzero(groups == group)
            positions = rows[picked] - group * self.group_rows
            for slot, column in enumerate(wanted):
                view = self._chunk(column, group)
                pages += self.pages[column][group]
                values = view.take(positions)
                nulls = view.nulls()
                for index, position, value in zip(picked.tolist(), positions.tolist(), values.tolist()):
                    out_values[slot][index] = value
                    if nulls is not None and nulls[position]:
                        out_nulls[slot][index] = True
        columns = []
        for slot, column in enumerate(wanted):
            ctype = self.schema.columns[column].type
            values = np.empty(len(rows), dtype=ctype.storage_dtype)
            values[:] = out_values[slot]
            nulls = out_nulls[slot]
            columns.append(ColumnData(values, nulls if nulls.any() else None))
        return columns, pages

    def find_in_unit(self, unit: int, key: tuple) -> tuple[int | None, int]:
        """Search row group ``unit`` for ``key`` by binary search on its key columns."""
        arrays, pages = self._key_arrays(unit)
        low, high = 0, len(arrays[0])
        for values, part in zip(arrays, key):
            segment = values[low:high]
            start = int(segment.searchsorted(part, side="left"))
            stop = int(segment.searchsorted(part, side="right"))
            low, high = low + start, low + stop
            if low >= high:
                return None, pages
        return int(self.zone_bounds[unit]) + low, pages

    def column_bytes(self) -> list[dict[str, Any]]:
        out = []
        for index, column in enumerate(self.schema.columns):
            out.append(
                {
                    "column": column.name,
                    "pages": int(self._pages_array[index].sum()),
                    "raw_bytes": int(self._raw[index].sum()),
                    "stored_bytes": int(self._lengths_array[index].sum()),
                    "encoding": self.encodings[index],
                    "encodings": [name for name in self.encodings[index].split(", ") if name],
                }
            )
        return out
