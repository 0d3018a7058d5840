"""Plain encoding: every value written out in full.

Fixed-width kinds store ``count x itemsize`` bytes, each value little-endian.
Text and blob store an end-offset array and then the bytes of every value
back to back (UTF-8 for text):

=============  =============  ===========  ====================================
OFFSET         SIZE           FIELD        MEANING
=============  =============  ===========  ====================================
0              4 x count      end_offsets  u32 per value: where its bytes end in
                                           ``data``; value i is
                                           ``data[end[i-1]:end[i]]``, ``end[-1]``
                                           being 0. Non-decreasing.
4 x count      end[count-1]   data         the values' bytes
=============  =============  ===========  ====================================

The payload ends exactly where ``data`` does. u32 offsets limit one chunk's
text to 4 GiB, far above the chunk payload limit.

Text decodes without a Python call per byte: the data area is decoded once
(as ASCII when every byte is below 0x80, else as UTF-8) and sliced. For
UTF-8, byte offsets are turned into character offsets by counting the bytes
that start a character (every byte but the continuation bytes 0b10xxxxxx).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import CorruptChunkError, InvalidInputError
from .kinds import Kind
from .reader import PayloadReader

__all__ = [
    "OFFSET_DTYPE",
    "VariableValues",
    "split_variable",
    "write_variable",
    "encode",
    "decode",
    "encoded_size",
    "object_array",
]

#: End offsets of text and blob values: u32, so at most 4 GiB of data.
OFFSET_DTYPE = np.dtype("<u4")
_MAX_DATA_BYTES = 2**32 - 1
_SEPARATOR = "\x00"


class VariableValues(NamedTuple):
    """Text or blob values as one byte string and their end offsets."""

    ends: np.ndarray  # int64 end offset of each value in ``data``
    data: bytes

    @property
    def plain_size(self) -> int:
        return OFFSET_DTYPE.itemsize * len(self.ends) + len(self.data)


def split_variable(values: np.ndarray, kind: Kind) -> VariableValues:
    """Concatenate text or blob values and compute their end offsets.

    Raises:
        InvalidInputError: a text value is not a ``str`` (or cannot be encoded
            as UTF-8), or a blob value is not bytes-like.
    """
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if kind.name == "text":
        encoded = _encode_text(items)
    else:
        encoded = _join_blobs(items)
    if len(encoded.data) > _MAX_DATA_BYTES:
        raise InvalidInputError(
            f"{kind.name} values total {len(encoded.data)} bytes, above the "
            f"{_MAX_DATA_BYTES} bytes one chunk can address; use fewer rows per chunk"
        )
    return encoded


def _encode_text(items: list) -> VariableValues:
    """Encode text values with one pass over the Python objects when possible.

    The values are joined with NUL separators and encoded once. When no value
    contains a NUL, the separators' byte positions give every end offset,
    because UTF-8 encodes nothing else as a zero byte. Otherwise each value
    is encoded on its own.
    """
    try:
        joined = _SEPARATOR.join(items)
    except TypeError:
        raise _wrong_type(items, str, "text") from None
    try:
        raw = joined.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(f"text value cannot be encoded as UTF-8: {exc}") from None
    count = len(items)
    if count and joined.count(_SEPARATOR) == count - 1:
        stream = np.frombuffer(raw, dtype=np.uint8)
        is_separator = stream == 0
        ends = np.empty(count, dtype=np.int64)
        # Separator k sits after value k; removing the k separators before it
        # turns its position into the value's end offset.
        ends[:-1] = np.flatnonzero(is_separator) - np.arange(count - 1)
        ends[-1] = len(raw) - (count - 1)
        return VariableValues(ends, stream[~is_separator].tobytes())
    pieces = [item.encode("utf-8") for item in items]
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=count)
    return VariableValues(np.cumsum(lengths), b"".join(pieces))


def _join_blobs(items: list) -> VariableValues:
    try:
        data = b"".join(items)
    except TypeError:
        raise _wrong_type(items, (bytes, bytearray, memoryview), "blob") from None
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    if int(lengths.sum()) != len(data):
        # A memoryview of wider items has len() in items, not bytes.
        items = [bytes(item) for item in items]
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
    return VariableValues(np.cumsum(lengths), data)


def _wrong_type(items: list, expected: type | tuple[type, ...], kind_name: str) -> InvalidInputError:
    wanted = "str" if expected is str else "bytes"
    for position, item in enumerate(items):
        if not isinstance(item, expected):
            return InvalidInputError(
                f"{kind_name} value at position {position} is {type(item).__name__} "
                f"{item!r:.60}, expected {wanted}"
            )
    return InvalidInputError(f"{kind_name} values must all be {wanted}")


def write_variable(encoded: VariableValues) -> bytes:
    """Return the plain payload of already split text or blob values."""
    return encoded.ends.astype(OFFSET_DTYPE).tobytes() + encoded.data


def encoded_size(count: int, kind: Kind) -> int:
    """Return the plain payload size of ``count`` fixed-width values."""
    return count * kind.itemsize


def encode(values: np.ndarray, kind: Kind) -> bytes:
    """Return the plain payload of ``values``."""
    if kind.is_variable:
        return write_variable(split_variable(values, kind))
    return np.ascontiguousarray(values, dtype=kind.dtype).tobytes()


def decode(view: memoryview, count: int, kind: Kind) -> np.ndarray:
    """Decode a plain payload of ``count`` values into a new array.

    Raises:
        CorruptChunkError: the payload size does not match ``count``, an end
            offset decreases or points past the data, or text is not UTF-8.
    """
    if not kind.is_variable:
        expected = count * kind.itemsize
        if len(view) != expected:
            raise CorruptChunkError(
                f"plain {kind.name} payload has {len(view)} bytes, expected "
                f"{expected} for {count} values"
            )
        return np.frombuffer(view, dtype=kind.dtype).copy()

    reader = PayloadReader(view, f"plain {kind.name} payload")
    ends = np.frombuffer(reader.take(OFFSET_DTYPE.itemsize * count, "end offsets"), dtype=OFFSET_DTYPE)
    ends = ends.astype(np.int64)
    data = bytes(reader.take_rest())
    starts = _check_offsets(ends, len(data), kind)
    if kind.name == "text":
        items = _slice_text(data, starts, ends)
    else:
        items = [data[start:end] for start, end in zip(starts.tolist(), ends.tolist())]
    return object_array(items)


def variable_bounds(view: memoryview, count: int, kind: Kind) -> tuple[np.ndarray, bytes]:
    """Return the checked ``(bounds, data)`` of a plain payload of ``count`` variable-width values.

    Value ``i`` is ``data[bounds[i]:bounds[i + 1]]``, still encoded: a
    reader of single values slices it without decoding the others. Text is
    not checked for valid UTF-8 here.

    Raises:
        CorruptChunkError: the offsets are inconsistent.
    """
    reader = PayloadReader(view, f"plain {kind.name} payload")
    ends = np.frombuffer(reader.take(OFFSET_DTYPE.itemsize * count, "end offsets"), dtype=OFFSET_DTYPE)
    ends = ends.astype(np.int64)
    data = bytes(reader.take_rest())
    _check_offsets(ends, len(data), kind)
    bounds = np.zeros(count + 1, dtype=np.int64)
    bounds[1:] = ends
    return bounds, data


def take_variable(view: memoryview, count: int, kind: Kind, indexes: np.ndarray) -> np.ndarray:
    """Decode only the variable-width values at ``indexes`` of a plain payload of ``count`` values.

    The offsets are checked as :func:`decode` checks them, and each selected
    text value must be valid UTF-8 on its own.

    Raises:
        CorruptChunkError: the offsets are inconsistent or a selected text
            value is not valid UTF-8.
    """
    reader = PayloadReader(view, f"plain {kind.name} payload")
    ends = np.frombuffer(reader.take(OFFSET_DTYPE.itemsize * count, "end offsets"), dtype=OFFSET_DTYPE)
    ends = ends.astype(np.int64)
    data = reader.take_rest()
    starts = _check_offsets(ends, len(data), kind)
    picked = np.asarray(indexes, dtype=np.int64)
    pairs = zip(starts[picked].tolist(), ends[picked].tolist())
    if kind.name != "text":
        return object_array([bytes(data[start:end]) for start, end in pairs])
    items = []
    for index, (start, end) in zip(picked.tolist(), pairs):
        try:
            items.append(str(data[start:end], "utf-8"))
        except UnicodeDecodeError as exc:
            raise CorruptChunkError(
                f"plain text payload: value {index} is not valid UTF-8 (byte {start + exc.start} of the data)"
            ) from None
    return object_array(items)


def object_array(items: list) -> np.ndarray:
    """Return a 1-D object array holding ``items`` (str or bytes) as elements."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _check_offsets(ends: np.ndarray, data_size: int, kind: Kind) -> np.ndarray:
    """Validate end offsets and return the matching start offsets."""
    count = len(ends)
    last = int(ends[-1]) if count else 0
    if last != data_size:
        raise CorruptChunkError(
            f"plain {kind.name} payload: last end offset is {last}, but the data area has {data_size} bytes"
        )
    starts = np.zeros(count, dtype=np.int64)
    starts[1:] = ends[:-1]
    decreasing = np.flatnonzero(ends < starts)
    if len(decreasing):
        position = int(decreasing[0])
        raise CorruptChunkError(
            f"plain {kind.name} payload: end offset {int(ends[position])} of value {position} "
            f"is before its start {int(starts[position])}"
        )
    return starts


def _slice_text(data: bytes, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    if data.isascii():
        text = data.decode("ascii")
        return [text[start:end] for start, end in zip(starts.tolist(), ends.tolist())]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptChunkError(f"plain text payload: invalid UTF-8 at data byte {exc.start}") from None

    # In valid UTF-8 every byte except a continuation byte starts a character,
    # so char_at[b] (characters before byte b) maps byte offsets to str offsets.
    raw = np.frombuffer(data, dtype=np.uint8)
    starts_char = (raw & 0xC0) != 0x80
    char_at = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum(starts_char, out=char_at[1:])
    inside = starts < len(raw)
    split = np.flatnonzero(~starts_char[starts[inside]])
    if len(split):
        position = int(np.flatnonzero(inside)[split[0]])
        raise CorruptChunkError(
            f"plain text payload: value {position} starts at data byte {int(starts[position])}, "
            "inside a UTF-8 character"
        )
    char_starts = char_at[starts].tolist()
    char_ends = char_at[ends].tolist()
    return [text[start:end] for start, end in zip(char_starts, char_ends)]
