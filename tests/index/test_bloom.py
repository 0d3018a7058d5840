"""Tests of storagedb.index.bloom: no false negatives, a false-positive rate
close to theory, and a serialized form that rejects every damaged byte."""

from __future__ import annotations

import math
import re
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import columns_of, key_tables

import storagedb.index.bloom as bloom_module
from storagedb.errors import CorruptionError, InvalidInputError, UnsupportedError
from storagedb.index.bloom import HEADER, HEADER_SIZE, BloomFilter, BloomHeader, parse_header
from storagedb.index.keyhash import hash_key, hash_key_columns

# Offsets of the header fields, as the module docstring's table gives them.
FORMAT_VERSION_OFFSET = 4
KEYHASH_VERSION_OFFSET = 5
NUM_HASHES_OFFSET = 6
BITS_PER_KEY_OFFSET = 7
NUM_BITS_OFFSET = 8
NUM_KEYS_OFFSET = 12
CHECKSUM_OFFSET = 16


def int64_hashes(keys: np.ndarray) -> np.ndarray:
    return hash_key_columns([keys.astype(np.int64)], ["int64"])


def serialized_filter(num_keys: int = 1000, bits_per_key: int = 10) -> bytearray:
    return bytearray(BloomFilter.build(int64_hashes(np.arange(num_keys)), bits_per_key).to_bytes())


def theoretical_rate(bloom: BloomFilter) -> float:
    k, n, m = bloom.num_hashes, bloom.num_keys, bloom.num_bits
    return (1 - math.exp(-k * n / m)) ** k


# -- the header table ----------------------------------------------------------


def documented_header_rows() -> list[tuple[int, int, str]]:
    """Return (offset, size, field) of each header row of the docstring table."""
    rows = []
    for line in bloom_module.__doc__.splitlines():
        match = re.match(r"^\s+(\d+)\s+(\d+)\s+([a-z_]+)\s", line)
        if match:
            rows.append((int(match.group(1)), int(match.group(2)), match.group(3)))
    return rows


def test_header_struct_size_matches_documented_table():
    rows = documented_header_rows()
    documented_size = sum(size for _, size, _ in rows)

    assert HEADER.size == HEADER_SIZE
    assert documented_size == HEADER_SIZE
    assert f"= {HEADER_SIZE} bytes" in bloom_module.__doc__


def test_header_table_offsets_are_contiguous():
    offset = 0
    for documented_offset, size, field in documented_header_rows():
        assert documented_offset == offset, field
        offset += size
    assert offset == HEADER_SIZE


def test_header_table_fields_match_named_tuple():
    fields = [field for _, _, field in documented_header_rows()]

    assert fields == list(BloomHeader._fields)


def test_header_constant_offsets_match_table():
    offsets = {field: offset for offset, _, field in documented_header_rows()}

    assert offsets["format_version"] == FORMAT_VERSION_OFFSET
    assert offsets["keyhash_version"] == KEYHASH_VERSION_OFFSET
    assert offsets["num_hashes"] == NUM_HASHES_OFFSET
    assert offsets["bits_per_key"] == BITS_PER_KEY_OFFSET
    assert offsets["num_bits"] == NUM_BITS_OFFSET
    assert offsets["num_keys"] == NUM_KEYS_OFFSET
    assert offsets["checksum"] == CHECKSUM_OFFSET


# -- no false negatives ----------------------------------------------------------


@settings(deadline=None, max_examples=150)
@given(table=key_tables(min_rows=1, max_rows=40), bits_per_key=st.integers(1, 24))
def test_every_added_key_is_found(table, bits_per_key):
    kinds, rows = table
    bloom = BloomFilter.build(hash_key_columns(columns_of(kinds, rows), kinds), bits_per_key)
    reread = BloomFilter.from_bytes(bloom.to_bytes())

    for row in rows:
        key_hash = hash_key(row, kinds)
        assert bloom.may_contain(key_hash), row
        assert reread.may_contain(key_hash), row


@settings(deadline=None, max_examples=100)
@given(hashes=st.lists(st.integers(0, 2**64 - 1), max_size=200), bits_per_key=st.integers(1, 255))
def test_every_added_hash_is_found_by_both_paths(hashes, bits_per_key):
    array = np.array(hashes, dtype=np.uint64)
    bloom = BloomFilter.build(array, bits_per_key)

    assert bloom.may_contain_many(array).all()
    assert all(bloom.may_contain(key_hash) for key_hash in hashes)


def test_signed_zero_keys_found_either_way():
    column = np.array([-0.0, 1.5], dtype=np.float64)
    bloom = BloomFilter.build(hash_key_columns([column], ["float64"]))

    assert bloom.may_contain(hash_key((0.0,), ["float64"]))
    assert bloom.may_contain(hash_key((-0.0,), ["float64"]))


def test_long_text_and_nul_blob_keys_found():
    texts = ["", "x" * 5000, "日本語" * 2000]
    blobs = [b"", b"\x00", b"\x00" * 3000]
    kinds = ["text", "blob"]
    bloom = BloomFilter.build(hash_key_columns(columns_of(kinds, list(zip(texts, blobs))), kinds))

    for row in zip(texts, blobs):
        assert bloom.may_contain(hash_key(row, kinds)), row


def test_large_filter_has_no_false_negative():
    keys = np.random.default_rng(7).integers(-(2**63), 2**63 - 1, size=300_000, dtype=np.int64)
    hashes = int64_hashes(keys)
    bloom = BloomFilter.build(hashes)

    assert bloom.may_contain_many(hashes).all()
    assert all(bloom.may_contain(key_hash) for key_hash in hashes[::101].tolist())


# -- false-positive rate ---------------------------------------------------------


def assert_rate_near_theory(bloom: BloomFilter, absent_hashes: np.ndarray) -> None:
    measured = float(bloom.may_contain_many(absent_hashes).mean())
    expected = bloom.expected_false_positive_rate()

    assert expected == pytest.approx(theoretical_rate(bloom))
    assert measured <= 1.5 * expected, f"measured {measured:.5f}, theory {expected:.5f}"
    assert measured >= expected / 1.5, f"measured {measured:.5f}, theory {expected:.5f}"


@pytest.mark.parametrize("bits_per_key", [6, 10, 16])
def test_false_positive_rate_random_keys(bits_per_key):
    rng = np.random.default_rng(1234)
    keys = rng.choice(2**40, size=300_000, replace=False)
    present, absent = keys[:200_000], keys[200_000:]
    bloom = BloomFilter.build(int64_hashes(present), bits_per_key)

    assert_rate_near_theory(bloom, int64_hashes(absent))


@pytest.mark.parametrize("bits_per_key", [6, 10, 16])
def test_false_positive_rate_sequential_keys(bits_per_key):
    bloom = BloomFilter.build(int64_hashes(np.arange(200_000)), bits_per_key)

    assert_rate_near_theory(bloom, int64_hashes(np.arange(10**9, 10**9 + 100_000)))


def test_false_positive_rate_composite_keys():
    orders = np.repeat(np.arange(50_000), 4)
    lines = np.tile(np.arange(4), 50_000)
    bloom = BloomFilter.build(hash_key_columns([orders, lines], ["int64", "int64"]))
    absent_orders = np.repeat(np.arange(50_000), 2)
    absent_lines = np.tile(np.arange(4, 6), 50_000)

    assert_rate_near_theory(bloom, hash_key_columns([absent_orders, absent_lines], ["int64", "int64"]))


def test_false_positive_rate_text_keys():
    present = np.array([f"customer#{i:09d}" for i in range(100_000)], dtype=object)
    absent = np.array([f"customer#{i:09d}" for i in range(100_000, 200_000)], dtype=object)
    bloom = BloomFilter.build(hash_key_columns([present], ["text"]))

    assert_rate_near_theory(bloom, hash_key_columns([absent], ["text"]))


def test_python_probe_rate_matches_numpy_probe():
    bloom = BloomFilter.build(int64_hashes(np.arange(100_000)))
    absent = int64_hashes(np.arange(-100_000, 0))
    python_hits = [bloom.may_contain(key_hash) for key_hash in absent.tolist()]

    assert python_hits == bloom.may_contain_many(absent).tolist()


@given(hashes=st.lists(st.integers(0, 2**64 - 1), max_size=300))
def test_probe_paths_agree_on_any_hash(hashes):
    bloom = BloomFilter.build(int64_hashes(np.arange(500)), bits_per_key=4)
    expected = [bloom.may_contain(key_hash) for key_hash in hashes]

    assert bloom.may_contain_many(np.array(hashes, dtype=np.uint64)).tolist() == expected


# -- sizes and attributes --------------------------------------------------------


@pytest.mark.parametrize(
    "bits_per_key, num_hashes",
    [(1, 1), (2, 1), (6, 4), (10, 7), (16, 11), (43, 30), (100, 30), (255, 30)],
)
def test_num_hashes_follows_bits_per_key(bits_per_key, num_hashes):
    bloom = BloomFilter.build(int64_hashes(np.arange(10)), bits_per_key)

    assert bloom.num_hashes == num_hashes


def test_attributes_for_info_report():
    bloom = BloomFilter.build(int64_hashes(np.arange(1001)), bits_per_key=10)

    assert bloom.num_keys == 1001
    assert bloom.bits_per_key == 10
    assert bloom.num_hashes == 7
    assert bloom.num_bits == 10016  # 10010 rounded up to a multiple of 8
    assert bloom.size_bytes == HEADER_SIZE + 10016 // 8
    assert bloom.size_bytes == len(bloom.to_bytes())
    assert "num_keys=1001" in repr(bloom)


def test_small_filter_has_minimum_64_bits():
    bloom = BloomFilter.build(int64_hashes(np.arange(3)), bits_per_key=10)

    assert bloom.num_bits == 64


def test_empty_filter_contains_nothing():
    bloom = BloomFilter.build(np.zeros(0, dtype=np.uint64))
    probes = int64_hashes(np.arange(1000))

    assert bloom.num_keys == 0
    assert bloom.expected_false_positive_rate() == 0.0
    assert not any(bloom.may_contain(key_hash) for key_hash in probes.tolist())
    assert not bloom.may_contain_many(probes).any()
    assert bloom.may_contain_many(np.zeros(0, dtype=np.uint64)).shape == (0,)


def test_empty_filter_round_trips():
    data = BloomFilter.build(np.zeros(0, dtype=np.uint64)).to_bytes()
    reread = BloomFilter.from_bytes(data)

    assert reread.num_keys == 0
    assert reread.to_bytes() == data
    assert not reread.may_contain(hash_key((0,), ["int64"]))


@settings(deadline=None)
@given(hashes=st.lists(st.integers(0, 2**64 - 1), max_size=300), bits_per_key=st.integers(1, 255))
def test_round_trip_keeps_bytes_and_fields(hashes, bits_per_key):
    bloom = BloomFilter.build(np.array(hashes, dtype=np.uint64), bits_per_key)
    data = bloom.to_bytes()
    reread = BloomFilter.from_bytes(data)

    assert reread.to_bytes() == data
    assert (reread.num_keys, reread.bits_per_key, reread.num_hashes, reread.num_bits) == (
        bloom.num_keys,
        bloom.bits_per_key,
        bloom.num_hashes,
        bloom.num_bits,
    )


def test_from_bytes_copies_buffer():
    frame = serialized_filter()
    bloom = BloomFilter.from_bytes(memoryview(frame))
    frame[HEADER_SIZE:] = bytes(len(frame) - HEADER_SIZE)

    assert bloom.may_contain(hash_key((5,), ["int64"]))


def test_parse_header_gives_total_size():
    data = serialized_filter(num_keys=1000)
    header = parse_header(data[:HEADER_SIZE])

    assert header.total_size == len(data)
    assert header.num_keys == 1000


def test_duplicate_hashes_count_as_keys():
    bloom = BloomFilter.build(np.full(10, 99, dtype=np.uint64))

    assert bloom.num_keys == 10
    assert bloom.may_contain(99)


# -- build errors ----------------------------------------------------------------


def test_build_rejects_signed_hashes():
    with pytest.raises(InvalidInputError, match="int64"):
        BloomFilter.build(np.arange(10, dtype=np.int64))


def test_build_rejects_two_dimensional_hashes():
    with pytest.raises(InvalidInputError, match="2-D"):
        BloomFilter.build(np.zeros((2, 2), dtype=np.uint64))


@pytest.mark.parametrize("bits_per_key", [0, 256, -1])
def test_build_rejects_bits_per_key_out_of_range(bits_per_key):
    with pytest.raises(InvalidInputError, match="1 to 255"):
        BloomFilter.build(np.zeros(1, dtype=np.uint64), bits_per_key)


@pytest.mark.parametrize("bits_per_key", [10.0, True, "10"])
def test_build_rejects_non_int_bits_per_key(bits_per_key):
    with pytest.raises(InvalidInputError, match="must be an int"):
        BloomFilter.build(np.zeros(1, dtype=np.uint64), bits_per_key)


def test_may_contain_many_rejects_signed_hashes():
    bloom = BloomFilter.build(np.zeros(1, dtype=np.uint64))

    with pytest.raises(InvalidInputError, match="int64"):
        bloom.may_contain_many(np.arange(3))


def test_build_rejects_filter_beyond_u32_bits():
    # 16,843,010 keys at 255 bits per key need 4,294,967,552 bits after
    # rounding up to a multiple of 8. np.zeros maps zero pages lazily, so
    # the 135 MB hash array costs no real memory.
    too_many = np.zeros(16_843_010, dtype=np.uint64)

    with pytest.raises(UnsupportedError, match="needs 4294967552 bits"):
        BloomFilter.build(too_many, bits_per_key=255)


# -- damaged serialized filters ----------------------------------------------------


def test_bad_magic_raises():
    data = serialized_filter()
    data[0:4] = b"XXXX"

    with pytest.raises(CorruptionError, match=r"magic is b'XXXX', expected b'SDBF'"):
        BloomFilter.from_bytes(data)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_bad_format_version_raises(version):
    data = serialized_filter()
    data[FORMAT_VERSION_OFFSET] = version

    with pytest.raises(CorruptionError, match=f"format version is {version}, expected 1"):
        BloomFilter.from_bytes(data)


def test_other_keyhash_version_raises():
    data = serialized_filter()
    data[KEYHASH_VERSION_OFFSET] = 2

    with pytest.raises(CorruptionError, match="key hash version is 2, expected 1"):
        BloomFilter.from_bytes(data)


def test_bad_num_hashes_raises():
    data = serialized_filter(bits_per_key=10)
    data[NUM_HASHES_OFFSET] = 8

    with pytest.raises(CorruptionError, match="number of hashes is 8, expected 7"):
        BloomFilter.from_bytes(data)


def test_zero_bits_per_key_raises():
    data = serialized_filter()
    data[BITS_PER_KEY_OFFSET] = 0

    with pytest.raises(CorruptionError, match="bits per key is 0, expected 1 to 255"):
        BloomFilter.from_bytes(data)


def test_changed_bits_per_key_raises():
    data = serialized_filter(bits_per_key=10)
    data[BITS_PER_KEY_OFFSET] = 12

    with pytest.raises(CorruptionError, match="number of hashes is 7, expected 8 for 12 bits per key"):
        BloomFilter.from_bytes(data)


def test_bad_num_bits_raises():
    data = serialized_filter(num_keys=1000, bits_per_key=10)
    struct.pack_into("<I", data, NUM_BITS_OFFSET, 10008)

    with pytest.raises(CorruptionError, match="number of bits is 10008, expected 10000 for 1000 keys"):
        BloomFilter.from_bytes(data)


def test_bad_num_keys_raises():
    data = serialized_filter(num_keys=1000, bits_per_key=10)
    struct.pack_into("<I", data, NUM_KEYS_OFFSET, 1001)

    with pytest.raises(CorruptionError, match="number of bits is 10000, expected 10016 for 1001 keys"):
        BloomFilter.from_bytes(data)


def test_num_keys_change_within_minimum_size_fails_checksum():
    # 3 and 4 keys both get the 64-bit minimum, so only the checksum notices.
    data = serialized_filter(num_keys=3)
    struct.pack_into("<I", data, NUM_KEYS_OFFSET, 4)

    with pytest.raises(CorruptionError, match="checksum"):
        BloomFilter.from_bytes(data)


def test_bad_checksum_raises():
    data = serialized_filter()
    data[CHECKSUM_OFFSET] ^= 0x01

    with pytest.raises(CorruptionError, match="stored checksum 0x[0-9a-f]{8} does not match 0x[0-9a-f]{8}"):
        BloomFilter.from_bytes(data)


def test_flipped_bit_array_byte_raises():
    data = serialized_filter()
    data[HEADER_SIZE + 37] ^= 0x10

    with pytest.raises(CorruptionError, match="checksum"):
        BloomFilter.from_bytes(data)


@pytest.mark.parametrize("length", [0, 1, HEADER_SIZE - 1])
def test_truncated_header_raises(length):
    data = serialized_filter()[:length]

    expected_message = f"header truncated: expected {HEADER_SIZE} bytes, found {length}"
    with pytest.raises(CorruptionError, match=expected_message):
        BloomFilter.from_bytes(data)


def test_truncated_bit_array_raises():
    data = serialized_filter(num_keys=1000)[:-1]

    expected_message = f"length is {HEADER_SIZE + 1249} bytes, expected {HEADER_SIZE + 1250}"
    with pytest.raises(CorruptionError, match=expected_message):
        BloomFilter.from_bytes(data)


def test_trailing_bytes_raise():
    data = serialized_filter(num_keys=1000) + b"\x00"

    with pytest.raises(CorruptionError, match=f"length is {HEADER_SIZE + 1251} bytes"):
        BloomFilter.from_bytes(data)


def test_hostile_header_allocates_nothing_large():
    # A consistent header that claims a 512 MiB bit array, in a 20-byte buffer.
    num_keys = (2**32 - 8) // 8
    hostile = HEADER.pack(b"SDBF", 1, 1, 6, 8, 2**32 - 8, num_keys, 0)

    tracemalloc.start()
    try:
        with pytest.raises(CorruptionError, match="length is 20 bytes, expected 536870931"):
            BloomFilter.from_bytes(hostile)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_header_claiming_too_many_bits_raises():
    hostile = HEADER.pack(b"SDBF", 1, 1, 30, 255, 2**32 - 8, 2**32 - 1, 0)

    with pytest.raises(CorruptionError, match="number of bits is 4294967288, expected 1095216660232"):
        BloomFilter.from_bytes(hostile)


def test_error_names_source():
    data = serialized_filter()
    data[0] = 0

    with pytest.raises(CorruptionError, match="Bloom filter in orders/seg-000007.sdb is corrupt"):
        BloomFilter.from_bytes(data, source="orders/seg-000007.sdb")
