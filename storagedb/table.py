"""Tables: an ordered list of sealed segments plus one open segment.

A table's rows live in

* **sealed segments** (``segment.py``): immutable files in the table's
  layout, oldest first. Each is sorted by primary key when the table has
  one, and each has zone maps, fence keys and a Bloom filter.
* at most one **open segment** (``open_segment.py``) taking single-row
  changes, sealed when it reaches ``segment_rows`` rows and at checkpoints.

Bulk loads write new sealed segments directly and never rewrite old ones.
Updating or deleting a row of a sealed segment sets its bit in that
segment's delete vector; an update then inserts the new version into the
open segment. A primary key is unique across all segments: at most one live
row holds it.

Point lookups visit the open segment, then the sealed segments newest
first; each sealed segment is skipped when the key is outside its key range
or its Bloom filter rules the key out, before any data page is read.

The methods live in three modules: this one (state, keys, statistics,
lifecycle), ``table_reads.py`` and ``table_writes.py``.

Concurrency: the database lock (``Database._lock``) serialises every table
operation; a transaction holds it until it ends, and a scan takes it per
batch, not for the whole iteration.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from .errors import DatabaseClosedError, InvalidValueError, UnsupportedError
from .index.delete_vector import read_delete_vector
from .layout.base import LayoutOptions
from .layout.columnar import DEFAULT_ROW_GROUP_ROWS
from .open_segment import OpenSegment
from .record import RecordCodec
from .schema import Column, Schema
from .segment import SealedSegment, SegmentStats
from .table_reads import TableReads
from .table_writes import BULK_THRESHOLD, TableWrites

if TYPE_CHECKING:
    from .database import Database

__all__ = ["Table", "BULK_THRESHOLD", "DEFAULT_SEGMENT_ROWS"]

log = logging.getLogger(__name__)

#: Default rows per segment: the open segment is sealed at this size and a
#: bulk load cuts its input into segments of at most this many rows.
DEFAULT_SEGMENT_ROWS = 1 << 20
DEFAULT_BLOOM_BITS = 10


class Table(TableReads, TableWrites):
    """One table of an open database. Get one from ``Database.table`` or ``create_table``."""

    def __init__(self, db: "Database", name: str, entry: dict[str, Any]) -> None:
        self._db = db
        self.name = name
        self.table_id = int(entry["id"])
        self._entry = {key: entry[key] for key in ("id", "schema", "layout", "options", "directory")}
        self.schema = Schema.from_json(entry["schema"])
        self.layout = entry["layout"]
        self.options = dict(entry.get("options", {}))
        self.directory = os.path.join(db.path, entry["directory"])

        self._codec = RecordCodec(self.schema)
        self._key_indexes = self.schema.key_indexes
        self._key_types = [self.schema.columns[i].type for i in self._key_indexes]
        self._key_kinds = [t.base for t in self._key_types]
        key_columns = tuple(Column(c.name, c.type, False) for c in (self.schema.columns[i] for i in self._key_indexes))
        self._key_codec = RecordCodec(Schema(key_columns)) if key_columns else None
        #: Bounds of each key column when every key column is an integer:
        #: a key of in-range Python ints is already in storage form.
        ranges = [t.int_range for t in self._key_types]
        self._key_int_ranges = ranges if ranges and None not in ranges else None
        self._column_names = [c.name for c in self.schema.columns]
        #: Columns whose storage form differs from the Python form, for get().
        self._converted_columns = [
            (index, c.name, c.type.from_storage_function())
            for index, c in enumerate(self.schema.columns)
            if not c.type.storage_is_python
        ]

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
            for item in entry.get("segments", []):
                segment = SealedSegment.open(
                    os.path.join(self.directory, item["file"]), db._pool, self.schema, db._chunk_cache
                )
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
        state = "closed" if self._closed else f"rows={self.row_count()}"
        return f"<storagedb.Table {self.name!r} layout={self.layout} {state}>"

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
        """Return one description per sealed segment: file, rows, key range, Bloom filter size."""
        with self._db._lock:
            self._check_open()
            return [segment.describe() for segment in self._segments]

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
        ranges = self._key_int_ranges
        if ranges is not None and len(parts) == len(ranges):
            for value, (low, high) in zip(parts, ranges):
                if type(value) is not int or not low <= value <= high:
                    break
            else:
                return tuple(parts)
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

    # -- segments and files ----------------------------------------------

    def _open_segment(self) -> OpenSegment:
        if self._open is None:
            name = f"open-{self._db._new_file_id():06d}.sdb"
            directory = self._db._scratch_directory() or self.directory
            self._open = OpenSegment(os.path.join(directory, name), self._db._pool, self._codec)
        return self._open

    def _segment_files(self, segment: SealedSegment) -> list[str]:
        vector = self._vector_files.get(segment.name)
        return [segment.path] + ([os.path.join(self.directory, vector)] if vector else [])

    def _retire(self, segment: SealedSegment, files: list[str]) -> None:
        """Stop using a replaced segment: close it once no scan reads it; remove its files after the next checkpoint."""
        for path in files:
            self._db._remove_after_checkpoint(path)
        if self._active_scans:
            self._retired.append((segment, files))
        else:
            segment.close()

    def _release_retired(self) -> None:
        if self._active_scans or not self._retired:
            return
        retired, self._retired = self._retired, []
        for segment, _files in retired:
            segment.close()

    def _catalog_entry(self) -> dict[str, Any]:
        entry = dict(self._entry)
        entry["segments"] = [
            {"file": s.name, "rows": s.rows, "delete_vector": self._vector_files.get(s.name)} for s in self._segments
        ]
        return entry

    # -- lifecycle -------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosedError(f"table {self.name!r} is closed (its database was closed or it was dropped)")
        self._db._check_open()

    def _close(self) -> None:
        for segment in self._segments:
            segment.close()
        for segment, _files in self._retired:
            segment.close()
        if self._open is not None:
            self._open.close()
        # Drop every reference to segments (and through them the buffer
        # pool), so a closed table kept by a caller holds no memory.
        self._segments = []
        self._retired = []
        self._open = None
        self._closed = True
