"""Page replacement policies for the buffer pool: LRU-K and Clock.

A replacer tracks frames, not pages. The buffer pool reports every access
to it (:meth:`record_access`), marks whether a frame may be evicted
(:meth:`set_evictable`, only for frames with a pin count of 0), and
requests a victim (:meth:`evict`). :meth:`pin` is ``record_access`` plus
``set_evictable(frame, False)`` in one call, for the pool's hot path. Invariant: ``evict`` never returns a frame
whose last ``set_evictable`` call said False, so a pinned page is never
evicted.

Replacers are not thread-safe; the buffer pool calls them under its latch.

LRU-K (O'Neil, O'Neil and Weikum, "The LRU-K Page Replacement Algorithm for
Database Disk Buffering", SIGMOD 1993) evicts the frame whose K-th most
recent access is oldest: its backward K-distance is largest. A frame with
fewer than K recorded accesses has an infinite backward K-distance, so such
frames go first, the one with the earliest first access before the others.
This keeps pages touched once by a scan from pushing out pages that are
used again and again. History is dropped when a frame is evicted (the paper's
"retained information period" is zero here).

Time is a logical tick counted per access, not a clock reading: cheaper,
and it makes eviction order reproducible in tests.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Protocol

__all__ = ["Replacer", "LRUKReplacer", "ClockReplacer", "make_replacer", "REPLACER_NAMES"]


class Replacer(Protocol):
    def record_access(self, frame: int) -> None: ...

    def pin(self, frame: int) -> None: ...

    def pin_frames(self, frames: list[int]) -> None: ...

    def set_evictable(self, frame: int, evictable: bool) -> None: ...

    def evict(self) -> int | None: ...

    def remove(self, frame: int) -> None: ...


class LRUKReplacer:
    """LRU-K over ``num_frames`` frames.

    Evictable frames sit in a min-heap of ints that encode
    ``(has_k_accesses, tick, frame)``: ``tick`` is the first access for
    frames with fewer than K accesses and the K-th most recent access
    otherwise, so the smallest entry is the victim. A frame's key can only
    change while it is pinned (accesses happen at pin time), so each
    ``set_evictable(frame, True)`` pushes one entry. An entry is live only
    while it equals ``_entry[frame]`` and the frame is evictable. Stale
    entries are dropped when popped. Plain ints compare several times faster
    than tuples, which matters on the pool's hit path.
    """

    def __init__(self, num_frames: int, k: int = 2) -> None:
        if k < 1:
            raise ValueError(f"LRU-K needs k >= 1, got {k}")
        self.k = k
        self._tick = 0
        # Made on a frame's first access: a pool of 32,768 frames would spend
        # about 40 ms creating them all up front.
        self._history: list[deque[int] | None] = [None] * num_frames
        self._evictable = bytearray(num_frames)
        self._entry = [-1] * num_frames
        self._heap: list[int] = []
        self._evictable_count = 0
        self._frame_bits = max(1, (num_frames - 1).bit_length())
        self._frame_mask = (1 << self._frame_bits) - 1
        # Frames with K accesses rank after every frame with fewer.
        self._full_rank = 1 << 62
        # Rebuild the heap once stale entries outnumber live ones this much,
        # so a hot page pinned a million times does not grow it forever.
        self._heap_limit = 4 * num_frames + 64

    def record_access(self, frame: int) -> None:
        self._tick += 1
        history = self._history[frame]
        if history is None:
            history = self._history[frame] = deque(maxlen=self.k)
        history.append(self._tick)

    def pin(self, frame: int) -> None:
        self._tick += 1
        history = self._history[frame]
        if history is None:
            history = self._history[frame] = deque(maxlen=self.k)
        history.append(self._tick)
        if self._evictable[frame]:
            self._evictable[frame] = 0
            self._evictable_count -= 1

    def pin_frames(self, frames: list[int]) -> None:
        """:meth:`pin` for several frames (one call instead of one per frame)."""
        history_of = self._history
        evictable = self._evictable
        k = self.k
        tick = self._tick
        for frame in frames:
            tick += 1
            history = history_of[frame]
            if history is None:
                history = history_of[frame] = deque(maxlen=k)
            history.append(tick)
            if evictable[frame]:
                evictable[frame] = 0
                self._evictable_count -= 1
        self._tick = tick

    def _entry_for(self, frame: int) -> int:
        history = self._history[frame] or ()
        # history[0] is the first access while fewer than k are recorded, and
        # the k-th most recent once the deque is full.
        if len(history) < self.k:
            key = history[0] if history else 0
        else:
            key = self._full_rank + history[0]
        return (key << self._frame_bits) | frame

    def set_evictable(self, frame: int, evictable: bool) -> None:
        if evictable:
            if self._evictable[frame]:
                return
            self._evictable[frame] = 1
            self._evictable_count += 1
            entry = self._entry_for(frame)
            self._entry[frame] = entry
            heapq.heappush(self._heap, entry)
            if len(self._heap) > self._heap_limit:
                self._rebuild_heap()
        elif self._evictable[frame]:
            self._evictable[frame] = 0
            self._evictable_count -= 1

    def _rebuild_heap(self) -> None:
        self._heap = [self._entry[frame] for frame in range(len(self._evictable)) if self._evictable[frame]]
        heapq.heapify(self._heap)

    def evict(self) -> int | None:
        heap = self._heap
        mask = self._frame_mask
        while heap:
            entry = heapq.heappop(heap)
            frame = entry & mask
            if self._evictable[frame] and self._entry[frame] == entry:
                self.remove(frame)
                return frame
        return None

    def remove(self, frame: int) -> None:
        """Forget a frame's history (its page left the pool)."""
        if self._evictable[frame]:
            self._evictable[frame] = 0
            self._evictable_count -= 1
        self._entry[frame] = -1
        if self._history[frame] is not None:
            self._history[frame].clear()

    def size(self) -> int:
        """Number of evictable frames."""
        return self._evictable_count


class ClockReplacer:
    """The Clock (second chance) policy.

    Each access sets the frame's reference bit. The hand sweeps the frames.
    An evictable frame with its bit set gets the bit cleared and is passed
    over once, and the first one with the bit clear is the victim. Two full
    sweeps find a victim if any frame is evictable.
    """

    def __init__(self, num_frames: int) -> None:
        self._referenced = bytearray(num_frames)
        self._evictable = bytearray(num_frames)
        self._hand = 0
        self._evictable_count = 0

    def record_access(self, frame: int) -> None:
        self._referenced[frame] = 1

    def pin(self, frame: int) -> None:
        self._referenced[frame] = 1
        if self._evictable[frame]:
            self._evictable[frame] = 0
            self._evictable_count -= 1

    def pin_frames(self, frames: list[int]) -> None:
        for frame in frames:
            self.pin(frame)

    def set_evictable(self, frame: int, evictable: bool) -> None:
        if evictable and not self._evictable[frame]:
            self._evictable_count += 1
        elif not evictable and self._evictable[frame]:
            self._evictable_count -= 1
        self._evictable[frame] = 1 if evictable else 0

    def evict(self) -> int | None:
        if not self._evictable_count:
            return None
        count = len(self._evictable)
        referenced = self._referenced
        evictable = self._evictable
        hand = self._hand
        for _ in range(2 * count):
            frame = hand
            hand = hand + 1 if hand + 1 < count else 0
            if not evictable[frame]:
                continue
            if referenced[frame]:
                referenced[frame] = 0
                continue
            self._hand = hand
            self.remove(frame)
            return frame
        self._hand = hand
        return None

    def remove(self, frame: int) -> None:
        if self._evictable[frame]:
            self._evictable[frame] = 0
            self._evictable_count -= 1
        self._referenced[frame] = 0

    def size(self) -> int:
        return self._evictable_count


#: Names accepted by :func:`make_replacer` and ``storagedb.connect(replacer=...)``.
REPLACER_NAMES = ("lru-k", "lru", "clock")


def make_replacer(name: str, num_frames: int, k: int = 2) -> LRUKReplacer | ClockReplacer:
    """Build a replacer by name: ``"lru-k"`` (LRU-K, default k=2), ``"lru"`` or ``"clock"``.

    Raises:
        ValueError: for an unknown name.
    """
    if name == "lru-k":
        return LRUKReplacer(num_frames, k)
    if name == "lru":
        return LRUKReplacer(num_frames, 1)
    if name == "clock":
        return ClockReplacer(num_frames)
    raise ValueError(f"unknown replacement policy {name!r}; choose one of {', '.join(REPLACER_NAMES)}")
