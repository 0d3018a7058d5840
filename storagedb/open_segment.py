"""The open segment: where single-row inserts, updates and deletes land.

Every table has at most one open segment: slotted pages (NSM records) in a
scratch file, whatever the table's layout, plus an in-memory map from
primary key to record id. When it reaches the table's segment size, or at a
checkpoint, it is *sealed*: its rows are sorted, written in the table's
layout as a new sealed segment, and the scratch file is removed. This is the
write store of C-Store and the MemRowSet of Apache Kudu, kept on pages so it
can outgrow memory through the buffer pool.
"""

from __future__ import annotations

import os
from typing import Iterator, Sequence

import numpy as np

from .batch import ColumnData
from .layout.nsm import OpenHeap
from .record import RecordCodec
from .storage.buffer_pool import BufferPool
from .storage.paged_file import FileKind, PagedFile

__all__ = ["OpenSegment"]


class OpenSegment:
    """The mutable segment of one table."""

    def __init__(self, path: str, pool: BufferPool, codec: RecordCodec) -> None:
        self.path = path
        self.name = os.path.basename(path)
        self.pool = pool
        self.codec = codec
        self.file = PagedFile.create(path, FileKind.OPEN_SEGMENT, pool.page_size)
        self.file_id = pool.register_file(self.file)
        self.heap = OpenHeap(pool, self.file_id, codec)
        self.has_key = bool(codec.key_indexes)
        #: Primary key -> record id, for tables with a key.
        self.keys: dict[tuple, int] = {}

    @property
    def rows(self) -> int:
        return self.heap.live_rows

    def insert(self, record: bytes, key: tuple | None, lsn: int = 0) -> int:
        """Store an encoded record; ``lsn`` is the log record describing the insert."""
        rid = self.heap.insert(record, lsn)
        if self.has_key:
            self.keys[key] = rid
        return rid

    def find(self, key: tuple) -> int | None:
        return self.keys.get(key)

    def read(self, rid: int) -> tuple:
        return self.codec.decode(self.heap.read(rid))

    def update(self, rid: int, old_key: tuple | None, record: bytes, new_key: tuple | None, lsn: int = 0) -> int:
        new_rid = self.heap.update(rid, record, lsn)
        if self.has_key:
            if new_key != old_key:
                del self.keys[old_key]
            self.keys[new_key] = new_rid
        return new_rid

    def delete(self, rid: int, key: tuple | None, lsn: int = 0) -> None:
        self.heap.delete(rid, lsn)
        if self.has_key:
            del self.keys[key]

    def scan(self, wanted: Sequence[int]) -> Iterator[tuple[list[ColumnData], np.ndarray]]:
        return self.heap.scan(wanted)

    def scan_where(self, tested, keep, wanted) -> Iterator[tuple[list[ColumnData], np.ndarray]]:
        """Yield the live records that ``keep`` selects; see :meth:`OpenHeap.scan_where`."""
        return self.heap.scan_where(tested, keep, wanted)

    def all_columns(self) -> tuple[list[ColumnData], int]:
        """Return every live row as storage-form columns, and the row count (for sealing)."""
        wanted = list(range(self.codec.column_count))
        parts = list(self.heap.scan(wanted))
        if not parts:
            return [ColumnData(np.zeros(0, c.type.storage_dtype)) for c in self.codec.schema.columns], 0
        columns = []
        for index in range(len(wanted)):
            values = np.concatenate([part[0][index].values for part in parts])
            if any(part[0][index].nulls is not None for part in parts):
                nulls = np.concatenate(
                    [
                        part[0][index].nulls
                        if part[0][index].nulls is not None
                        else np.zeros(len(part[1]), dtype=bool)
                        for part in parts
                    ]
                )
            else:
                nulls = None
            columns.append(ColumnData(values, nulls))
        return columns, len(columns[0].values)

    def pages(self) -> int:
        return self.file.page_count

    def close(self, remove: bool = True) -> None:
        """Drop the scratch file's pages from the pool and, by default, delete it."""
        if not self.file.closed:
            self.pool.unregister_file(self.file_id, discard=True)
            self.file.close()
        if remove and os.path.exists(self.path):
            os.unlink(self.path)
