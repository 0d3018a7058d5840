"""Order-preserving dictionary encoding: sorted distinct values plus codes.

The dictionary contains each distinct non-null value once, sorted ascending,
and every value is replaced by its *code*, the position of the value in the
dictionary. Because the order is kept, ``code(a) < code(b)`` exactly when
``a < b``, so equality, ranges and IN lists can be evaluated on the codes
after one ``np.searchsorted`` of the bounds into the dictionary.

Order of the entries:

* integers: numeric order;
* floats: ``-inf < ... < -0.0 < +0.0 < ... < +inf < NaN``. -0.0 and +0.0
  are distinct entries (``np.unique`` would merge them, so entries are found
  by bit pattern), and NaNs with different bit patterns are distinct entries
  after every number. This matches ``np.sort``, except that ``np.sort``
  leaves -0.0 and +0.0 in input order;
* text: code point order, which is also the byte order of UTF-8 and the
  order of Python ``str`` comparison;
* blob: byte order.

The codes are then bit-packed (``dictionary+bitpack``) or run-length encoded
(``dictionary+rle``), whichever is smaller; the chunk header records which.

Payload
-------

=================  ============  ============  ================================
OFFSET             SIZE          FIELD         MEANING
=================  ============  ============  ================================
0                  4             entry_count   u32 d, the number of entries;
                                               at most the number of values
4                  4             entries_size  u32 bytes of ``entries``
8                  entries_size  entries       plain payload of the d entries,
                                               strictly ascending
8 + entries_size   rest          codes         a packed block of n codes
                                               (bitpack), or a run-length
                                               payload whose run values are a
                                               packed block of codes (rle);
                                               every code is below d
=================  ============  ============  ================================
"""

from __future__ import annotations

import struct
from functools import cached_property

import numpy as np

from ..errors import CorruptChunkError, InvalidInputError
from . import bitpack, plain, rle
from .kinds import Kind, float_bit_patterns
from .reader import PayloadReader

__all__ = [
    "HEADER",
    "Dictionary",
    "build",
    "build_integer",
    "has_small_range",
    "presence_bitmap",
    "build_sorted",
    "float_order_keys",
    "codes_size",
    "encode",
    "decode_parts",
    "decode_runs",
    "decode",
]

# Dictionary header: entry_count (4) + entries_size (4) = 8 bytes.
HEADER = struct.Struct("<II")

# An integer range up to this many times the value count (or 4,096) is
# counted with a presence bitmap: one pass over the values instead of a sort.
BITMAP_RANGE_FACTOR = 4
BITMAP_MIN_RANGE = 4096


class Dictionary:
    """Sorted distinct values (``entries``) and one int64 code per value."""

    def __init__(self, entries: np.ndarray, codes: np.ndarray, kind: Kind) -> None:
        self.entries = entries
        self.codes = codes
        self.kind = kind

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def code_width(self) -> int:
        """Bits per bit-packed code."""
        return bitpack.bit_width(max(len(self.entries) - 1, 0))

    @cached_property
    def entries_payload(self) -> bytes:
        """The entries in plain encoding."""
        return plain.encode(self.entries, self.kind)


def build(values: np.ndarray, kind: Kind) -> Dictionary:
    """Build the order-preserving dictionary of non-null ``values``.

    Raises:
        InvalidInputError: a text or blob value is of the wrong type.
    """
    if kind.is_integer:
        int_values = values.astype(np.int64)
        if len(int_values) == 0:
            return build_integer(int_values, 0, 0, kind)
        return build_integer(int_values, int(int_values.min()), int(int_values.max()), kind)
    if kind.is_float:
        return _build_float(values, kind)
    return _build_variable(values, kind)


def has_small_range(min_value: int, max_value: int, count: int) -> bool:
    """Return whether integers in this range are counted with a presence bitmap."""
    return max_value - min_value < max(BITMAP_RANGE_FACTOR * count, BITMAP_MIN_RANGE)


def presence_bitmap(values: np.ndarray, min_value: int, max_value: int) -> np.ndarray:
    """Return a bool array, True at ``v - min_value`` for every value ``v``.

    Only for a small range (:func:`has_small_range`): the array has one entry
    per integer in the range.
    """
    present = np.zeros(max_value - min_value + 1, dtype=bool)
    present[values - min_value] = True
    return present


def build_integer(
    values: np.ndarray, min_value: int, max_value: int, kind: Kind, present: np.ndarray | None = None
) -> Dictionary:
    """Build the dictionary of int64 ``values`` with known bounds.

    ``present`` is the :func:`presence_bitmap` of the values when the caller
    already has it.
    """
    if has_small_range(min_value, max_value, len(values)):
        if present is None:
            present = presence_bitmap(values, min_value, max_value)
        rank = np.cumsum(present, dtype=np.int64) - 1
        entries = (np.flatnonzero(present) + min_value).astype(kind.dtype)
        return Dictionary(entries, rank[values - min_value], kind)
    entries, codes = np.unique(values, return_inverse=True)
    return Dictionary(entries.astype(kind.dtype), codes.astype(np.int64), kind)


def build_sorted(values: np.ndarray, runs: rle.Runs, kind: Kind) -> Dictionary:
    """Build the dictionary of ascending ``values`` from their maximal runs.

    Each run of a sorted array is one distinct value, so no sort is needed.
    """
    entries = np.ascontiguousarray(values[runs.starts], dtype=kind.dtype)
    codes = np.repeat(np.arange(len(runs.starts), dtype=np.int64), runs.lengths)
    return Dictionary(entries, codes, kind)


def float_order_keys(values: np.ndarray, kind: Kind) -> np.ndarray:
    """Map floats to unsigned keys whose order is IEEE 754 total order.

    -0.0 maps below +0.0. Negative NaNs map below -inf, so callers that want
    every NaN last move them (see :func:`_build_float`).
    """
    bits = float_bit_patterns(values, kind)
    sign = kind.bit_dtype.type(1 << (kind.dtype.itemsize * 8 - 1))
    negative = (bits & sign) != 0
    return np.where(negative, ~bits, bits | sign)


def _keys_to_floats(keys: np.ndarray, kind: Kind) -> np.ndarray:
    sign = kind.bit_dtype.type(1 << (kind.dtype.itemsize * 8 - 1))
    bits = np.where((keys & sign) != 0, keys ^ sign, ~keys).astype(kind.bit_dtype)
    return bits.view(kind.dtype)


def _build_float(values: np.ndarray, kind: Kind) -> Dictionary:
    keys, codes = np.unique(float_order_keys(values, kind), return_inverse=True)
    entries = _keys_to_floats(keys, kind)
    nan = np.isnan(entries)
    if nan.any():
        # Total order put negative NaNs first; move every NaN after +inf.
        order = np.concatenate([np.flatnonzero(~nan), np.flatnonzero(nan)])
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        entries = entries[order]
        codes = rank[codes]
    return Dictionary(entries, codes.astype(np.int64), kind)


def _build_variable(values: np.ndarray, kind: Kind) -> Dictionary:
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    try:
        # dict.fromkeys, and map over a bound method below, run their loops in
        # C with no Python frame per value.
        entries = sorted(dict.fromkeys(items))
    except TypeError:
        expected = "str" if kind.name == "text" else "bytes"
        found = sorted({type(item).__name__ for item in items})
        raise InvalidInputError(
            f"{kind.name} values for a dictionary must all be {expected}; found {found}"
        ) from None
    code_of = dict(zip(entries, range(len(entries))))
    codes = np.fromiter(map(code_of.__getitem__, items), dtype=np.int64, count=len(items))
    return Dictionary(plain.object_array(entries), codes, kind)


def codes_size(entry_count: int, count: int, runs: rle.Runs) -> dict[str, int]:
    """Return the size of the codes section for each code encoding."""
    width = bitpack.bit_width(max(entry_count - 1, 0))
    return {
        "bitpack": bitpack.block_size(count, width),
        "rle": rle.encoded_size(runs, bitpack.block_size(runs.stored_count, width)),
    }


def encode(dictionary: Dictionary, code_encoding: str, runs: rle.Runs | None = None) -> bytes:
    """Return the payload of ``dictionary`` with its codes in ``code_encoding``.

    ``runs`` are the maximal runs of the codes (equal to those of the
    values); they are found again when not given.
    """
    entries_payload = dictionary.entries_payload
    header = HEADER.pack(len(dictionary), len(entries_payload))
    if code_encoding == "bitpack":
        codes = bitpack.write_block(dictionary.codes.astype(np.uint64), dictionary.code_width)
    else:
        if runs is None:
            runs = rle.find_runs(dictionary.codes)
        codes = rle.encode_codes(dictionary.codes, runs)
    return b"".join((header, entries_payload, codes))


def _read_entries(reader: PayloadReader, count: int, kind: Kind) -> np.ndarray:
    entry_count, entries_size = reader.unpack(HEADER, "dictionary header")
    if entry_count > count or (count > 0 and entry_count == 0):
        raise CorruptChunkError(f"dictionary declares {entry_count} entries for {count} values")
    entries = plain.decode(reader.take(entries_size, "dictionary entries"), entry_count, kind)
    _check_ascending(entries, kind)
    return entries


def _check_codes(codes: np.ndarray, entry_count: int) -> None:
    if len(codes) and int(codes.max()) >= entry_count:
        raise CorruptChunkError(
            f"dictionary code {int(codes.max())} is out of range for {entry_count} entries"
        )


def decode_runs(view: memoryview, count: int, kind: Kind) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode a ``dictionary+rle`` payload as (entries, int64 run codes, int64 run lengths).

    Raises:
        CorruptChunkError: as :func:`decode_parts`.
    """
    reader = PayloadReader(view, "dictionary payload")
    entries = _read_entries(reader, count, kind)
    run_codes, lengths = rle.decode_code_runs(reader.take_rest(), count, len(entries))
    _check_codes(run_codes, len(entries))
    return entries, run_codes.astype(np.int64), lengths


def decode_parts(view: memoryview, count: int, kind: Kind, code_encoding: str) -> Dictionary:
    """Decode the entries and the codes (one per value) of a dictionary payload.

    Raises:
        CorruptChunkError: a count or size does not fit the payload, the
            entries are not strictly ascending, or a code is not below the
            entry count.
    """
    if code_encoding == "rle":
        entries, run_codes, lengths = decode_runs(view, count, kind)
        return Dictionary(entries, np.repeat(run_codes, lengths), kind)

    reader = PayloadReader(view, "dictionary payload")
    entries = _read_entries(reader, count, kind)
    max_width = bitpack.bit_width(max(len(entries) - 1, 0))
    codes = bitpack.read_block(reader, count, "dictionary codes", max_width=max_width)
    reader.expect_end()
    _check_codes(codes, len(entries))
    return Dictionary(entries, codes.astype(np.int64), kind)


def take_parts(view: memoryview, count: int, kind: Kind, indexes: np.ndarray) -> Dictionary:
    """Decode the entries and the codes at ``indexes`` of a dictionary payload with bit-packed codes.

    Raises:
        CorruptChunkError: as :func:`decode_parts`, for the codes it reads.
    """
    reader = PayloadReader(view, "dictionary payload")
    entries = _read_entries(reader, count, kind)
    max_width = bitpack.bit_width(max(len(entries) - 1, 0))
    codes = bitpack.take_block(reader, count, indexes, "dictionary codes", max_width=max_width)
    reader.expect_end()
    _check_codes(codes, len(entries))
    return Dictionary(entries, codes.astype(np.int64), kind)


def decode(view: memoryview, count: int, kind: Kind, code_encoding: str) -> np.ndarray:
    """Decode a dictionary payload of ``count`` values."""
    dictionary = decode_parts(view, count, kind, code_encoding)
    return dictionary.entries[dictionary.codes]


def _check_ascending(entries: np.ndarray, kind: Kind) -> None:
    if len(entries) < 2:
        return
    if kind.is_integer:
        ascending = bool(np.all(entries[1:] > entries[:-1]))
    elif kind.is_float:
        nan = np.isnan(entries)
        keys = float_order_keys(entries, kind)
        numbers_first = not np.any(nan[:-1] & ~nan[1:])
        ascending = numbers_first and bool(np.all((keys[1:] > keys[:-1]) | (nan[1:] & ~nan[:-1])))
    else:
        items = entries.tolist()
        ascending = all(left < right for left, right in zip(items, items[1:]))
    if not ascending:
        raise CorruptChunkError(f"dictionary entries of kind {kind.name} are not strictly ascending")
