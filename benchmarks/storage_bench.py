"""Micro-benchmark of the storage core: buffer-pool hits, page reads, slotted pages.

Run from the repository root::

    python benchmarks/storage_bench.py

Prints operations per second and the time per operation for each case. The
page-read case reads through the operating system's page cache (the file is
written just before), so it measures storagedb's own per-page cost: the
pool's miss path, ``preadv`` into a frame and the CRC32 check.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from storagedb.storage import slotted_page  # noqa: E402
from storagedb.storage.buffer_pool import BufferPool  # noqa: E402
from storagedb.storage.page import PageType  # noqa: E402
from storagedb.storage.paged_file import FileKind, PagedFile  # noqa: E402


def report(name: str, count: int, seconds: float) -> None:
    print(f"{name:<44} {count / seconds:>14,.0f} ops/s {seconds / count * 1e6:>9.3f} us/op")


def best_of(runs: int, function) -> float:
    return min(function() for _ in range(runs))


def main() -> None:
    directory = tempfile.mkdtemp(prefix="sdb-bench-")
    file = PagedFile.create(os.path.join(directory, "bench.sdb"), FileKind.SCRATCH)
    pages = 4096
    pool = BufferPool(pages + 16)
    file_id = pool.register_file(file)
    for _ in range(pages):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            slotted_page.format_page(page.data)
    pool.sync_file(file_id)
    numbers = list(range(1, pages + 1))

    # Resident pages: guarded read.
    def guarded() -> float:
        start = time.perf_counter()
        for page_no in numbers:
            with pool.read_page(file_id, page_no) as page:
                page.data
        return time.perf_counter() - start

    report("guarded read of a resident page", pages, best_of(5, guarded))

    def raw() -> float:
        start = time.perf_counter()
        for page_no in numbers:
            pool.unpin(pool.pin(file_id, page_no))
        return time.perf_counter() - start

    report("pin + unpin of a resident page", pages, best_of(5, raw))

    def batch() -> float:
        start = time.perf_counter()
        for first in range(0, pages, 256):
            pool.unpin_frames(pool.pin_pages(file_id, numbers[first : first + 256]))
        return time.perf_counter() - start

    report("pin_pages + unpin_frames, per page", pages, best_of(5, batch))

    # Misses: a small pool over the same file, so every read evicts.
    small = BufferPool(64)
    small_id = small.register_file(file)

    def misses() -> float:
        start = time.perf_counter()
        for page_no in numbers:
            with small.read_page(small_id, page_no):
                pass
        return time.perf_counter() - start

    report("page read through the OS cache (miss)", pages, best_of(3, misses))

    # Slotted pages on one frame.
    record = b"r" * 120
    view = memoryview(bytearray(4096))
    reads = 0

    def inserts() -> float:
        nonlocal reads
        count = 0
        start = time.perf_counter()
        for _ in range(200):
            view[:] = bytes(4096)
            slotted_page.format_page(view)
            while slotted_page.insert(view, record) is not None:
                count += 1
        reads = count
        return (time.perf_counter() - start) / count

    per_insert = best_of(3, inserts)
    report("slotted-page insert (120-byte records)", 1, per_insert)

    slots = list(range(slotted_page.read_slotted_header(view).slot_count))

    def slot_reads() -> float:
        start = time.perf_counter()
        for _ in range(200):
            for slot in slots:
                slotted_page.read(view, slot)
        return (time.perf_counter() - start) / (200 * len(slots))

    report("slotted-page read", 1, best_of(3, slot_reads))
    file.close()


if __name__ == "__main__":
    main()
