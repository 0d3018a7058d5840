"""Tables: an ordered list of sealed segments plus one open segment.

A table's rows live in

* **sealed segments** (``segment.py``), immutable files in the table's
  layout, oldest first, each sorted by primary key when the table has one,
  each with zone maps, fence keys and a Bloom filter; and
* at most one **open segment** (``open_segment.py``) taking single-row
  changes.

Bulk loads write new sealed segments directly and never rewrite old ones.
Updating or deleting a row of a sealed segment sets its bit in that
segment's delete vector; an update then inserts the new version into the
open segment. A primary key is unique across all segments: at most one live
row holds it.

Point lookups visit the open segment, then the sealed segments newest
first; each sealed segment is skipped when the key is outside its key range
or its Bloom filter rules the key out, before any data page is read.

Concurrency: one lock per database (``Database._lock``) serialises every
table operation; a scan takes it per batch, not for the whole iteration.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .batch import ColumnData
from .convert import arrays_to_columns, row_to_storage, rows_to_columns, to_batch_array, to_python_list
from .errors import DuplicateKeyError, InvalidValueError, PredicateError, SchemaError, UnsupportedError
from .index.delete_vector import read_delete_vector
from .index.keyhash import hash_key
from .batch import plain
from .layout.base import LayoutOptions
from .layout.columnar import DEFAULT_ROW_GROUP_ROWS
from .open_segment import OpenSegment
from .record import RecordCodec
from .schema import Schema
from .segment import SealedSegment, SegmentStats, sort_order

if TYPE_CHECKING:
    from .database import Database

__all__ = ["Table"]

log = logging.getLogger(__name__)

#: Default rows per segment: the open segment is sealed at this size and a
#: bulk load cuts its input into segments of at most this many rows.
DEFAULT_SEGMENT_ROWS = 1 << 20
#: A bulk insert of at least this many rows goes straight into new sealed
#: segments instead of through the open segment.
BULK_THRESHOLD = 4096
DEFAULT_BLOOM_BITS = 10


class Table:
    """One table of an open database. Get one from ``Database.table`` or ``create_table``."""

    def __init__(self, db: "Database", name: str, entry: dict[str, Any]) -> None:
        self._db = db
        self.name = name
        self.schema = Schema.from_json(entry["schema"])
        self.layout = entry["layout"]
        self.options = dict(entry.get("options", {}))
        self.directory = os.path.join(db.path, entry["directory"])
        self._codec = RecordCodec(self.schema)
        self._key_indexes = self.schema.key_indexes
        self._key_types = [self.schema.columns[i].type for i in self._key_indexes]
        self._key_kinds = [t.base for t in self._key_types]
        self._segment_rows = int(self.options.get("segment_rows", DEFAULT_SEGMENT_ROWS))
        self._bloom_bits = int(self.options.get("bloom_bits_per_key", DEFAULT_BLOOM_BITS))
        self._layout_options = LayoutOptions(
            compression=self.options.get("compression", "auto"),
            row_group_rows=int(self.options.get("row_group_rows", DEFAULT_ROW_GROUP_ROWS.get(self.layout, 65_536))),
        )
        self._stats = SegmentStats()
        self._segments: list[SealedSegment] = []
        self._vector_files: dict[str, str | None] = {}
        self._open: OpenSegment | None = None
        self._closed = False
        self._active_scans = 0
        self._retired: list[tuple[SealedSegment, list[str]]] = []
        try:
            for item in entry["segments"]:
                segment = SealedSegment.open(os.path.join(self.directory, item["file"]), db._pool, self.schema)
                self._segments.append(segment)
                vector = item.get("delete_vector")
                self._vector_files[segment.name] = vector
                if vector:
                    segment.set_delete_vector(
                        read_delete_vector(os.path.join(self.directory, vector), db._pool, segment.rows)
                    )
        except BaseException:
            for segment in self._segments:
                segment.close()
            raise

    # -- description -----------------------------------------------------

    @property
    def columns(self) -> list[str]:
        """Column names in table order (the order of values in scanned rows)."""
        return self.schema.names

    @property
    def primary_key(self) -> tuple[str, ...]:
        return self.schema.primary_key

    def __repr__(self) -> str:
        return f"<storagedb.Table {self.name!r} layout={self.layout} rows={self.row_count()}>"

    def row_count(self) -> int:
        """Live rows in the table."""
        with self._db._lock:
            self._check_open()
            return sum(s.live_rows for s in self._segments) + (self._open.rows if self._open else 0)

    def stats(self) -> dict[str, Any]:
        """Sizes and counters of this table.

        Keys include ``rows``, ``segments``, ``pages``, ``bytes``, ``layout``
        and the read counters ``lookups``, ``segments_skipped_by_range``,
        ``segments_skipped_by_bloom``, ``bloom_false_positives``,
        ``data_pages_read``, ``pages_read``, ``pages_skipped``,
        ``zones_read`` and ``zones_skipped``.

        Example:
            >>> db.table("orders").stats()["rows"]  # doctest: +SKIP
            1500
        """
        with self._db._lock:
            self._check_open()
            pages = sum(s.file.page_count for s in self._segments)
            size = sum(s.file.size_on_disk() for s in self._segments)
            if self._open is not None:
                pages += self._open.pages()
                size += self._open.file.size_on_disk()
            out: dict[str, Any] = {
                "name": self.name,
                "layout": self.layout,
                "rows": self.row_count(),
                "segments": len(self._segments) + (1 if self._open is not None and self._open.rows else 0),
                "sealed_segments": len(self._segments),
                "open_segment_rows": self._open.rows if self._open else 0,
                "deleted_rows": sum(s.deleted_count for s in self._segments),
                "pages": pages,
                "bytes": size,
            }
            out.update(self._stats.as_dict())
            return out

    def column_info(self) -> list[dict[str, Any]]:
        """Per column: type, pages, encodings, raw and stored bytes over all sealed segments."""
        with self._db._lock:
            self._check_open()
            out = []
            for index, column in enumerate(self.schema.columns):
                entry: dict[str, Any] = {"name": column.name, "type": column.type.name, "nullable": column.nullable}
                parts = [segment.reader.column_bytes()[index] for segment in self._segments]
                if parts and all(part.get("pages") is not None for part in parts):
                    entry["pages"] = sum(part["pages"] for part in parts)
                    entry["raw_bytes"] = sum(part["raw_bytes"] for part in parts)
                    entry["stored_bytes"] = sum(part["stored_bytes"] for part in parts)
                    entry["ratio"] = entry["raw_bytes"] / entry["stored_bytes"] if entry["stored_bytes"] else None
                    encodings = sorted({name for part in parts for name in part.get("encodings", [part["encoding"]])})
                    entry["encoding"] = ", ".join(encodings)
                else:
                    entry["encoding"] = parts[0]["encoding"] if parts else None
                out.append(entry)
            return out

    def segments(self) -> list[dict[str, Any]]:
        """One description per sealed segment: file, rows, key range, Bloom filter size."""
        with self._db._lock:
            self._check_open()
            return [segment.describe() for segment in self._segments]

    # -- writes ----------------------------------------------------------

    def insert(self, row: Mapping[str, Any] | Sequence[Any]) -> None:
        """Insert one row, given as a dict by column name or a tuple in column order.

        Example:
            >>> orders.insert({"id": 1, "customer": "ada", "total": "12.50"})  # doctest: +SKIP

        Raises:
            DuplicateKeyError: the primary key is already present.
            InvalidValueError, NotNullError, SchemaError: a bad value or
                column; nothing is changed.
        """
        values = row_to_storage(self.schema, row)
        with self._db._lock:
            self._check_open()
            key = self._key_from_values(values)
            if key is not None and self._locate(key, count=False) is not None:
                raise DuplicateKeyError(f"table {self.name!r}: duplicate primary key {self._show_key(key)}")
            self._open_segment().insert(values, key)
            self._after_open_write()

    def insert_many(self, rows: Iterable[Any] | Mapping[str, Any]) -> int:
        """Insert many rows at once, all or nothing; returns the row count.

        ``rows`` is an iterable of dicts or tuples, or a dict mapping column
        names to equally long arrays (numpy arrays, masked arrays or lists).
        Large inputs are written straight into new sealed segments.

        Example:
            >>> orders.insert_many({"id": np.arange(3), "total": np.array([1.5, 2.0, 0.25])})  # doctest: +SKIP
            3

        Raises:
            DuplicateKeyError: a key repeats in the input or is already in
                the table.
            InvalidValueError, NotNullError, SchemaError: a bad value; the
                message names the row and column. Nothing is inserted.
        """
        if isinstance(rows, Mapping):
            columns, count = arrays_to_columns(self.schema, rows)
        else:
            converted = [row_to_storage(self.schema, row, f"row {i}") for i, row in enumerate(rows)]
            count = len(converted)
            columns = rows_to_columns(self.schema, converted)
        self.load_columns([(columns, count, None)])
        return count

    def load_columns(
        self, batches: Iterable[tuple[list[ColumnData], int, np.ndarray | None]], source: str | None = None
    ) -> int:
        """Insert storage-form column batches atomically; the bulk path under ``insert_many``.

        Each batch is ``(columns, count, line_numbers)``; line numbers (or
        None) and ``source`` only name rows in error messages. Returns the
        rows inserted. On any error no row of any batch is inserted.
        """
        with self._db._lock:
            self._check_open()
            written: list[SealedSegment] = []
            small: list[tuple[tuple, tuple | None]] = []
            seen_small: set = set()
            total = 0
            try:
                for columns, count, lines in batches:
                    if not count:
                        continue
                    total += count
                    keys = self._check_batch_keys(columns, count, lines, source, written)
                    if count < BULK_THRESHOLD and not written:
                        rows = list(zip(*(to_storage_lists(c) for c in columns)))
                        for i, values in enumerate(rows):
                            key = keys[i] if keys is not None else None
                            if key is not None:
                                if key in seen_small:
                                    raise DuplicateKeyError(
                                        f"{self._where(source, lines, i)}duplicate primary key {self._show_key(key)}"
                                    )
                                seen_small.add(key)
                            small.append((values, key))
                        continue
                    if small:
                        # Rows held back for the open segment now go into segments too.
                        held = rows_to_columns(self.schema, [values for values, _ in small])
                        written.extend(self._write_segments(held, len(small)))
                        small = []
                    written.extend(self._write_segments(columns, count))
                for values, key in small:
                    self._open_segment().insert(values, key)
                if written:
                    self._segments.extend(written)
                    for segment in written:
                        self._vector_files[segment.name] = None
                    self._db._commit_tables()
            except BaseException:
                for segment in written:
                    if segment in self._segments:
                        self._segments.remove(segment)
                    segment.close()
                    os.unlink(segment.path)
                    self._vector_files.pop(segment.name, None)
                if small and self._open is not None:
                    for values, key in small:
                        if key is not None and self._open.find(key) is not None:
                            self._open.delete(self._open.find(key), key)
                raise
            self._after_open_write()
            return total

    def update(self, key: Any, changes: Mapping[str, Any]) -> bool:
        """Change columns of the row with primary key ``key``; False if there is none.

        Example:
            >>> orders.update(1, {"total": "13.00"})  # doctest: +SKIP
            True

        Raises:
            DuplicateKeyError: the change moves the row onto an existing key.
            InvalidValueError, NotNullError, SchemaError: a bad value.
        """
        if not isinstance(changes, Mapping):
            raise SchemaError(f"changes must be a dict of column name to value, not {type(changes).__name__}")
        with self._db._lock:
            self._check_open()
            key_tuple = self._normalise_key(key)
            found = self._locate(key_tuple, count=False)
            if found is None:
                return False
            old = self._read_found(found)
            merged = dict(zip(self.schema.names, (self.schema.columns[i].type.from_storage(v) for i, v in enumerate(old))))
            merged.update(changes)
            values = row_to_storage(self.schema, merged)
            new_key = self._key_from_values(values)
            if new_key != key_tuple and self._locate(new_key, count=False) is not None:
                raise DuplicateKeyError(f"table {self.name!r}: duplicate primary key {self._show_key(new_key)}")
            where, position = found
            if where is None:
                self._open.update(position, key_tuple, values, new_key)
            else:
                where.mark_deleted(position)
                self._open_segment().insert(values, new_key)
            self._after_open_write()
            return True

    def delete(self, key: Any) -> bool:
        """Delete the row with primary key ``key``; False if there is none."""
        with self._db._lock:
            self._check_open()
            key_tuple = self._normalise_key(key)
            found = self._locate(key_tuple, count=False)
            if found is None:
                return False
            where, position = found
            if where is None:
                self._open.delete(position, key_tuple)
            else:
                where.mark_deleted(position)
            return True

    # -- point reads -----------------------------------------------------

    def get(self, key: Any) -> dict[str, Any] | None:
        """The row with primary key ``key`` as a dict, or None.

        A composite key is a tuple in key-column order.

        Example:
            >>> orders.get(1)  # doctest: +SKIP
            {'id': 1, 'customer': 'ada', 'total': Decimal('12.50')}

        Raises:
            UnsupportedError: the table has no primary key.
            InvalidValueError: the key does not fit the key columns' types.
        """
        with self._db._lock:
            self._check_open()
            key_tuple = self._normalise_key(key)
            found = self._locate(key_tuple, count=True)
            if found is None:
                return None
            values = self._read_found(found)
        columns = self.schema.columns
        return {c.name: c.type.from_storage(v) for c, v in zip(columns, values)}

    def _locate(self, key: tuple, count: bool) -> tuple[SealedSegment | None, int] | None:
        """Where the live row with ``key`` is: (None, record id) or (segment, row id)."""
        stats = self._stats
        if count:
            stats.lookups += 1
        if self._open is not None:
            rid = self._open.find(key)
            if rid is not None:
                return None, rid
        if not self._segments:
            return None
        key_hash = hash_key(key, self._key_kinds)
        for segment in reversed(self._segments):
            row = segment.find(key, key_hash, stats)
            if row is not None:
                return segment, row
        return None

    def _read_found(self, found: tuple[SealedSegment | None, int]) -> tuple:
        where, position = found
        if where is None:
            return self._open.read(position)
        columns = where.read_rows(np.array([position]), range(len(self.schema.columns)), self._stats)
        return tuple(_storage_value(c, 0) for c in columns)

    # -- scans -----------------------------------------------------------

    def scan(self, columns: Sequence[str] | None = None, where: Any = None) -> Iterator[tuple]:
        """Yield matching rows as tuples of Python values, in ``columns`` order.

        Rows come segment by segment (oldest first, then the open segment),
        sorted by primary key within each sealed segment; there is no
        global order.

        Example:
            >>> for row in orders.scan(columns=["id", "total"], where=storagedb.col("total") > 10):  # doctest: +SKIP
            ...     print(row)

        Raises:
            SchemaError: an unknown column.
            PredicateError: a malformed ``where``.
        """
        wanted = self._wanted(columns)
        schema_columns = [self.schema.columns[i] for i in wanted]
        for batch in self._scan_storage(wanted, where):
            lists = [to_python_list(column, data) for column, data in zip(schema_columns, batch)]
            yield from zip(*lists)

    def scan_batches(self, columns: Sequence[str] | None = None, where: Any = None) -> Iterator[dict[str, np.ndarray]]:
        """Yield matching rows as dicts of numpy arrays, one entry per column.

        Dates come as ``datetime64[D]``, timestamps as ``datetime64[us]``,
        decimals as int64 counts of ``10**-scale`` (exact), text and blobs as
        object arrays. Nullable columns come as ``np.ma.MaskedArray``.

        Example:
            >>> for batch in lineitem.scan_batches(["l_quantity"]):  # doctest: +SKIP
            ...     total += batch["l_quantity"].sum()
        """
        wanted = self._wanted(columns)
        schema_columns = [self.schema.columns[i] for i in wanted]
        for batch in self._scan_storage(wanted, where):
            yield {c.name: to_batch_array(c, data) for c, data in zip(schema_columns, batch)}

    def _wanted(self, columns: Sequence[str] | None) -> list[int]:
        if columns is None:
            return list(range(len(self.schema.columns)))
        if isinstance(columns, str):
            columns = [part.strip() for part in columns.split(",")]
        return [self.schema.index_of(name) for name in columns]

    def _bind(self, where: Any):
        if where is None:
            return None
        from .predicate import Predicate

        if not isinstance(where, Predicate):
            raise PredicateError(
                f"where= takes an expression built with storagedb.col(...), not {type(where).__name__}"
            )
        return where.bind(self.schema)

    def _scan_storage(self, wanted: list[int], where: Any, keep_encoded: bool = False) -> Iterator[list[Any]]:
        """Yield lists of storage-form columns ``wanted`` for matching live rows.

        With ``keep_encoded``, a batch that needs no row selection keeps its
        dictionary and run-length columns unexpanded (for aggregates).
        """
        bound = self._bind(where)
        needed = list(wanted)
        if bound is not None:
            for name in sorted(bound.columns):
                index = self.schema.index_of(name)
                if index not in needed:
                    needed.append(index)
        positions = [needed.index(i) for i in wanted]
        with self._db._lock:
            self._check_open()
            segments = list(self._segments)
            self._active_scans += 1
        try:
            yield from self._scan_segments(segments, bound, needed, positions, keep_encoded)
        finally:
            with self._db._lock:
                self._active_scans -= 1
                if not self._closed:
                    self._release_retired()

    def _scan_segments(self, segments, bound, needed, positions, keep_encoded) -> Iterator[list[Any]]:
        zone_filter = self._zone_filter(bound) if bound is not None else None
        for segment in segments:
            iterator = segment.scan(needed, zone_filter, self._stats, raw=bound is not None or keep_encoded)
            while True:
                with self._db._lock:
                    self._check_open()
                    item = next(iterator, None)
                if item is None:
                    break
                first_row, columns = item
                count = len(columns[0]) if columns else 0
                mask = segment.live_mask(first_row, count)
                selected = self._select(columns, count, mask, bound, needed, positions, keep_encoded)
                if selected is not None:
                    yield selected
        with self._db._lock:
            self._check_open()
            open_batches = list(self._open.scan(needed)) if self._open is not None else []
        for columns, rids in open_batches:
            selected = self._select(columns, len(rids), None, bound, needed, positions)
            if selected is not None:
                yield selected

    def _select(self, columns, count, mask, bound, needed, positions, keep_encoded=False) -> list[Any] | None:
        if bound is not None:
            named = {self.schema.columns[i].name: c for i, c in zip(needed, columns)}
            matches = bound.evaluate(named, count)
            mask = matches if mask is None else (mask & matches)
        if mask is None and keep_encoded:
            return [columns[p] for p in positions] if count else None
        out = [plain(columns[p]) for p in positions]
        if mask is None:
            return out if count else None
        if not mask.any():
            return None
        if mask.all():
            return out
        picked = np.flatnonzero(mask)
        return [ColumnData(c.values[picked], None if c.nulls is None else c.nulls[picked]) for c in out]

    def _zone_filter(self, bound):
        from .predicate import ZoneStats

        indexes = [(name, self.schema.index_of(name)) for name in bound.columns]

        def accept(segment: SealedSegment, zone: int) -> bool:
            zones = {name: ZoneStats(*segment.zone_stats(index, zone)) for name, index in indexes}
            return bound.may_match(zones)

        return accept

    # -- aggregates ------------------------------------------------------

    def aggregate(
        self,
        group_by: Sequence[str] = (),
        aggregates: Mapping[str, tuple[str, str]] | None = None,
        where: Any = None,
    ):
        """Group matching rows and compute aggregates, vectorised.

        ``aggregates`` maps an output name to ``(function, column)`` with
        function one of ``count``, ``sum``, ``min``, ``max``, ``avg``;
        ``("count", "*")`` counts rows. Decimal sums and averages are exact.
        Returns an ``AggregateResult`` with ``names``, ``rows`` (one tuple
        per group, sorted by group key) and ``columns()``.

        Example:
            >>> result = lineitem.aggregate(group_by=["l_returnflag"],
            ...     aggregates={"qty": ("sum", "l_quantity"), "n": ("count", "*")})  # doctest: +SKIP
            >>> result.rows  # doctest: +SKIP
            [('A', 3774200, 147790), ...]

        Raises:
            SchemaError, PredicateError: unknown columns or functions, or a
                function that does not apply to a column's type.
        """
        from .aggregate import AggregateSpec

        if isinstance(group_by, str):
            group_by = [part.strip() for part in group_by.split(",") if part.strip()]
        spec = AggregateSpec.build(self.schema, group_by=list(group_by), aggregates=dict(aggregates or {}))
        names = list(spec.input_columns)
        wanted = [self.schema.index_of(name) for name in names]
        accumulator = spec.accumulator()
        if not wanted:
            # count(*) alone still needs the row count of each batch.
            wanted = [0]
        for batch in self._scan_storage(wanted, where, keep_encoded=True):
            length = len(batch[0])
            accumulator.add({name: column for name, column in zip(names, batch)}, length)
        return accumulator.result()

    # -- compaction ------------------------------------------------------

    def compact(self) -> dict[str, int]:
        """Merge every segment into as few sealed segments as possible.

        Deleted and superseded rows are dropped and a keyed table's rows are
        sorted across the whole table, so the new segments have disjoint key
        ranges. The catalog switches to the new files only after they are
        synced; the old files are removed after the switch (or, while a scan
        still reads them, when it finishes).

        NOTE: compaction holds every live row of the table in memory at once.

        Returns ``{"rows": live rows, "segments_before": n, "segments_after": m}``.
        """
        with self._db._lock:
            self._check_open()
            self.seal()
            before = len(self._segments)
            if before <= 1 and not any(s.deleted_count for s in self._segments):
                return {"rows": self.row_count(), "segments_before": before, "segments_after": before}
            wanted = list(range(len(self.schema.columns)))
            parts: list[list[ColumnData]] = []
            for segment in self._segments:
                for first_row, columns in segment.scan(wanted, None, self._stats):
                    mask = segment.live_mask(first_row, len(columns[0]))
                    if mask is not None:
                        picked = np.flatnonzero(mask)
                        columns = [
                            ColumnData(c.values[picked], None if c.nulls is None else c.nulls[picked]) for c in columns
                        ]
                    parts.append(columns)
            merged, count = _concatenate(parts, self.schema)
            if self._key_indexes and count > 1:
                order = sort_order([merged[i].values for i in self._key_indexes])
                merged = [ColumnData(c.values[order], None if c.nulls is None else c.nulls[order]) for c in merged]
            written = self._write_segments(merged, count) if count else []
            old = [(segment, self._segment_files(segment)) for segment in self._segments]
            self._segments = list(written)
            self._vector_files = {segment.name: None for segment in written}
            self._db._commit_tables()
            for segment, files in old:
                self._retire(segment, files)
            log.info("table %s: compacted %d segments into %d (%d rows)", self.name, before, len(written), count)
            return {"rows": count, "segments_before": before, "segments_after": len(written)}

    def _segment_files(self, segment: SealedSegment) -> list[str]:
        vector = self._vector_files.get(segment.name)
        return [segment.path] + ([os.path.join(self.directory, vector)] if vector else [])

    def _retire(self, segment: SealedSegment, files: list[str]) -> None:
        """Close a replaced segment and delete its files, now or after the last running scan."""
        if self._active_scans:
            self._retired.append((segment, files))
            return
        segment.close()
        for path in files:
            if os.path.exists(path):
                os.unlink(path)

    def _release_retired(self) -> None:
        if self._active_scans or not self._retired:
            return
        retired, self._retired = self._retired, []
        for segment, files in retired:
            segment.close()
            for path in files:
                if os.path.exists(path):
                    os.unlink(path)

    # -- segments --------------------------------------------------------

    def _open_segment(self) -> OpenSegment:
        if self._open is None:
            name = f"open-{self._db._new_file_id():06d}.sdb"
            self._open = OpenSegment(os.path.join(self.directory, name), self._db._pool, self._codec)
        return self._open

    def _after_open_write(self) -> None:
        if self._open is not None and self._open.rows >= self._segment_rows:
            self.seal()

    def seal(self) -> None:
        """Write the open segment's rows as a new sealed segment (no-op when empty)."""
        with self._db._lock:
            self._check_open()
            opened = self._open
            if opened is None:
                return
            if not opened.rows:
                opened.close()
                self._open = None
                return
            columns, count = opened.all_columns()
            written = self._write_segments(columns, count)
            self._segments.extend(written)
            for segment in written:
                self._vector_files[segment.name] = None
            self._db._commit_tables()
            opened.close()
            self._open = None
            log.info("table %s: sealed %d rows into %s", self.name, count, ", ".join(s.name for s in written))

    def _write_segments(self, columns: list[ColumnData], count: int) -> list[SealedSegment]:
        """Write rows as sealed segments of at most ``segment_rows`` rows each."""
        if self._key_indexes and count > self._segment_rows:
            order = sort_order([columns[i].values for i in self._key_indexes])
            columns = [ColumnData(c.values[order], None if c.nulls is None else c.nulls[order]) for c in columns]
        written = []
        try:
            for start in range(0, count, self._segment_rows):
                stop = min(start + self._segment_rows, count)
                piece = [
                    ColumnData(c.values[start:stop], None if c.nulls is None else c.nulls[start:stop]) for c in columns
                ]
                name = f"seg-{self._db._new_file_id():06d}.sdb"
                written.append(
                    SealedSegment.write(
                        os.path.join(self.directory, name),
                        self._db._pool,
                        self.schema,
                        self.layout,
                        piece,
                        stop - start,
                        options=self._layout_options,
                        bloom_bits_per_key=self._bloom_bits,
                    )
                )
        except BaseException:
            for segment in written:
                segment.close()
                os.unlink(segment.path)
            raise
        return written

    def _check_batch_keys(self, columns, count, lines, source, pending: list[SealedSegment]) -> list[tuple] | None:
        """Reject NaN keys, duplicates inside the batch and keys already stored.

        Returns the batch's keys as tuples when the batch is small enough to
        go through the open segment, else None.
        """
        if not self._key_indexes:
            return None
        key_columns = [columns[i].values for i in self._key_indexes]
        for column, ctype in zip(key_columns, self._key_types):
            if ctype.is_float and count:
                bad = np.flatnonzero(np.isnan(column))
                if len(bad):
                    raise InvalidValueError(f"{self._where(source, lines, int(bad[0]))}primary key is NaN")
        order = sort_order(key_columns)
        if count > 1:
            same = np.ones(count - 1, dtype=bool)
            for column in key_columns:
                ordered = column[order]
                same &= ordered[1:] == ordered[:-1]
            if same.any():
                first = int(np.flatnonzero(same)[0])
                a, b = sorted((int(order[first]), int(order[first + 1])))
                key = tuple(_item(column[b]) for column in key_columns)
                detail = self._where(source, lines, b)
                earlier = f" (first seen on line {int(lines[a])})" if lines is not None else f" (also row {a})"
                raise DuplicateKeyError(f"{detail}duplicate primary key {self._show_key(key)}{earlier}")
        segments = self._segments + pending
        if not segments and self._open is None:
            return [tuple(_item(c[i]) for c in key_columns) for i in range(count)] if count < BULK_THRESHOLD else None
        keys = list(zip(*(c.tolist() for c in key_columns)))
        hashes = None
        if segments:
            from .index.keyhash import hash_key_columns

            hashes = hash_key_columns(key_columns, self._key_kinds)
        if self._open is not None:
            for i, key in enumerate(keys):
                if key in self._open.keys:
                    raise DuplicateKeyError(
                        f"{self._where(source, lines, i)}duplicate primary key {self._show_key(key)} (already in the table)"
                    )
        scratch = SegmentStats()
        for segment in segments:
            if not segment.rows:
                continue
            candidates = segment.bloom.may_contain_many(hashes)
            for i in np.flatnonzero(candidates).tolist():
                key = keys[i]
                if segment.find(key, int(hashes[i]), scratch) is not None:
                    raise DuplicateKeyError(
                        f"{self._where(source, lines, i)}duplicate primary key {self._show_key(key)} (already in the table)"
                    )
        self._stats.data_pages_read += scratch.data_pages_read
        return keys if count < BULK_THRESHOLD else None

    # -- keys ------------------------------------------------------------

    def _key_from_values(self, values: tuple) -> tuple | None:
        if not self._key_indexes:
            return None
        key = tuple(values[i] for i in self._key_indexes)
        for value, ctype in zip(key, self._key_types):
            if ctype.is_float and value != value:
                raise InvalidValueError(f"table {self.name!r}: a primary key may not be NaN")
        return key

    def _normalise_key(self, key: Any) -> tuple:
        if not self._key_indexes:
            raise UnsupportedError(f"table {self.name!r} has no primary key, so rows cannot be looked up by key")
        parts = key if isinstance(key, (tuple, list)) else (key,)
        if len(parts) != len(self._key_indexes):
            raise InvalidValueError(
                f"table {self.name!r}: the primary key has {len(self._key_indexes)} columns "
                f"({', '.join(self.schema.primary_key)}) but {len(parts)} values were given"
            )
        out = []
        for value, index in zip(parts, self._key_indexes):
            column = self.schema.columns[index]
            if value is None:
                raise InvalidValueError(f"table {self.name!r}: key column {column.name!r} cannot be None")
            stored = column.type.to_storage(value, column.name)
            if column.type.is_float and stored != stored:
                raise InvalidValueError(f"table {self.name!r}: a primary key may not be NaN")
            if column.type.is_float and stored == 0:
                stored = 0.0  # -0.0 and 0.0 are the same key
            out.append(stored)
        return tuple(out)

    def _show_key(self, key: tuple) -> str:
        shown = [t.from_storage(v) for t, v in zip(self._key_types, key)]
        return repr(shown[0]) if len(shown) == 1 else repr(tuple(shown))

    @staticmethod
    def _where(source: str | None, lines: np.ndarray | None, row: int) -> str:
        if lines is not None:
            return f"{source or 'input'}:{int(lines[row])}: "
        return f"row {row}: "

    # -- lifecycle -------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            from .errors import DatabaseClosedError

            raise DatabaseClosedError(f"table {self.name!r} is closed (its database was closed or it was dropped)")
        self._db._check_open()

    def _checkpoint(self) -> bool:
        """Seal the open segment and write changed delete vectors; True if the catalog must change."""
        from .index.delete_vector import write_delete_vector

        changed = False
        if self._open is not None:
            self.seal()
        for segment in self._segments:
            if segment.delete_vector_dirty:
                name = f"del-{self._db._new_file_id():06d}.sdb"
                write_delete_vector(os.path.join(self.directory, name), self._db._pool, segment.deleted)
                old = self._vector_files.get(segment.name)
                self._vector_files[segment.name] = name
                segment.delete_vector_dirty = False
                if old:
                    self._db._remove_after_commit(os.path.join(self.directory, old))
                changed = True
        return changed

    def _catalog_segments(self) -> list[dict[str, Any]]:
        return [
            {"file": s.name, "rows": s.rows, "delete_vector": self._vector_files.get(s.name)} for s in self._segments
        ]

    def _close(self) -> None:
        for segment in self._segments:
            segment.close()
        for segment, files in self._retired:
            segment.close()
            for path in files:
                if os.path.exists(path):
                    os.unlink(path)
        self._retired = []
        if self._open is not None:
            self._open.close()
            self._open = None
        self._closed = True


def _concatenate(parts: list[list[ColumnData]], schema: Schema) -> tuple[list[ColumnData], int]:
    """Join batches of the same columns into one list of columns."""
    if not parts:
        return [ColumnData(np.zeros(0, c.type.storage_dtype)) for c in schema.columns], 0
    out = []
    for index in range(len(schema.columns)):
        values = np.concatenate([part[index].values for part in parts])
        if any(part[index].nulls is not None for part in parts):
            nulls = np.concatenate(
                [
                    part[index].nulls if part[index].nulls is not None else np.zeros(len(part[index].values), bool)
                    for part in parts
                ]
            )
        else:
            nulls = None
        out.append(ColumnData(values, nulls))
    return out, len(out[0].values)


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _storage_value(column: ColumnData, row: int) -> Any:
    if column.nulls is not None and column.nulls[row]:
        return None
    return _item(column.values[row])


def to_storage_lists(column: ColumnData) -> list:
    values = column.values.tolist()
    if column.nulls is not None:
        for row in np.flatnonzero(column.nulls).tolist():
            values[row] = None
    return values
