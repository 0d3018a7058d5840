"""Bit-packing at every width, checked against np.packbits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storagedb.errors import CorruptChunkError
from storagedb.encoding import bitpack


def _reference_pack(values: np.ndarray, width: int) -> bytes:
    if width == 0 or len(values) == 0:
        return b""
    as_bytes = values.astype("<u8").view(np.uint8).reshape(-1, 8)
    bits = np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :width]
    return np.packbits(bits.reshape(-1), bitorder="little").tobytes()


@pytest.mark.parametrize("width", range(65))
def test_pack_matches_packbits_at_every_width(width):
    rng = np.random.default_rng(width)
    for count in (0, 1, 7, 8, 9, 63, 64, 65, 1000):
        high = (1 << width) - 1
        values = rng.integers(0, high, size=count, dtype=np.uint64, endpoint=True)
        if count >= 2:
            values[0] = high
            values[-1] = 0

        packed = bitpack.pack_uints(values, width)

        assert packed == _reference_pack(values, width)
        assert len(packed) == bitpack.packed_size(count, width)
        assert np.array_equal(bitpack.unpack_uints(memoryview(packed), count, width), values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50))
def test_zigzag_round_trips(numbers):
    values = np.array(numbers, dtype=np.int64)
    encoded = bitpack.zigzag_encode(values)
    assert np.array_equal(bitpack.zigzag_decode(encoded), values)


def test_zigzag_maps_small_magnitudes_to_small_numbers():
    values = np.array([0, -1, 1, -2, 2], dtype=np.int64)
    assert bitpack.zigzag_encode(values).tolist() == [0, 1, 2, 3, 4]


def test_first_value_takes_lowest_bits():
    assert bitpack.pack_uints(np.array([1, 0, 3], dtype=np.uint64), 2) == bytes([0b110001])


def test_unpack_rejects_wrong_length():
    with pytest.raises(CorruptChunkError, match="expected 2"):
        bitpack.unpack_uints(b"\x00\x00\x00", 5, 3)


def test_unpack_rejects_width_above_64():
    with pytest.raises(CorruptChunkError, match="bit width 65"):
        bitpack.unpack_uints(b"", 0, 65)
