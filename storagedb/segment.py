"""Sealed segments: immutable files that each hold a slice of a table's rows.

A sealed segment file holds, in its own pages:

* the rows, in the table's layout (NSM, DSM or PAX), sorted by primary key
  when the table has one;
* zone maps: per column and zone, the minimum, maximum, NULL count and NaN
  flag, so scans skip zones a predicate cannot match;
* fence keys: the first key of each fence unit (page or row group) and the
  last key of the segment, so a point lookup reads one unit;
* a Bloom filter over the primary key, so a lookup of an absent key usually
  reads no data page at all;
* a descriptor (JSON) that points at all of the above.

File layout (``root_page`` in the file header points at the descriptor)::

    page 0                  file header, file_kind = 3 (sealed segment)
    pages 1 ..              layout data pages (and NSM overflow chains)
    run "directory", ...    layout metadata runs
    run "zones"             array group: bounds, then per column min, max,
                            null_count, has_nan
    run "fences"            array group: per key column, the fence keys
    run "bloom"             Bloom filter bytes
    run descriptor          u32 length + UTF-8 JSON; root_page points here

Deleted rows are not in the file: a delete vector (``DeleteVector``) marks
them, and is stored in its own file that is replaced, never edited in place.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import struct
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from .batch import ColumnData
from .errors import CorruptionError
from .index.arrays import pack_arrays, unpack_arrays
from .index.bloom import BloomFilter
from .index.keyhash import hash_key_columns
from .index.zonemap import ZoneMap, compute_zone_map
from .layout import columnar
from .layout import nsm as nsm_layout
from .layout.base import LayoutOptions
from .record import RecordCodec
from .schema import Schema
from .storage.buffer_pool import BufferPool
from .storage.page_run import RunRef, read_run, read_run_range, write_run
from .storage.paged_file import FileKind, PagedFile

__all__ = ["SealedSegment", "SegmentStats", "sort_order", "LAYOUT_NAMES"]

log = logging.getLogger(__name__)

SEGMENT_FORMAT = 1
#: A descriptor larger than this is corrupt, because it contains no per-row data.
MAX_DESCRIPTOR_BYTES = 16 << 20
_LENGTH = struct.Struct("<I")

_WRITERS = {"nsm": nsm_layout.write_nsm, "dsm": columnar.write_dsm, "pax": columnar.write_pax}
_READERS = {
    "nsm": nsm_layout.NsmLayoutReader,
    "dsm": columnar.ColumnarLayoutReader,
    "pax": columnar.ColumnarLayoutReader,
}
LAYOUT_NAMES = tuple(_WRITERS)


@dataclass
class SegmentStats:
    """Counters of one table's segment reads; ``Table.stats()`` reports them."""

    lookups: int = 0
    segments_skipped_by_range: int = 0
    segments_skipped_by_bloom: int = 0
    bloom_false_positives: int = 0
    data_pages_read: int = 0
    pages_read: int = 0
    pages_skipped: int = 0
    zones_read: int = 0
    zones_skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def sort_order(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Stable row order sorting by ``keys[0]``, then ``keys[1]``, and so on.

    Works for object arrays (text, blob) too, where ``np.lexsort`` does not.
    Input that is already sorted (bulk loads often are) costs one pass.
    """
    count = len(keys[0])
    if is_sorted(keys):
        return np.arange(count)
    order = np.arange(count)
    for key in reversed(keys):
        order = order[np.argsort(key[order], kind="stable")]
    return order


def is_sorted(keys: Sequence[np.ndarray]) -> bool:
    """True if the rows are in non-decreasing key order (compared column by column)."""
    if len(keys[0]) < 2:
        return True
    decided_less = np.zeros(len(keys[0]) - 1, dtype=bool)
    undecided = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        before, after = key[:-1], key[1:]
        decided_less |= undecided & (before < after)
        undecided &= before == after
        if not undecided.any():
            break
    return bool(np.all(decided_less | undecided))


@dataclass
class _Meta:
    layout: str
    rows: int
    sorted_by_key: bool
    bloom_bits_per_key: int
    runs: dict[str, RunRef] = field(default_factory=dict)
    layout_info: dict[str, Any] = field(default_factory=dict)


class SealedSegment:
    """One open, immutable segment file and what is loaded from it.

    Build one with :meth:`write` (a new file) or :meth:`open`.
    """

    def __init__(
        self,
        path: str,
        pool: BufferPool,
        file: PagedFile,
        file_id: int,
        schema: Schema,
        meta: _Meta,
        reader: Any,
        zone_maps: list[ZoneMap],
        fences: list[tuple],
        last_key: tuple | None,
        bloom: BloomFilter | None,
    ) -> None:
        self.path = path
        self.name = os.path.basename(path)
        #: The file number in the name (``seg-000042.sdb`` is 42); log records use it.
        self.number = int(self.name.split("-")[1].split(".")[0]) if "-" in self.name else 0
        self.pool = pool
        self.file = file
        self.file_id = file_id
        self.schema = schema
        self.layout = meta.layout
        self.rows = meta.rows
        self.sorted_by_key = meta.sorted_by_key
        self.bloom_bits_per_key = meta.bloom_bits_per_key
        self.reader = reader
        self.zone_maps = zone_maps
        self.fences = fences
        self.first_key = fences[0] if fences else None
        self.last_key = last_key
        self.bloom = bloom
        self.meta = meta
        #: True where a row is deleted; None while no row is.
        self.deleted: np.ndarray | None = None
        self.deleted_count = 0
        self.delete_vector_dirty = False

    # -- writing ---------------------------------------------------------

    @classmethod
    def write(
        cls,
        path: str,
        pool: BufferPool,
        schema: Schema,
        layout: str,
        columns: list[ColumnData],
        count: int,
        *,
        options: LayoutOptions,
        bloom_bits_per_key: int = 10,
        chunk_cache: Any = None,
    ) -> "SealedSegment":
        """Write rows (storage-form columns) to a new segment file and open it.

        Rows are sorted by primary key first when the schema has one. The
        file is fully synced before this returns; on any error it is removed.
        """
        codec = RecordCodec(schema)
        key_indexes = schema.key_indexes
        if key_indexes and count > 1 and not is_sorted([columns[i].values for i in key_indexes]):
            order = sort_order([columns[i].values for i in key_indexes])
            columns = [ColumnData(c.values[order], None if c.nulls is None else c.nulls[order]) for c in columns]
        file = PagedFile.create(path, FileKind.SEALED_SEGMENT, pool.page_size)
        file_id = pool.register_file(file)
        try:
            written = _WRITERS[layout](pool, file_id, schema, codec, columns, count, options)
            runs: dict[str, RunRef] = {}
            zone_arrays: list[tuple[np.ndarray, np.ndarray | None, str]] = [(written.zone_bounds, None, "int64")]
            for column, data in zip(schema.columns, columns):
                zone = compute_zone_map(data.values, data.nulls, written.zone_bounds, column.type)
                kind = _kind_of(column)
                zone_arrays.append((zone.minimum, ~zone.has_value, kind))
                zone_arrays.append((zone.maximum, ~zone.has_value, kind))
                zone_arrays.append((zone.null_count, None, "int64"))
                zone_arrays.append((zone.has_nan.astype(np.uint8), None, "uint8"))
            runs["zones"] = write_run(pool, file_id, pack_arrays(zone_arrays, compression="auto"))
            if key_indexes:
                fence_rows = written.fence_bounds[:-1]
                fence_arrays = []
                for index in key_indexes:
                    values = columns[index].values
                    picked = np.append(values[fence_rows], values[-1:]) if count else values[:0]
                    if values.dtype == object:
                        picked = picked.astype(object)
                    fence_arrays.append((picked, None, _kind_of(schema.columns[index])))
                runs["fences"] = write_run(pool, file_id, pack_arrays(fence_arrays, compression="auto"))
                if bloom_bits_per_key:
                    hashes = hash_key_columns(
                        [columns[i].values for i in key_indexes], [schema.columns[i].type.base for i in key_indexes]
                    )
                    bloom = BloomFilter.build(hashes, bloom_bits_per_key)
                    runs["bloom"] = write_run(pool, file_id, bloom.to_bytes())
            descriptor = {
                "format": SEGMENT_FORMAT,
                "layout": layout,
                "rows": int(count),
                "schema": schema.to_json(),
                "sorted_by_key": bool(key_indexes),
                "bloom_bits_per_key": int(bloom_bits_per_key),
                "runs": {name: ref.to_json() for name, ref in runs.items()},
                "layout_info": written.info,
            }
            body = json.dumps(descriptor, separators=(",", ":")).encode("utf-8")
            root = write_run(pool, file_id, _LENGTH.pack(len(body)) + body)
            file.root_page = root.first_page
            file.header_dirty = True
            pool.sync_file(file_id)
        except BaseException:
            pool.unregister_file(file_id, discard=True)
            file.close()
            os.unlink(path)
            raise
        pool.unregister_file(file_id, discard=True)
        file.close()
        return cls.open(path, pool, schema, chunk_cache)

    # -- opening ---------------------------------------------------------

    @classmethod
    def open(cls, path: str, pool: BufferPool, schema: Schema, chunk_cache: Any = None) -> "SealedSegment":
        """Open a segment file and load its metadata.

        ``chunk_cache`` is the database's cache of decoded column chunks,
        which DSM and PAX point lookups use.

        Raises:
            CorruptionError: the descriptor or any metadata is invalid, or the
                file was written for another schema; the message names the file.
        """
        file = PagedFile.open(path, page_size=pool.page_size, kind=FileKind.SEALED_SEGMENT)
        file_id = pool.register_file(file)
        try:
            meta = _read_descriptor(pool, file_id, path, schema)
            codec = RecordCodec(schema)
            reader = _READERS[meta.layout].open(pool, file_id, schema, codec, meta.layout_info, meta.rows)
            if chunk_cache is not None and hasattr(reader, "cache"):
                reader.cache = chunk_cache
            zone_maps = _read_zone_maps(pool, file_id, path, schema, meta, reader)
            fences: list[tuple] = []
            last_key = None
            bloom = None
            if schema.primary_key:
                fences, last_key = _read_fences(pool, file_id, path, schema, meta, reader)
                bloom_ref = meta.runs.get("bloom")
                if bloom_ref is None and meta.bloom_bits_per_key:
                    raise CorruptionError(f"{path}: segment of a keyed table has no Bloom filter")
                if bloom_ref is not None:
                    bloom = BloomFilter.from_bytes(read_run(pool, file_id, bloom_ref).tobytes(), source=path)
                if bloom is not None and bloom.num_keys != meta.rows:
                    raise CorruptionError(
                        f"{path}: Bloom filter has {bloom.num_keys} keys, but the segment has {meta.rows} rows"
                    )
        except BaseException:
            pool.unregister_file(file_id, discard=True)
            file.close()
            raise
        return cls(path, pool, file, file_id, schema, meta, reader, zone_maps, fences, last_key, bloom)

    def close(self) -> None:
        if not self.file.closed:
            self.pool.unregister_file(self.file_id, discard=True)
            self.file.close()

    # -- reading ---------------------------------------------------------

    @property
    def live_rows(self) -> int:
        return self.rows - self.deleted_count

    def find(self, key: tuple, key_hash: int, stats: SegmentStats) -> int | None:
        """Return the row id of ``key`` if this segment contains it and it is not deleted.

        Checks the key range, then the Bloom filter, before reading any data
        page. The counters in ``stats`` record which check decided.
        """
        if not self.rows or key < self.first_key or key > self.last_key:
            stats.segments_skipped_by_range += 1
            return None
        if self.bloom is not None and not self.bloom.may_contain(key_hash):
            stats.segments_skipped_by_bloom += 1
            return None
        unit = bisect.bisect_right(self.fences, key) - 1
        row, pages = self.reader.find_in_unit(unit, key)
        stats.data_pages_read += pages
        if row is None:
            stats.bloom_false_positives += 1
            return None
        if self.deleted is not None and self.deleted[row]:
            return None
        return row

    def lookup(self, key: tuple, key_hash: int, stats: SegmentStats) -> tuple[int, tuple] | None:
        """Like :meth:`find`, but also decode the row: ``(row id, storage-form values)``."""
        if not self.rows or key < self.first_key or key > self.last_key:
            stats.segments_skipped_by_range += 1
            return None
        if self.bloom is not None and not self.bloom.may_contain(key_hash):
            stats.segments_skipped_by_bloom += 1
            return None
        unit = bisect.bisect_right(self.fences, key) - 1
        found, pages = self.reader.fetch_in_unit(unit, key)
        stats.data_pages_read += pages
        if found is None:
            stats.bloom_false_positives += 1
            return None
        if self.deleted is not None and self.deleted[found[0]]:
            return None
        return found

    def read_row(self, row: int, stats: SegmentStats) -> tuple:
        values, pages = self.reader.fetch_row(row)
        stats.data_pages_read += pages
        return values

    def read_rows(self, rows: np.ndarray, wanted: Sequence[int], stats: SegmentStats) -> list[ColumnData]:
        columns, pages = self.reader.read_rows(rows, wanted)
        stats.data_pages_read += pages
        return columns

    def zone_count(self) -> int:
        return len(self.reader.zone_bounds) - 1

    def scan(
        self, wanted: Sequence[int], zone_filter: Any, stats: SegmentStats, raw: bool = False
    ) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(first_row, columns)`` batches of the zones ``zone_filter`` accepts.

        ``zone_filter(segment)`` returns a bool array, True for each zone to
        read, or is None to read every zone. With ``raw``, dictionary- and run-length
        encoded chunks come as ``DictionaryColumn`` and ``RunColumn``.
        Deleted rows are still in the batches; the caller masks them with
        :meth:`live_mask`.
        """
        for first, last in self._zone_runs(zone_filter, stats):
            for first_row, columns, pages in self.reader.scan_zones(first, last, wanted, raw):
                stats.pages_read += pages
                yield first_row, columns

    def _zone_runs(self, zone_filter: Any, stats: SegmentStats) -> list[tuple[int, int]]:
        """Runs ``(first, last)`` of consecutive zones to read; counts the skipped ones."""
        zones = self.zone_count()
        if not zones:
            return []
        if zone_filter is None:
            stats.zones_read += zones
            return [(0, zones)]
        keep = zone_filter(self)
        skipped = ~keep
        if skipped.any():
            stats.zones_skipped += int(skipped.sum())
            stats.pages_skipped += int(self.reader.zone_page_counts()[skipped].sum())
        stats.zones_read += int(keep.sum())
        edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
        return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))

    def scan_groups(self, zone_filter: Any, stats: SegmentStats) -> Iterator[Any]:
        """Yield the groups of rows ``zone_filter`` accepts, decoded column by column on demand.

        Each group (an NSM page batch, a DSM or PAX row group) has
        ``first_row``, ``count``, ``pages``, ``column()``, ``take()`` and
        ``close()``. The caller closes it and adds its ``pages`` to
        ``stats.pages_read``.
        """
        for first, last in self._zone_runs(zone_filter, stats):
            yield from self.reader.groups(first, last)

    def live_mask(self, first_row: int, count: int) -> np.ndarray | None:
        """False for deleted rows among ``first_row`` .. ``first_row + count - 1``; None if none is deleted."""
        if self.deleted is None or not self.deleted_count:
            return None
        piece = self.deleted[first_row : first_row + count]
        return ~piece if piece.any() else None

    def zone_stats(self, column_index: int, zone: int) -> tuple:
        return self.zone_maps[column_index].zone(zone)

    # -- deletes ---------------------------------------------------------

    def mark_deleted(self, row: int) -> None:
        if self.deleted is None:
            self.deleted = np.zeros(self.rows, dtype=bool)
        if not self.deleted[row]:
            self.deleted[row] = True
            self.deleted_count += 1
            self.delete_vector_dirty = True

    def unmark_deleted(self, row: int) -> None:
        """Undo :meth:`mark_deleted` (a rolled-back transaction)."""
        if self.deleted is not None and self.deleted[row]:
            self.deleted[row] = False
            self.deleted_count -= 1
            self.delete_vector_dirty = True

    def set_delete_vector(self, deleted: np.ndarray | None) -> None:
        if deleted is not None and len(deleted) != self.rows:
            raise CorruptionError(
                f"{self.path}: delete vector covers {len(deleted)} rows, the segment has {self.rows}"
            )
        self.deleted = deleted
        self.deleted_count = int(deleted.sum()) if deleted is not None else 0
        self.delete_vector_dirty = False

    # -- description -----------------------------------------------------

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "file": self.name,
            "layout": self.layout,
            "rows": self.rows,
            "deleted_rows": self.deleted_count,
            "pages": self.file.page_count,
            "bytes": self.file.size_on_disk(),
        }
        if self.schema.primary_key and self.rows:
            info["min_key"] = list(self.first_key)
            info["max_key"] = list(self.last_key)
        if self.bloom is not None:
            info["bloom_bytes"] = self.bloom.size_bytes
            info["bloom_bits_per_key"] = self.bloom.bits_per_key
            info["bloom_hashes"] = self.bloom.num_hashes
        return info


def _kind_of(column) -> str:
    base = column.type.base
    if base == "bool":
        return "uint8"
    if base in ("date",):
        return "int32"
    if base in ("timestamp", "decimal"):
        return "int64"
    return base


def _read_descriptor(pool: BufferPool, file_id: int, path: str, schema: Schema) -> _Meta:
    file = pool.file(file_id)
    capacity = pool.page_size - 24
    if not file.root_page:
        raise CorruptionError(f"{path}: segment has no descriptor (root_page is 0); the file was never completed")

    head = read_run_range(pool, file_id, RunRef(file.root_page, 1, capacity), 0, 4)
    length = _LENGTH.unpack(head.tobytes())[0]
    if length > MAX_DESCRIPTOR_BYTES:
        raise CorruptionError(f"{path}: segment descriptor declares {length} bytes, above the {MAX_DESCRIPTOR_BYTES} limit")

    total = 4 + length
    ref = RunRef(file.root_page, max(1, -(-total // capacity)), total)
    body = read_run_range(pool, file_id, ref, 4, length).tobytes()
    try:
        data = json.loads(body.decode("utf-8"))
        if data["format"] != SEGMENT_FORMAT:
            raise CorruptionError(f"{path}: segment format {data['format']} is not supported (expected {SEGMENT_FORMAT})")
        if data["layout"] not in _READERS:
            raise CorruptionError(f"{path}: unknown layout {data['layout']!r}")
        stored = Schema.from_json(data["schema"])
        meta = _Meta(
            layout=data["layout"],
            rows=int(data["rows"]),
            sorted_by_key=bool(data["sorted_by_key"]),
            bloom_bits_per_key=int(data["bloom_bits_per_key"]),
            runs={name: RunRef.from_json(ref, path) for name, ref in data["runs"].items()},
            layout_info=dict(data["layout_info"]),
        )
    except CorruptionError:
        raise
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptionError(f"{path}: segment descriptor is invalid ({type(exc).__name__}: {exc})") from None

    if stored != schema:
        raise CorruptionError(f"{path}: segment was written for another schema than its table's")
    if meta.rows < 0:
        raise CorruptionError(f"{path}: segment declares {meta.rows} rows")
    return meta


def _read_zone_maps(pool, file_id, path, schema, meta, reader) -> list[ZoneMap]:
    ref = meta.runs.get("zones")
    if ref is None:
        raise CorruptionError(f"{path}: segment has no zone maps")
    arrays = unpack_arrays(read_run(pool, file_id, ref), path)
    if len(arrays) != 1 + 4 * len(schema.columns):
        raise CorruptionError(f"{path}: zone maps hold {len(arrays)} arrays, expected {1 + 4 * len(schema.columns)}")
    bounds = np.asarray(arrays[0][0], dtype=np.int64)
    if not np.array_equal(bounds, reader.zone_bounds):
        raise CorruptionError(f"{path}: zone bounds do not match the layout's zones")
    zones = len(bounds) - 1
    maps = []
    for index in range(len(schema.columns)):
        (low, low_nulls), (high, _), (nulls, _), (nan, _) = arrays[1 + 4 * index : 5 + 4 * index]
        if not (len(low) == len(high) == len(nulls) == len(nan) == zones):
            raise CorruptionError(f"{path}: zone map of column {schema.columns[index].name!r} has the wrong length")
        has_value = ~low_nulls if low_nulls is not None else np.ones(zones, dtype=bool)
        maps.append(ZoneMap(bounds, low, high, has_value, np.asarray(nulls, np.int64), np.asarray(nan, bool)))
    return maps


def _read_fences(pool, file_id, path, schema, meta, reader) -> tuple[list[tuple], tuple | None]:
    ref = meta.runs.get("fences")
    if ref is None:
        raise CorruptionError(f"{path}: segment of a keyed table has no fence keys")
    arrays = unpack_arrays(read_run(pool, file_id, ref), path)
    units = len(reader.fence_bounds) - 1
    expected = units + 1 if meta.rows else 0
    if len(arrays) != len(schema.primary_key) or any(len(values) != expected for values, _ in arrays):
        raise CorruptionError(f"{path}: fence keys do not match the segment's {units} fence units")
    if not meta.rows:
        return [], None
    lists = [values.tolist() for values, _ in arrays]
    keys = list(zip(*lists))
    return keys[:-1], keys[-1]
