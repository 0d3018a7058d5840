"""Page runs: one byte string spread over consecutive pages.

Column chunks, zone maps, fence keys, Bloom filters and segment descriptors
are byte strings longer than a page. Each is stored as a *run*: consecutive
pages of type RUN whose bodies, concatenated, are the string.

Run page (a common header, then payload):

======  ===========  ========  ==============================================
OFFSET  SIZE         FIELD     MEANING
======  ===========  ========  ==============================================
0       24           header    common page header, page_type = RUN
24      page_size-24 payload   the next bytes of the string; the last page
                               is zero-filled past the string's end
======  ===========  ========  ==============================================

A run is addressed by :class:`RunRef` (first page, page count, byte length),
which the owner stores elsewhere (a segment descriptor). Byte ``i`` of the
string lies on page ``first + i // capacity`` at offset
``24 + i % capacity``, so a reader can fetch part of a run without the rest.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import CorruptPageError
from .buffer_pool import BufferPool
from .page import PAGE_HEADER_SIZE, PageType

__all__ = ["RunRef", "run_capacity", "run_images", "write_run", "read_run", "read_run_range"]

#: A run read back is allocated at its declared length, so the length is
#: checked against this limit first (1 GiB).
MAX_RUN_BYTES = 1 << 30
_RUN = int(PageType.RUN)
_TYPE_OFFSET = 4


class RunRef(NamedTuple):
    first_page: int
    page_count: int
    length: int

    def to_json(self) -> list[int]:
        return [self.first_page, self.page_count, self.length]

    @classmethod
    def from_json(cls, data: object, path: str = "?") -> "RunRef":
        if (
            not isinstance(data, list)
            or len(data) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in data)
        ):
            raise CorruptPageError(f"{path}: invalid page run reference {data!r}")
        return cls(*data)


def run_capacity(page_size: int) -> int:
    """Payload bytes per run page (4,072 for 4 KiB pages)."""
    return page_size - PAGE_HEADER_SIZE


def run_images(data: bytes | np.ndarray, page_size: int) -> np.ndarray:
    """Page images (uint8, shape (pages, page_size)) holding ``data`` as a run.

    A zero-length string still takes one page, so every run has a first page.
    """
    payload = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data.view(np.uint8)
    capacity = run_capacity(page_size)
    pages = max(1, -(-len(payload) // capacity))
    images = np.zeros((pages, page_size), dtype=np.uint8)
    images[:, 4] = PageType.RUN
    padded = np.zeros(pages * capacity, dtype=np.uint8)
    padded[: len(payload)] = payload
    images[:, PAGE_HEADER_SIZE:] = padded.reshape(pages, capacity)
    return images


def write_run(pool: BufferPool, file_id: int, data: bytes | np.ndarray) -> RunRef:
    """Append ``data`` to a file as a new run, bypassing the cache."""
    images = run_images(data, pool.page_size)
    first = pool.write_new_pages(file_id, images)
    return RunRef(first, images.shape[0], len(data) if not isinstance(data, np.ndarray) else data.nbytes)


def read_run(pool: BufferPool, file_id: int, ref: RunRef) -> np.ndarray:
    """Read a whole run back as a new uint8 array of ``ref.length`` bytes."""
    return read_run_range(pool, file_id, ref, 0, ref.length)


def read_run_range(pool: BufferPool, file_id: int, ref: RunRef, start: int, length: int) -> np.ndarray:
    """Read ``length`` bytes of a run from byte ``start``, touching only their pages.

    Raises:
        CorruptPageError: the reference is inconsistent or a page is not a
            run page.
    """
    capacity = run_capacity(pool.page_size)
    file = pool.file(file_id)
    if (
        ref.length > MAX_RUN_BYTES
        or ref.page_count != max(1, -(-ref.length // capacity))
        or ref.first_page < 1
        or ref.first_page + ref.page_count > file.page_count
    ):
        raise CorruptPageError(
            f"{file.path}: page run {tuple(ref)} does not fit the file "
            f"({file.page_count} pages, {capacity} bytes per run page)",
            path=file.path,
            page_no=ref.first_page,
        )
    if start < 0 or length < 0 or start + length > ref.length:
        raise CorruptPageError(f"{file.path}: bytes {start}..{start + length} lie outside a {ref.length}-byte run")
    if length == 0:
        return np.zeros(0, dtype=np.uint8)
    first_index = start // capacity
    last_index = (start + length - 1) // capacity
    page_nos = list(range(ref.first_page + first_index, ref.first_page + last_index + 1))
    frames = pool.pin_pages(file_id, page_nos)
    try:
        # One gather copies just the payloads; the page types come separately.
        types = pool.frames[frames, _TYPE_OFFSET]
        body = pool.frames[frames, PAGE_HEADER_SIZE:].reshape(-1)
    finally:
        pool.unpin_frames(frames)
    bad = np.flatnonzero(types != _RUN)
    if len(bad):
        page_no = page_nos[int(bad[0])]
        raise CorruptPageError(
            f"{file.path}: page {page_no} belongs to a page run but has page type {int(types[bad[0]])}",
            path=file.path,
            page_no=page_no,
        )
    offset = start - first_index * capacity
    return body[offset : offset + length]
