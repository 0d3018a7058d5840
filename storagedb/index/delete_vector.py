"""Delete vectors: which rows of a sealed segment are deleted.

A sealed segment never changes, so deleting or updating one of its rows sets
the row's bit in the segment's delete vector instead. The vector lives in
memory while the database is open and is written to a new file of its own
at a checkpoint. The catalog then switches to the new file, and the old one
is removed. A file is never edited in place, so a crash leaves the old
vector or the new one.

Delete-vector file: a paged file (file_kind = 4) whose ``root_page`` starts
one page run holding (8-byte header = 8, then the bits):

======  ==================  =========  ======================================
OFFSET  SIZE                FIELD      MEANING
======  ==================  =========  ======================================
0       8                   rows       rows of the segment the vector covers
8       ceil(rows / 8)      bits       bit ``i % 8`` of byte ``i // 8`` set:
                                       row ``i`` is deleted
======  ==================  =========  ======================================
"""

from __future__ import annotations

import os
import struct

import numpy as np

from ..errors import CorruptionError
from ..storage.buffer_pool import BufferPool
from ..storage.page_run import RunRef, read_run, read_run_range, run_capacity, write_run
from ..storage.paged_file import FileKind, PagedFile

__all__ = ["write_delete_vector", "read_delete_vector", "VECTOR_HEADER"]

VECTOR_HEADER = struct.Struct("<Q")


def write_delete_vector(path: str, pool: BufferPool, deleted: np.ndarray) -> None:
    """Write a new delete-vector file, synced, for a bool array of deleted rows."""
    file = PagedFile.create(path, FileKind.DELETE_VECTOR, pool.page_size)
    file_id = pool.register_file(file)
    try:
        bits = np.packbits(deleted.astype(bool), bitorder="little")
        ref = write_run(pool, file_id, VECTOR_HEADER.pack(len(deleted)) + bits.tobytes())
        file.root_page = ref.first_page
        file.header_dirty = True
        pool.sync_file(file_id)
    except BaseException:
        pool.unregister_file(file_id, discard=True)
        file.close()
        os.unlink(path)
        raise
    pool.unregister_file(file_id, discard=True)
    file.close()


def read_delete_vector(path: str, pool: BufferPool, rows: int) -> np.ndarray:
    """Read a delete vector that must cover exactly ``rows`` rows.

    Raises:
        CorruptionError: the file covers another row count or is damaged.
    """
    file = PagedFile.open(path, page_size=pool.page_size, kind=FileKind.DELETE_VECTOR, readonly=True)
    file_id = pool.register_file(file)
    try:
        capacity = run_capacity(pool.page_size)
        if not file.root_page:
            raise CorruptionError(f"{path}: delete vector has no root page")
        head = read_run_range(pool, file_id, RunRef(file.root_page, 1, capacity), 0, VECTOR_HEADER.size)
        (stored_rows,) = VECTOR_HEADER.unpack(head.tobytes())
        if stored_rows != rows:
            raise CorruptionError(f"{path}: delete vector covers {stored_rows} rows, its segment has {rows}")
        length = VECTOR_HEADER.size + (rows + 7) // 8
        ref = RunRef(file.root_page, max(1, -(-length // capacity)), length)
        data = read_run(pool, file_id, ref)
        bits = np.unpackbits(data[VECTOR_HEADER.size :], count=rows, bitorder="little")
        return bits.astype(bool)
    finally:
        pool.unregister_file(file_id, discard=True)
        file.close()
