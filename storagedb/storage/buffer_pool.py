"""The buffer pool: a fixed set of page frames shared by every file of a database.

Every page of table data that is read or written passes through here, so the
counters in :class:`PoolStats` are the truth about I/O.

Frames are slices of one buffer allocated when the pool is created: an
anonymous ``mmap``, whose pages the operating system zero-fills on first
touch, so a large pool costs nothing until it is used. The pool keeps one
``memoryview`` per frame, made when the frame is first used, and a 2-D numpy
view of all frames (:attr:`BufferPool.frames`). The layers above can
therefore read a frame with ``np.frombuffer`` or gather many frames with one
fancy index, without copying page by page. The buffer is never resized.

Pages are used through guards that pin on entry and unpin on exit::

    with pool.read_page(file_id, page_no) as page:
        record = page.data[offset:offset + length]
    with pool.write_page(file_id, page_no) as page:     # marks the frame dirty
        page.data[offset:offset + 4] = b"abcd"
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        new_page_no = page.page_no

Inner loops (scans, point lookups) call :meth:`BufferPool.pin` and
:meth:`BufferPool.unpin` directly, which costs less than a guard.

Invariants:

1. A frame with a pin count above 0 is never evicted and never reused.
2. A dirty frame is written to its file before the frame is reused.
3. Before a dirty page goes to disk, the write-ahead log is made durable up
   to the page's LSN (the ``log_flusher`` hook), so no page on disk holds a
   change whose log record could still be lost.
4. The page table maps exactly the frames whose ``_frame_key`` is not -1.

Locking: ``_latch`` (one ``threading.Lock``) protects the page table, pin
counts, dirty flags, the replacer, the free-frame list, the counters, and
the header fields of registered files (page count and free list). Disk reads
for misses happen under the latch too.

NOTE: holding the latch during a miss serialises misses from several
threads; hits still run concurrently with nothing but the latch between
them. The latch does not protect page contents: readers may share a page,
and the layer above keeps a page from being written while others read it.
"""

from __future__ import annotations

import mmap
import threading
from dataclasses import dataclass, fields
from typing import Callable

import numpy as np

from ..errors import BufferPoolFullError, CorruptPageError, PageGuardError
from .page import (
    PAGE_HEADER_SIZE,
    FileId,
    FrameId,
    PageId,
    PageType,
    init_page,
    page_lsn,
    page_type_of,
    validate_page_size,
)
from .paged_file import FREE_NEXT, PagedFile
from .replacer import make_replacer

__all__ = ["BufferPool", "PageGuard", "PoolStats"]


@dataclass
class PoolStats:
    """Buffer-pool counters since the pool was created.

    ``reads`` and ``writes`` count pages transferred from and to disk.
    """

    hits: int = 0
    misses: int = 0
    reads: int = 0
    writes: int = 0
    evictions: int = 0

    def as_dict(self) -> dict[str, int]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class PageGuard:
    """A pinned page for the duration of a ``with`` block.

    ``data`` is the frame's writable memoryview; a read guard's caller must
    not write through it. Using the guard outside its block raises
    :class:`PageGuardError`.
    """

    __slots__ = ("_pool", "_file_id", "_page_no", "_dirty", "_frame", "_data")

    def __init__(self, pool: "BufferPool", file_id: int, page_no: int, dirty: bool) -> None:
        self._pool = pool
        self._file_id = file_id
        self._page_no = page_no
        self._dirty = dirty
        self._frame = -1  # -1 before entering; the frame stays set after exit
        self._data: memoryview | None = None

    def __enter__(self) -> "PageGuard":
        if self._frame != -1:
            raise PageGuardError("a page guard can be entered only once; ask the pool for a new one")
        frame = self._pool.pin(self._file_id, self._page_no)
        self._frame = frame
        self._data = self._pool._views[frame]
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._data is not None:
            self._data = None
            self._pool.unpin(self._frame, self._dirty)

    @property
    def data(self) -> memoryview:
        data = self._data
        if data is None:
            raise PageGuardError(f"page {self._page_no} used outside its 'with' block")
        return data

    @property
    def array(self) -> np.ndarray:
        """The page as a uint8 numpy array over the frame (no copy)."""
        self.data  # raises if closed
        return self._pool.frames[self._frame]

    @property
    def page_no(self) -> PageId:
        if self._frame == -1:
            self.data  # a new page has no number until the block is entered
        return PageId(self._page_no)

    @property
    def frame(self) -> FrameId:
        self.data
        return FrameId(self._frame)


class NewPageGuard(PageGuard):
    """A guard that allocates a page of ``page_type`` when entered."""

    __slots__ = ("_page_type",)

    def __init__(self, pool: "BufferPool", file_id: int, page_type: int) -> None:
        super().__init__(pool, file_id, 0, True)
        self._page_type = page_type

    def __enter__(self) -> "PageGuard":
        if self._frame != -1:
            raise PageGuardError("a page guard can be entered only once; ask the pool for a new one")
        self._frame, self._page_no = self._pool._allocate(self._file_id, self._page_type)
        self._data = self._pool._views[self._frame]
        return self


class BufferPool:
    """A fixed number of page frames with a replacement policy.

    Args:
        num_frames: frames in the pool, in pages (at least 2).
        page_size: bytes per page; every registered file must use it.
        replacer: ``"lru-k"`` (default), ``"lru"`` or ``"clock"``.
        k: K for LRU-K.
    """

    def __init__(self, num_frames: int, page_size: int = 4096, replacer: str = "lru-k", k: int = 2) -> None:
        if not isinstance(num_frames, int) or num_frames < 2:
            raise ValueError(f"a buffer pool needs at least 2 frames, got {num_frames!r}")
        validate_page_size(page_size)
        self.num_frames = num_frames
        self.page_size = page_size
        self._buffer = mmap.mmap(-1, num_frames * page_size)
        self._whole = memoryview(self._buffer)
        self._views: list[memoryview | None] = [None] * num_frames
        self.frames = np.frombuffer(self._buffer, dtype=np.uint8).reshape(num_frames, page_size)
        self._replacer = make_replacer(replacer, num_frames, k)
        self.replacer_name = replacer
        self._latch = threading.Lock()
        self._page_table: dict[int, int] = {}
        self._frame_key = [-1] * num_frames
        self._frame_file = [0] * num_frames
        self._frame_page = [0] * num_frames
        self._pins = [0] * num_frames
        self._dirty = bytearray(num_frames)
        self._free_frames = list(range(num_frames - 1, -1, -1))
        self._files: dict[int, PagedFile] = {}
        self._next_file_id = 1
        self.stats = PoolStats()
        #: Called with a page's LSN before that page is written (write-ahead rule).
        self.log_flusher: Callable[[int], None] | None = None

    # -- files -----------------------------------------------------------

    def register_file(self, file: PagedFile) -> FileId:
        """Start caching pages of ``file``; returns the id used in every call."""
        if file.page_size != self.page_size:
            raise ValueError(
                f"{file.path} uses {file.page_size}-byte pages but the pool's frames are {self.page_size} bytes"
            )
        with self._latch:
            file_id = self._next_file_id
            self._next_file_id += 1
            self._files[file_id] = file
        return FileId(file_id)

    def file(self, file_id: int) -> PagedFile:
        return self._files[file_id]

    def unregister_file(self, file_id: int, *, discard: bool = False) -> None:
        """Drop a file's frames, writing dirty ones back unless ``discard``.

        Raises:
            PageGuardError: a page of the file is still pinned.
        """
        with self._latch:
            frames = [f for f in range(self.num_frames) if self._frame_key[f] != -1 and self._frame_file[f] == file_id]
            pinned = [self._frame_page[f] for f in frames if self._pins[f]]
            if pinned:
                raise PageGuardError(f"cannot drop {self._files[file_id].path}: pages {pinned[:8]} are pinned")
            if not discard:
                for frame in sorted(frames, key=self._frame_page.__getitem__):
                    if self._dirty[frame]:
                        self._write_back(frame)
            for frame in frames:
                self._release_frame(frame)
            del self._files[file_id]

    # -- pin / unpin ---------------------------------------------------------

    def pin(self, file_id: int, page_no: int) -> FrameId:
        """Pin a page, reading it from disk on a miss, and return its frame.

        Every ``pin`` needs exactly one :meth:`unpin`.

        Raises:
            BufferPoolFullError: the page is not resident and every frame is
                pinned.
            CorruptPageError, TruncatedFileError: the page failed its check.
        """
        key = (file_id << 32) | page_no
        with self._latch:
            frame = self._page_table.get(key)
            if frame is None:
                return self._load(file_id, page_no, key)
            self.stats.hits += 1
            self._pins[frame] += 1
            self._replacer.pin(frame)
            return frame  # type: ignore[return-value]

    def pin_pages(self, file_id: int, page_nos: list[int]) -> list[int]:
        """Pin several pages of one file under one latch acquisition.

        On an error no page stays pinned by this call.
        """
        frames: list[int] = []
        page_table = self._page_table
        pins = self._pins
        base = file_id << 32
        hit_frames: list[int] = []
        with self._latch:
            try:
                for page_no in page_nos:
                    key = base | page_no
                    frame = page_table.get(key)
                    if frame is None:
                        # The replacer must know of every pin before it may
                        # pick a victim for this miss.
                        self._replacer.pin_frames(hit_frames)
                        self.stats.hits += len(hit_frames)
                        hit_frames = []
                        frame = self._load(file_id, page_no, key)
                    else:
                        pins[frame] += 1
                        hit_frames.append(frame)
                    frames.append(frame)
            except BaseException:
                self._replacer.pin_frames(hit_frames)
                for frame in frames:
                    self._unpin_locked(frame, False)
                raise
            self.stats.hits += len(hit_frames)
            self._replacer.pin_frames(hit_frames)
        return frames

    def unpin(self, frame: int, dirty: bool = False) -> None:
        """Release one pin on ``frame``; ``dirty`` marks it modified."""
        with self._latch:
            if dirty:
                self._dirty[frame] = 1
            pins = self._pins[frame] - 1
            if pins <= 0:
                if pins < 0:
                    raise PageGuardError(f"frame {frame} unpinned more often than pinned")
                self._replacer.set_evictable(frame, True)
            self._pins[frame] = pins

    def unpin_frames(self, frames: list[int]) -> None:
        """Release one pin on each frame (clean), under one latch acquisition."""
        with self._latch:
            for frame in frames:
                self._unpin_locked(frame, False)

    def _unpin_locked(self, frame: int, dirty: bool) -> None:
        if dirty:
            self._dirty[frame] = 1
        pins = self._pins[frame] - 1
        if pins < 0:
            raise PageGuardError(f"frame {frame} unpinned more often than pinned")
        self._pins[frame] = pins
        if not pins:
            self._replacer.set_evictable(frame, True)

    # -- guards ----------------------------------------------------------

    def read_page(self, file_id: int, page_no: int) -> PageGuard:
        """Return a guard that pins the page for reading."""
        return PageGuard(self, file_id, page_no, False)

    def write_page(self, file_id: int, page_no: int) -> PageGuard:
        """Return a guard that pins the page and marks it dirty on exit."""
        return PageGuard(self, file_id, page_no, True)

    def new_page(self, file_id: int, page_type: int) -> NewPageGuard:
        """Return a guard over a newly allocated, zeroed page of ``page_type``.

        A page from the file's free list is reused before the file grows.
        """
        return NewPageGuard(self, file_id, page_type)

    # -- allocation ------------------------------------------------------

    def _allocate(self, file_id: int, page_type: int) -> tuple[int, int]:
        with self._latch:
            file = self._files[file_id]
            if file.free_head:
                page_no = file.free_head
                frame = self._pin_for_reuse(file_id, page_no)
                view = self._views[frame]
                next_free = FREE_NEXT.unpack_from(view, PAGE_HEADER_SIZE)[0]
                if page_type_of(view) != PageType.FREE or next_free >= file.page_count or next_free == page_no:
                    self._unpin_locked(frame, False)
                    raise CorruptPageError(
                        f"{file.path}: page {page_no} is on the free list but is not a valid free page",
                        path=file.path,
                        page_no=page_no,
                    )
                file.free_head = next_free
                file.free_count -= 1
            else:
                # Take the frame first: if the pool is full, the file must not grow.
                frame = self._take_frame()
                try:
                    page_no = file.add_pages(1)
                except BaseException:
                    self._free_frames.append(frame)
                    raise
                self._map(frame, file_id, page_no)
            init_page(self._views[frame], page_type, page_no)
            self._dirty[frame] = 1
            file.header_dirty = True
            return frame, page_no

    def _pin_for_reuse(self, file_id: int, page_no: int) -> int:
        key = (file_id << 32) | page_no
        frame = self._page_table.get(key)
        if frame is None:
            return self._load(file_id, page_no, key)
        if self._pins[frame]:
            raise PageGuardError(f"free page {page_no} is pinned")
        self._pins[frame] = 1
        self._replacer.pin(frame)
        return frame

    def free_page(self, file_id: int, page_no: int) -> None:
        """Put a page on its file's free list, for reuse by :meth:`new_page`.

        Precondition: nothing references the page any more.

        Raises:
            PageGuardError: the page is pinned.
        """
        with self._latch:
            file = self._files[file_id]
            if not 0 < page_no < file.page_count:
                raise ValueError(f"{file.path}: cannot free page {page_no}, the file has {file.page_count} pages")
            key = (file_id << 32) | page_no
            frame = self._page_table.get(key)
            if frame is None:
                frame = self._take_frame()
                self._map(frame, file_id, page_no)
            elif self._pins[frame]:
                raise PageGuardError(f"{file.path}: cannot free page {page_no} while it is pinned")
            else:
                if page_type_of(self._views[frame]) == PageType.FREE:
                    raise ValueError(f"{file.path}: page {page_no} is already free")
                self._pins[frame] = 1
                self._replacer.pin(frame)
            view = self._views[frame]
            init_page(view, PageType.FREE, page_no)
            FREE_NEXT.pack_into(view, PAGE_HEADER_SIZE, file.free_head)
            file.free_head = page_no
            file.free_count += 1
            file.header_dirty = True
            self._unpin_locked(frame, True)

    def write_new_pages(self, file_id: int, images: np.ndarray) -> PageId:
        """Append whole page images to a file, bypassing the cache.

        ``images`` is a C-contiguous uint8 array of shape (n, page_size)
        whose common headers (page type, LSN) the caller has filled. The
        page numbers and checksums are stamped here. Bulk writers use this
        so that a large load does not push every cached page out. Returns
        the first page number, so the pages are ``first .. first + n - 1``.
        """
        count = images.shape[0]
        if images.shape[1:] != (self.page_size,) or images.dtype != np.uint8 or not images.flags.c_contiguous:
            raise ValueError(f"page images must be a C-contiguous uint8 array of shape (n, {self.page_size})")
        with self._latch:
            file = self._files[file_id]
            first = file.add_pages(count)
            if count:
                file.write_pages(first, memoryview(images).cast("B"), count)
                self.stats.writes += count
        return PageId(first)

    # -- flushing --------------------------------------------------------

    def flush(self, file_id: int, page_no: int) -> bool:
        """Write one page back if it is resident and dirty; True if written."""
        with self._latch:
            frame = self._page_table.get((file_id << 32) | page_no)
            if frame is None or not self._dirty[frame]:
                return False
            self._write_back(frame)
            return True

    def flush_file(self, file_id: int) -> int:
        """Write back every dirty page of one file, then its header; returns pages written."""
        with self._latch:
            frames = [
                f
                for f in range(self.num_frames)
                if self._dirty[f] and self._frame_key[f] != -1 and self._frame_file[f] == file_id
            ]
            frames.sort(key=self._frame_page.__getitem__)
            for frame in frames:
                self._write_back(frame)
            file = self._files[file_id]
            if file.header_dirty:
                file.write_header()
            return len(frames)

    def sync_file(self, file_id: int) -> None:
        """Flush a file's pages and header, then fsync it."""
        self.flush_file(file_id)
        self._files[file_id].sync()

    def flush_all(self) -> int:
        """Write back every dirty page of every file and their headers."""
        return sum(self.flush_file(file_id) for file_id in list(self._files))

    # -- inspection ------------------------------------------------------

    def is_resident(self, file_id: int, page_no: int) -> bool:
        return ((file_id << 32) | page_no) in self._page_table

    def pin_count(self, file_id: int, page_no: int) -> int:
        frame = self._page_table.get((file_id << 32) | page_no)
        return 0 if frame is None else self._pins[frame]

    def pinned_frames(self) -> int:
        return sum(1 for pins in self._pins if pins)

    def view(self, frame: int) -> memoryview:
        """Return the memoryview of a frame that the caller has pinned."""
        return self._views[frame]

    # -- internals (called with the latch held) ----------------------------

    def _load(self, file_id: int, page_no: int, key: int) -> int:
        file = self._files[file_id]
        frame = self._take_frame()
        try:
            file.read_into(page_no, self._views[frame])
        except BaseException:
            self._free_frames.append(frame)
            raise
        self._map(frame, file_id, page_no)
        self.stats.misses += 1
        self.stats.reads += 1
        return frame

    def _map(self, frame: int, file_id: int, page_no: int) -> None:
        key = (file_id << 32) | page_no
        self._page_table[key] = frame
        self._frame_key[frame] = key
        self._frame_file[frame] = file_id
        self._frame_page[frame] = page_no
        self._pins[frame] = 1
        self._dirty[frame] = 0
        self._replacer.pin(frame)

    def _take_frame(self) -> int:
        if self._free_frames:
            frame = self._free_frames.pop()
            if self._views[frame] is None:
                size = self.page_size
                self._views[frame] = self._whole[frame * size : (frame + 1) * size]
            return frame
        victim = self._replacer.evict()
        if victim is None:
            raise BufferPoolFullError(
                f"all {self.num_frames} buffer-pool frames are pinned; release pages "
                f"or open the database with a larger pool_size"
            )
        if self._dirty[victim]:
            try:
                self._write_back(victim)
            except BaseException:
                # The page is still cached and dirty; let a later eviction retry.
                self._replacer.pin(victim)
                self._replacer.set_evictable(victim, True)
                raise
        del self._page_table[self._frame_key[victim]]
        self._frame_key[victim] = -1
        self.stats.evictions += 1
        return victim

    def _release_frame(self, frame: int) -> None:
        del self._page_table[self._frame_key[frame]]
        self._frame_key[frame] = -1
        self._dirty[frame] = 0
        self._replacer.remove(frame)
        self._free_frames.append(frame)

    def _write_back(self, frame: int) -> None:
        view = self._views[frame]
        if self.log_flusher is not None:
            lsn = page_lsn(view)
            if lsn:
                self.log_flusher(lsn)
        self._files[self._frame_file[frame]].write_from(self._frame_page[frame], view)
        self._dirty[frame] = 0
        self.stats.writes += 1
