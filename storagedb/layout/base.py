"""The interface every segment layout (NSM, DSM, PAX) implements.

A layout decides where a sealed segment's rows sit in its file. The segment
(``storagedb/segment.py``) owns everything else: sorting, zone maps, fence
keys, the Bloom filter and the delete vector. Rows are numbered 0 .. rows-1
in the order they were written.

Two kinds of row ranges matter to a layout:

* **zones**: the unit of zone maps and of scan skipping (a group of NSM
  pages, a DSM chunk, a PAX row group);
* **fence units**: the unit a point lookup reads after the fence keys have
  narrowed the search (an NSM page, a DSM chunk, a PAX row group).

Both are given as row bounds: ``bounds[i]`` .. ``bounds[i + 1] - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

import numpy as np

from ..batch import ColumnData
from ..record import RecordCodec
from ..schema import Schema
from ..storage.buffer_pool import BufferPool

__all__ = ["LayoutOptions", "WrittenLayout", "LayoutReader", "LayoutWriter"]


@dataclass
class LayoutOptions:
    """Table options a layout reads when it writes a segment."""

    compression: str = "auto"
    #: Rows per DSM chunk or PAX row group.
    row_group_rows: int = 65_536
    #: NSM data pages per zone (the finest unit a scan can skip).
    nsm_pages_per_zone: int = 16


@dataclass
class WrittenLayout:
    """Result that a layout writer returns to the segment."""

    info: dict[str, Any]
    zone_bounds: np.ndarray
    fence_bounds: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


class LayoutWriter(Protocol):
    def __call__(
        self,
        pool: BufferPool,
        file_id: int,
        schema: Schema,
        codec: RecordCodec,
        columns: Sequence[ColumnData],
        count: int,
        options: LayoutOptions,
    ) -> WrittenLayout: ...


class LayoutReader(Protocol):
    rows: int
    zone_bounds: np.ndarray
    fence_bounds: np.ndarray

    def scan_zones(self, first_zone: int, last_zone: int, wanted: Sequence[int]) -> Iterator[tuple[int, list[ColumnData], int]]:
        """Yield ``(first_row, columns, pages_read)`` covering zones ``first_zone`` .. ``last_zone - 1``."""
        ...

    def read_rows(self, rows: np.ndarray, wanted: Sequence[int]) -> tuple[list[ColumnData], int]:
        """Columns ``wanted`` of the given row ids, and the data pages read."""
        ...

    def find_in_unit(self, unit: int, key: tuple) -> tuple[int | None, int]:
        """Search fence unit ``unit`` of a key-sorted segment: ``(row or None, pages_read)``."""
        ...

    def column_bytes(self) -> list[dict[str, Any]]:
        """Per column: pages, raw and stored bytes, and the encodings used."""
        ...
