"""Row records: how one row of a table is laid out as bytes (NSM).

A record is a fixed part followed by the variable-length bytes::

    +-------------+--------------------------+------------------+-----------+
    | null bitmap | fixed-width column values | var end offsets  | var bytes |
    +-------------+--------------------------+------------------+-----------+
    |<------------------------ fixed part ----------------------->|

======================  =====================  ==============================
FIELD                   SIZE                   MEANING
======================  =====================  ==============================
null bitmap             ceil(columns / 8)      bit ``i % 8`` of byte ``i // 8``
                                               set: column ``i`` is NULL
fixed-width values      sum of the fixed       every fixed-width column, in
                        columns' widths        table order, in storage form
                                               (0 when NULL)
var end offsets         4 per text or blob     u32 end of each variable
                        column                 column's bytes, counted from
                                               the start of the var bytes
var bytes               sum of the values'     the text (UTF-8) and blob
                        lengths                values back to back
======================  =====================  ==============================

Every column's fixed-part offset is the same in every record of a table, so
a scan can gather one column from many records with one numpy fancy index
(:meth:`RecordCodec.decode_columns`) instead of decoding records one by one.
"""

from __future__ import annotations

import operator
import struct
from typing import Any, Sequence

import numpy as np

from .batch import ColumnData
from .errors import CorruptPageError
from .schema import Schema

__all__ = ["RecordCodec"]

_U32_MAX = 2**32 - 1


class RecordCodec:
    """Encodes and decodes the records of one schema.

    Values are in storage form (``types.py``): ints, floats, bools, ``str``
    for text, ``bytes`` for blobs, ``None`` for NULL.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        columns = schema.columns
        self.column_count = len(columns)
        self.bitmap_size = (len(columns) + 7) // 8
        self.fixed_indexes = [i for i, c in enumerate(columns) if c.type.is_fixed]
        self.var_indexes = [i for i, c in enumerate(columns) if not c.type.is_fixed]
        self.text_flags = [columns[i].type.base == "text" for i in self.var_indexes]
        codes = "".join(columns[i].type.struct_code for i in self.fixed_indexes)
        self.struct = struct.Struct(f"<{self.bitmap_size}s{codes}{'I' * len(self.var_indexes)}")
        self.fixed_size = self.struct.size

        # Offset of every column's fixed-part slot: the value for fixed
        # columns, the u32 end offset for variable ones.
        offsets = {}
        position = self.bitmap_size
        for index in self.fixed_indexes:
            offsets[index] = position
            position += columns[index].type.itemsize
        self.var_ends_offset = position
        for order, index in enumerate(self.var_indexes):
            offsets[index] = position + 4 * order
        self.field_offsets = [offsets[i] for i in range(len(columns))]
        # Position in the unpacked struct tuple of each column's value.
        self._tuple_position = {}
        for order, index in enumerate(self.fixed_indexes):
            self._tuple_position[index] = 1 + order
        self._var_start = 1 + len(self.fixed_indexes)
        self._zero_row = tuple(0 for _ in self.fixed_indexes)
        self._bool_indexes = [i for i, c in enumerate(columns) if c.type.base == "bool"]
        self._no_nulls = bytes(self.bitmap_size)
        # decode() appends the variable-length values to the unpacked struct
        # tuple; one itemgetter then puts every column in table order.
        sources = [0] * len(columns)
        for index, position in self._tuple_position.items():
            sources[index] = position
        after_struct = self._var_start + len(self.var_indexes)
        for order, index in enumerate(self.var_indexes):
            sources[index] = after_struct + order
        if len(sources) == 1:
            only = sources[0]
            self._assemble = lambda values: (values[only],)
        else:
            self._assemble = operator.itemgetter(*sources)

        key_indexes = schema.key_indexes
        self.key_indexes = key_indexes
        self.key_is_fixed = bool(key_indexes) and all(columns[i].type.is_fixed for i in key_indexes)
        if self.key_is_fixed:
            # One struct reading just the key columns, skipping the bytes between.
            parts = []
            cursor = 0
            for index in sorted(key_indexes, key=lambda i: self.field_offsets[i]):
                gap = self.field_offsets[index] - cursor
                parts.append(f"{gap}x" if gap else "")
                parts.append(columns[index].type.struct_code)
                cursor = self.field_offsets[index] + columns[index].type.itemsize
            self.key_struct = struct.Struct("<" + "".join(parts))
            order = sorted(range(len(key_indexes)), key=lambda k: self.field_offsets[key_indexes[k]])
            self._key_reorder = [order.index(k) for k in range(len(key_indexes))]
        else:
            self.key_struct = None
            self._key_reorder = []
        self._key_in_order = self._key_reorder == list(range(len(self._key_reorder)))
        #: ``key_reader(buffer, offset)`` returns what :meth:`key_of` returns.
        #: For a fixed-width key stored in key order it is the struct's own
        #: method, which saves a Python call per probe of a binary search.
        self.key_reader = self.key_struct.unpack_from if self.key_struct and self._key_in_order else self.key_of

    # -- one record ------------------------------------------------------

    def encode(self, row: Sequence[Any]) -> bytes:
        """Encode one row given in storage form, in table column order."""
        bitmap = bytearray(self.bitmap_size)
        for index, value in enumerate(row):
            if value is None:
                bitmap[index >> 3] |= 1 << (index & 7)
        fixed = [0 if row[i] is None else row[i] for i in self.fixed_indexes]
        pieces = []
        ends = []
        end = 0
        for index, is_text in zip(self.var_indexes, self.text_flags):
            value = row[index]
            if value is None:
                data = b""
            elif is_text:
                data = value.encode("utf-8")
            else:
                data = value
            end += len(data)
            ends.append(end)
            pieces.append(data)
        if end > _U32_MAX:
            raise ValueError(f"row of {end} bytes exceeds the 4 GiB record limit")
        return b"".join((self.struct.pack(bytes(bitmap), *fixed, *ends), *pieces))

    def decode(self, buffer: Any, offset: int = 0, length: int | None = None) -> tuple:
        """Decode the record at ``buffer[offset:offset + length]`` to a storage-form tuple.

        Raises:
            CorruptPageError: the record's length or variable-length offsets are invalid.
        """
        if length is None:
            length = len(buffer) - offset
        if length < self.fixed_size:
            raise CorruptPageError(f"record of {length} bytes is shorter than its {self.fixed_size}-byte fixed part")
        unpacked = self.struct.unpack_from(buffer, offset)
        if self.var_indexes:
            start = offset + self.fixed_size
            var_length = length - self.fixed_size
            values = list(unpacked)
            previous = 0
            for end, is_text in zip(unpacked[self._var_start :], self.text_flags):
                if end < previous or end > var_length:
                    raise CorruptPageError(
                        f"record's variable-length offsets are invalid (end {end}, previous {previous}, "
                        f"area {var_length} bytes)"
                    )
                piece = buffer[start + previous : start + end]
                if is_text:
                    try:
                        values.append(str(piece, "utf-8"))
                    except UnicodeDecodeError:
                        raise CorruptPageError("record contains invalid UTF-8 in a text column") from None
                else:
                    values.append(bytes(piece))
                previous = end
            row = self._assemble(values)
        else:
            row = self._assemble(unpacked)
        if unpacked[0] == self._no_nulls and not self._bool_indexes:
            return row
        bitmap = unpacked[0]
        row = list(row)
        for index in range(self.column_count):
            if bitmap[index >> 3] >> (index & 7) & 1:
                row[index] = None
        for index in self._bool_indexes:
            if row[index] is not None:
                row[index] = bool(row[index])
        return tuple(row)

    def key_of(self, buffer: Any, offset: int) -> tuple:
        """Return the primary key of the record at ``offset``, as a tuple in key order."""
        if self.key_struct is not None:
            raw = self.key_struct.unpack_from(buffer, offset)
            if self._key_in_order:
                return raw
            return tuple(raw[k] for k in self._key_reorder)
        row = self.decode(buffer, offset)
        return tuple(row[i] for i in self.key_indexes)

    # -- many records ----------------------------------------------------

    def encode_columns(self, columns: Sequence[ColumnData], count: int) -> tuple[np.ndarray, np.ndarray]:
        """Encode ``count`` rows given as storage-form columns, vectorised.

        Returns ``(data, offsets)``: record ``i`` is
        ``data[offsets[i]:offsets[i + 1]]``.
        """
        schema_columns = self.schema.columns
        fields = [("bitmap", f"V{self.bitmap_size}")] if self.bitmap_size else []
        for index in self.fixed_indexes:
            fields.append((f"c{index}", schema_columns[index].type.storage_dtype))
        for index in self.var_indexes:
            fields.append((f"e{index}", "<u4"))
        fixed = np.zeros(count, dtype=np.dtype(fields))

        # Null bitmap.
        if self.bitmap_size:
            bitmap = np.zeros((count, self.bitmap_size), dtype=np.uint8)
            for index, column in enumerate(columns):
                if column.nulls is not None and column.nulls.any():
                    bitmap[:, index >> 3] |= column.nulls.astype(np.uint8) << (index & 7)
            fixed["bitmap"] = bitmap.view(f"V{self.bitmap_size}").reshape(count)

        for index in self.fixed_indexes:
            column = columns[index]
            values = column.values
            if column.nulls is not None and column.nulls.any():
                values = np.where(column.nulls, 0, values)
            fixed[f"c{index}"] = values

        # Variable-length bytes, one list of bytes objects per column.
        var_values: list[list[bytes]] = []
        var_ends = np.zeros(count, dtype=np.int64)
        for index, is_text in zip(self.var_indexes, self.text_flags):
            column = columns[index]
            values = column.values.tolist()
            if column.nulls is not None and column.nulls.any():
                filler = "" if is_text else b""
                for row in np.flatnonzero(column.nulls).tolist():
                    values[row] = filler
            encoded = list(map(str.encode, values)) if is_text else [bytes(v) for v in values]
            var_ends += np.fromiter(map(len, encoded), dtype=np.int64, count=count)
            fixed[f"e{index}"] = var_ends
            var_values.append(encoded)
        if self.var_indexes and count and int(var_ends.max()) > _U32_MAX:
            raise ValueError("a row exceeds the 4 GiB record limit")

        fixed_bytes = fixed.tobytes()
        size = self.fixed_size
        offsets = np.zeros(count + 1, dtype=np.int64)
        if not self.var_indexes:
            offsets[1:] = np.arange(1, count + 1, dtype=np.int64) * size
            return np.frombuffer(fixed_bytes, dtype=np.uint8), offsets
        # One join per row: measured faster than scattering the parts with
        # numpy index arrays, which need 8 bytes of index per record byte.
        fixed_parts = [fixed_bytes[start : start + size] for start in range(0, count * size, size)]
        records = list(map(b"".join, zip(fixed_parts, *var_values)))
        np.cumsum(var_ends + size, out=offsets[1:])
        return np.frombuffer(b"".join(records), dtype=np.uint8), offsets

    def decode_columns(
        self,
        flat: np.ndarray,
        positions: np.ndarray,
        lengths: np.ndarray,
        wanted: Sequence[int],
    ) -> list[ColumnData]:
        """Decode columns ``wanted`` of many records at once.

        ``flat`` is a uint8 array (for example all buffer-pool frames
        flattened) and record ``i`` occupies
        ``flat[positions[i]:positions[i] + lengths[i]]``. No Python code runs
        per record except to build ``str``/``bytes`` objects for text and
        blob values.

        Raises:
            CorruptPageError: a record's variable-length offsets are invalid.
        """
        count = len(positions)
        out: list[ColumnData] = []
        bitmap = None
        if self.bitmap_size:
            bitmap = flat[(positions[:, None] + np.arange(self.bitmap_size)).reshape(-1)].reshape(count, self.bitmap_size)
        var_ends = None
        for index in wanted:
            column = self.schema.columns[index]
            nulls = None
            if bitmap is not None:
                bits = (bitmap[:, index >> 3] >> (index & 7)) & 1
                if bits.any():
                    nulls = bits.astype(bool)
            if column.type.is_fixed:
                width = column.type.itemsize
                start = self.field_offsets[index]
                raw = flat[(positions[:, None] + (start + np.arange(width))).reshape(-1)]
                values = raw.view(column.type.storage_dtype)
                out.append(ColumnData(values, nulls))
                continue
            if var_ends is None:
                var_ends = self._gather_var_ends(flat, positions, lengths)
            order = self.var_indexes.index(index)
            ends = var_ends[order]
            begins = var_ends[order - 1] if order else np.zeros(count, dtype=np.int64)
            item_lengths = ends - begins
            total = int(item_lengths.sum())
            if total:
                source = positions + self.fixed_size + begins
                cumulative = np.cumsum(item_lengths) - item_lengths
                blob = flat[np.arange(total) + np.repeat(source - cumulative, item_lengths)].tobytes()
            else:
                blob = b""
            bounds = np.zeros(count + 1, dtype=np.int64)
            np.cumsum(item_lengths, out=bounds[1:])
            values = _split_blob(blob, bounds, column.type.base == "text")
            out.append(ColumnData(values, nulls))
        return out

    def _gather_var_ends(self, flat: np.ndarray, positions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        count = len(positions)
        width = 4 * len(self.var_indexes)
        raw = flat[(positions[:, None] + (self.var_ends_offset + np.arange(width))).reshape(-1)]
        ends = raw.view("<u4").reshape(count, len(self.var_indexes)).T.astype(np.int64)
        var_area = lengths - self.fixed_size
        if count and (
            np.any(np.diff(ends, axis=0) < 0) or np.any(ends[-1] > var_area) or np.any(ends[0] < 0)
        ):
            raise CorruptPageError("a record's variable-length offsets are invalid")
        return ends


def _split_blob(blob: bytes, bounds: np.ndarray, is_text: bool) -> np.ndarray:
    """Cut ``blob`` at ``bounds`` into an object array of str (UTF-8) or bytes."""
    count = len(bounds) - 1
    values = np.empty(count, dtype=object)
    edges = bounds.tolist()
    if not is_text:
        values[:] = [blob[a:b] for a, b in zip(edges, edges[1:])] if count else []
        return values
    if blob.isascii():
        # One decode for the whole column; byte offsets equal character
        # offsets in ASCII, so the str can be sliced directly.
        text = blob.decode("ascii")
        values[:] = [text[a:b] for a, b in zip(edges, edges[1:])] if count else []
        return values
    try:
        values[:] = [blob[a:b].decode("utf-8") for a, b in zip(edges, edges[1:])] if count else []
    except UnicodeDecodeError:
        raise CorruptPageError("a record contains invalid UTF-8 in a text column") from None
    return values
