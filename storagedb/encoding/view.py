"""Lazy reading of column chunks with :class:`ChunkView`.

A view checks the header once and decodes the payload only when values,
runs or the dictionary are requested. The layouts it reads are documented in
:mod:`.header` and in each encoding's module.
"""

from __future__ import annotations

import numpy as np

from ..errors import CorruptChunkError, InvalidInputError
from . import bitpack, delta, dictionary, frame_of_reference, plain, rle
from .compression import decompress
from .header import COMPRESSION_NAMES, ENCODING_NAMES, FLAG_NULLS, HEADER, ChunkHeader, check_header
from .reader import PayloadReader, as_byte_view

__all__ = ["ChunkView"]


class ChunkView:
    """A parsed column chunk whose values are decoded on request.

    The header is read and checked once. The null bitmap and the stored
    payload are copied, so ``buf`` may be reused or released as soon as the
    constructor returns. The payload is decompressed on first use and kept.

    Example:
        >>> from storagedb.encoding import encode_chunk
        >>> view = ChunkView(encode_chunk(np.arange(1000), None, "int64"))
        >>> view.encoding, view.row_count
        ('delta', 1000)

    Raises:
        CorruptChunkError: from the constructor when the header, sizes or
            null bitmap are inconsistent, and from the accessors when the
            payload is.
    """

    __slots__ = ("header", "_kind", "_bitmap", "_stored", "_payload", "_stored_bytes")

    def __init__(self, buf: bytes | memoryview | np.ndarray) -> None:
        view = as_byte_view(buf)
        reader = PayloadReader(view, "column chunk")
        self.header = ChunkHeader._make(reader.unpack(HEADER, "header"))
        self._kind = check_header(self.header)
        bitmap_size = (self.header.row_count + 7) // 8 if self.header.flags & FLAG_NULLS else 0
        self._bitmap = bytes(reader.take(bitmap_size, "null bitmap"))
        self._stored = bytes(reader.take(self.header.stored_payload_size, "payload"))
        self._stored_bytes = reader.offset
        self._payload: bytes | None = None
        self._check_bitmap()

    # -- header fields -----------------------------------------------------

    @property
    def row_count(self) -> int:
        return self.header.row_count

    @property
    def null_count(self) -> int:
        return self.header.null_count

    @property
    def value_count(self) -> int:
        """Non-null values stored in the payload."""
        return self.header.row_count - self.header.null_count

    @property
    def kind(self) -> str:
        return self._kind.name

    @property
    def encoding(self) -> str:
        """Display name: ``"dictionary+bitpack"``, ``"dictionary+rle"``, ``"rle"`` ..."""
        name = ENCODING_NAMES[self.header.encoding]
        if self.header.code_encoding:
            return f"{name}+{ENCODING_NAMES[self.header.code_encoding]}"
        return name

    @property
    def compression(self) -> str:
        return COMPRESSION_NAMES[self.header.compression]

    @property
    def raw_bytes(self) -> int:
        """Bytes the non-null values take in plain encoding, uncompressed."""
        return self.header.plain_size

    @property
    def stored_bytes(self) -> int:
        """Length of the chunk: header, null bitmap and stored payload."""
        return self._stored_bytes

    def __repr__(self) -> str:
        return (
            f"ChunkView(kind={self.kind!r}, rows={self.row_count}, nulls={self.null_count}, "
            f"encoding={self.encoding!r}, compression={self.compression!r}, "
            f"raw_bytes={self.raw_bytes}, stored_bytes={self.stored_bytes})"
        )

    # -- decoded data ------------------------------------------------------

    def nulls(self) -> np.ndarray | None:
        """Return a bool array, True at NULL rows, or None when there are none."""
        if not self._bitmap:
            return None
        return self._null_mask().copy()

    def values(self) -> np.ndarray:
        """Decode every row: 0, ``""`` or ``b""`` at NULL rows.

        Raises:
            CorruptChunkError: the payload is damaged.
        """
        return self._spread(self._decode_non_null())

    def dictionary(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Return ``(sorted_entries, codes)`` of a dictionary chunk, else None.

        ``codes`` is an int32 array with one code per row (0 at NULL rows);
        ``sorted_entries[codes]`` gives the values. Entries are strictly
        ascending, so a predicate on values becomes one on codes::

            low = np.searchsorted(entries, 10, side="left")
            high = np.searchsorted(entries, 20, side="right")
            rows = (codes >= low) & (codes < high)  # 10 <= value <= 20; mask NULLs

        Raises:
            CorruptChunkError: the payload is damaged.
        """
        if ENCODING_NAMES[self.header.encoding] != "dictionary":
            return None
        parts = dictionary.decode_parts(self._payload_view(), self.value_count, self._kind, self._code_encoding)
        codes = parts.codes.astype(np.int32)
        return parts.entries, self._spread_codes(codes)

    def runs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Return ``(run_values, run_lengths)`` of the non-null values, else None.

        Available for ``"rle"`` and ``"dictionary+rle"`` chunks. Runs are as
        stored: a run longer than 65,535 values appears as several runs of the
        same value. The lengths (int64) add up to ``row_count - null_count``.

        Raises:
            CorruptChunkError: the payload is damaged.
        """
        encoding = self.encoding
        if encoding == "rle":
            return rle.decode_runs(self._payload_view(), self.value_count, self._kind)
        if encoding == "dictionary+rle":
            entries, run_codes, lengths = dictionary.decode_runs(self._payload_view(), self.value_count, self._kind)
            return entries[run_codes], lengths
        return None

    def take(self, positions) -> np.ndarray:
        """Return the values at row ``positions`` (0, ``""`` or ``b""`` at NULLs).

        Plain, frame-of-reference, bit-packed and dictionary chunks with
        bit-packed codes decode only those values; other encodings decode
        the whole chunk and index it.

        Raises:
            InvalidInputError: a position is not an integer in ``0..row_count-1``.
            CorruptChunkError: the payload is damaged.
        """
        rows = self._checked_rows(positions)
        encoding = self.encoding
        if encoding in ("for", "bitpack", "dictionary+bitpack"):
            indexes, present = self._value_indexes(rows)
            view = self._payload_view()
            if encoding == "for":
                dense = frame_of_reference.take(view, self.value_count, self._kind, indexes)
            elif encoding == "bitpack":
                dense = bitpack.take(view, self.value_count, self._kind, indexes)
            else:
                parts = dictionary.take_parts(view, self.value_count, self._kind, indexes)
                dense = parts.entries[parts.codes]
            return self._place(dense, present)
        if encoding == "plain" and self._kind.is_variable:
            indexes, present = self._value_indexes(rows)
            dense = plain.take_variable(self._payload_view(), self.value_count, self._kind, indexes)
            return self._place(dense, present)
        if encoding != "plain":
            return self.values()[rows]

        stored = self._plain_fixed_values()
        if not self._bitmap:
            return stored[rows]
        null_mask = self._null_mask()
        value_index = np.cumsum(~null_mask) - 1
        out = np.zeros(rows.shape, dtype=self._kind.dtype)
        present = ~null_mask[rows]
        out[present] = stored[value_index[rows[present]]]
        return out

    def variable_bounds(self) -> tuple[np.ndarray, bytes] | None:
        """Return ``(bounds, data)`` of a plain text or blob chunk's non-NULL values, else None.

        Non-NULL value ``i`` is ``data[bounds[i]:bounds[i + 1]]`` (UTF-8
        bytes for text), so one value can be read without decoding the rest.

        Raises:
            CorruptChunkError: the payload is damaged.
        """
        if self.encoding != "plain" or not self._kind.is_variable:
            return None
        return plain.variable_bounds(self._payload_view(), self.value_count, self._kind)

    def take_codes(self, positions) -> tuple[np.ndarray, np.ndarray] | None:
        """``(sorted_entries, codes at positions)`` of a dictionary chunk with bit-packed codes, else None.

        Codes at NULL rows are 0, as in :meth:`dictionary`.
        """
        if self.encoding != "dictionary+bitpack":
            return None
        rows = self._checked_rows(positions)
        indexes, present = self._value_indexes(rows)
        parts = dictionary.take_parts(self._payload_view(), self.value_count, self._kind, indexes)
        codes = np.zeros(len(rows), dtype=np.int32)
        codes[present] = parts.codes
        return parts.entries, codes

    # -- helpers -----------------------------------------------------------

    def _checked_rows(self, positions) -> np.ndarray:
        rows = np.asarray(positions)
        if rows.size and rows.dtype.kind not in "iu":
            raise InvalidInputError(f"positions must be integers, got dtype {rows.dtype}")
        rows = rows.astype(np.int64, copy=False)
        if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= self.row_count):
            raise InvalidInputError(
                f"positions must lie in 0..{self.row_count - 1}; found {int(rows.min())}..{int(rows.max())}"
            )
        return rows

    def _value_indexes(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index among the non-null values of each row, and which rows are not NULL."""
        if not self._bitmap:
            return rows, np.ones(len(rows), dtype=bool)
        null_mask = self._null_mask()
        present = ~null_mask[rows]
        value_index = np.cumsum(~null_mask) - 1
        return value_index[rows[present]], present

    def _place(self, dense: np.ndarray, present: np.ndarray) -> np.ndarray:
        if present.all():
            return dense
        if self._kind.is_variable:
            out = np.full(len(present), "" if self._kind.name == "text" else b"", dtype=object)
        else:
            out = np.zeros(len(present), dtype=dense.dtype)
        out[present] = dense
        return out

    @property
    def _code_encoding(self) -> str:
        return ENCODING_NAMES[self.header.code_encoding]

    def _payload_view(self) -> memoryview:
        if self._payload is None:
            name = self.compression
            if name == "none":
                self._payload = self._stored
            else:
                self._payload = decompress(memoryview(self._stored), name, self.header.payload_size)
        return memoryview(self._payload)

    def _decode_non_null(self) -> np.ndarray:
        view = self._payload_view()
        count = self.value_count
        kind = self._kind
        name = ENCODING_NAMES[self.header.encoding]
        if name == "plain":
            return plain.decode(view, count, kind)
        if name == "dictionary":
            return dictionary.decode(view, count, kind, self._code_encoding)
        if name == "rle":
            return rle.decode(view, count, kind)
        if name == "bitpack":
            return bitpack.decode(view, count, kind)
        if name == "for":
            return frame_of_reference.decode(view, count, kind)
        return delta.decode(view, count, kind)

    def _plain_fixed_values(self) -> np.ndarray:
        view = self._payload_view()
        expected = self.value_count * self._kind.itemsize
        if len(view) != expected:
            raise CorruptChunkError(
                f"plain {self.kind} payload has {len(view)} bytes, expected {expected} "
                f"for {self.value_count} values"
            )
        return np.frombuffer(view, dtype=self._kind.dtype)

    def _null_mask(self) -> np.ndarray:
        bits = np.unpackbits(np.frombuffer(self._bitmap, dtype=np.uint8), count=self.row_count, bitorder="little")
        return bits.view(bool)

    def _check_bitmap(self) -> None:
        if not self._bitmap:
            return
        found = int(np.count_nonzero(self._null_mask()))
        if found != self.header.null_count:
            raise CorruptChunkError(
                f"null bitmap marks {found} rows as NULL, but the header's null_count is {self.header.null_count}"
            )

    def _spread(self, dense: np.ndarray) -> np.ndarray:
        """Place the non-null values at their rows, filling NULL rows."""
        if len(dense) != self.value_count:
            raise CorruptChunkError(f"payload decoded to {len(dense)} values, expected {self.value_count}")
        if not self._bitmap:
            return dense
        if self._kind.is_variable:
            out = np.full(self.row_count, "" if self._kind.name == "text" else b"", dtype=object)
        else:
            out = np.zeros(self.row_count, dtype=self._kind.dtype)
        out[~self._null_mask()] = dense
        return out

    def _spread_codes(self, codes: np.ndarray) -> np.ndarray:
        if not self._bitmap:
            return codes
        out = np.zeros(self.row_count, dtype=codes.dtype)
        out[~self._null_mask()] = codes
        return out
