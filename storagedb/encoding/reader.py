"""Bounds-checked reading of encoded bytes.

Every decoder reads through a :class:`PayloadReader`, so a size, count or
offset taken from a damaged chunk raises :class:`CorruptChunkError` naming the
field, instead of an ``IndexError``, a ``struct.error`` or a short read.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import CorruptChunkError

__all__ = ["PayloadReader", "as_byte_view"]


def as_byte_view(buf: bytes | bytearray | memoryview | np.ndarray) -> memoryview:
    """Return a flat, read-only byte memoryview over ``buf`` without copying.

    Raises:
        TypeError: ``buf`` is not bytes-like or a uint8 numpy array.
    """
    if isinstance(buf, np.ndarray):
        if buf.dtype != np.uint8:
            raise TypeError(f"a chunk buffer must be a uint8 array, not {buf.dtype}")
        buf = np.ascontiguousarray(buf).reshape(-1)
    view = memoryview(buf)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    return view.toreadonly()


class PayloadReader:
    """A cursor over encoded bytes that checks each read against the end.

    ``what`` names the structure being read ("dictionary payload") in error
    messages.
    """

    __slots__ = ("_view", "_offset", "_what")

    def __init__(self, view: memoryview, what: str) -> None:
        self._view = view
        self._offset = 0
        self._what = what

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def remaining(self) -> int:
        return len(self._view) - self._offset

    def unpack(self, layout: struct.Struct, field: str) -> tuple:
        """Unpack ``layout`` at the cursor and move past it."""
        self._require(layout.size, field)
        fields = layout.unpack_from(self._view, self._offset)
        self._offset += layout.size
        return fields

    def take(self, size: int, field: str) -> memoryview:
        """Return the next ``size`` bytes as a view and move past them."""
        self._require(size, field)
        start = self._offset
        self._offset += size
        return self._view[start : self._offset]

    def take_rest(self) -> memoryview:
        """Return every byte left and move to the end."""
        return self.take(self.remaining, "rest")

    def expect_end(self) -> None:
        """Raise unless every byte has been read."""
        if self.remaining:
            raise CorruptChunkError(
                f"{self._what} has {self.remaining} unexpected trailing bytes "
                f"after offset {self._offset} (expected exactly {self._offset} bytes)"
            )

    def _require(self, size: int, field: str) -> None:
        if size < 0 or size > self.remaining:
            raise CorruptChunkError(
                f"{self._what} is truncated: {field} needs {size} bytes at offset "
                f"{self._offset}, but only {self.remaining} remain"
            )
