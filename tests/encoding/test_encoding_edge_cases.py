"""Edge cases of the encodings, one test per case."""

from __future__ import annotations

import numpy as np
import pytest
from encoding_strategies import ALL_KINDS, SUPPORTED_PAIRS, assert_same_values

from storagedb.encoding import MAX_RUN_LENGTH, ChunkView, decode_chunk, encode_chunk
from storagedb.encoding import bitpack, frame_of_reference
from storagedb.encoding.kinds import KINDS

INT64_MIN = np.iinfo(np.int64).min
INT64_MAX = np.iinfo(np.int64).max
INT32_MIN = np.iinfo(np.int32).min
INT32_MAX = np.iinfo(np.int32).max


def _run_lengths_for(length: int) -> list[int]:
    values = np.concatenate([np.full(length, 7, dtype=np.int32), np.array([8], dtype=np.int32)])
    view = ChunkView(encode_chunk(values, None, "int32", encoding="rle"))
    run_values, run_lengths = view.runs()
    assert np.array_equal(np.repeat(run_values, run_lengths), values)
    return run_lengths.tolist()


def test_rle_run_at_counter_limit_is_one_run():
    assert MAX_RUN_LENGTH == 65_535
    assert _run_lengths_for(65_535) == [65_535, 1]


def test_rle_run_one_over_counter_limit_splits():
    assert _run_lengths_for(65_536) == [65_535, 1, 1]


def test_rle_run_under_counter_limit_is_one_run():
    assert _run_lengths_for(65_534) == [65_534, 1]


def test_rle_very_long_run_splits_into_full_runs():
    values = np.zeros(3 * MAX_RUN_LENGTH + 2, dtype=np.int8)
    _, run_lengths = ChunkView(encode_chunk(values, None, "int8", encoding="rle")).runs()
    assert run_lengths.tolist() == [MAX_RUN_LENGTH] * 3 + [2]


def test_rle_runs_ignore_nulls_between_equal_values():
    values = np.array([3, 0, 3, 3, 4], dtype=np.int16)
    nulls = np.array([False, True, False, False, False])
    run_values, run_lengths = ChunkView(encode_chunk(values, nulls, "int16", encoding="rle")).runs()
    assert run_values.tolist() == [3, 4]
    assert run_lengths.tolist() == [3, 1]


def test_all_equal_chunk_for_width_zero():
    values = np.full(1000, -12345, dtype=np.int64)
    chunk = encode_chunk(values, None, "int64", encoding="for", compression="none")
    payload = chunk[-(frame_of_reference.HEADER.size + bitpack.WIDTH_HEADER.size) :]
    (reference,) = frame_of_reference.HEADER.unpack_from(payload)
    width = payload[frame_of_reference.HEADER.size]
    assert reference == -12345
    assert width == 0
    assert np.array_equal(decode_chunk(chunk)[0], values)


def test_all_equal_chunk_has_one_entry_dictionary():
    values = np.full(1000, 42, dtype=np.int32)
    view = ChunkView(encode_chunk(values, None, "int32", encoding="dictionary"))
    entries, codes = view.dictionary()
    assert entries.tolist() == [42]
    assert not codes.any()


def test_all_zero_chunk_bitpacks_in_width_zero():
    values = np.zeros(5000, dtype=np.int64)
    chunk = encode_chunk(values, None, "int64", encoding="bitpack", compression="none")
    assert chunk[-1] == 0  # the width byte, with no packed bytes after it
    assert ChunkView(chunk).stored_bytes == 28 + 1


def test_all_equal_chunk_auto_is_tiny():
    values = np.full(65_536, 9, dtype=np.int64)
    view = ChunkView(encode_chunk(values, None, "int64"))
    assert view.stored_bytes < 64


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_all_null_chunk_round_trips(kind):
    info = KINDS[kind]
    values = np.empty(10, dtype=object) if info.is_variable else np.zeros(10, dtype=info.dtype)
    nulls = np.ones(10, dtype=bool)
    chunk = encode_chunk(values, nulls, kind)
    view = ChunkView(chunk)
    found, found_nulls = decode_chunk(chunk)
    assert view.null_count == 10
    assert view.raw_bytes == 0
    assert found_nulls.all()
    assert_same_values(values, found, nulls, kind)


@pytest.mark.parametrize(("encoding", "kind"), SUPPORTED_PAIRS)
def test_empty_chunk_round_trips(encoding, kind):
    info = KINDS[kind]
    values = np.empty(0, dtype=object if info.is_variable else info.dtype)
    chunk = encode_chunk(values, None, kind, encoding=encoding)
    found, found_nulls = decode_chunk(chunk)
    assert len(found) == 0
    assert found_nulls is None
    assert ChunkView(chunk).row_count == 0


@pytest.mark.parametrize("encoding", ["delta", "for", "bitpack", "plain", "dictionary", "rle", "auto"])
def test_alternating_int64_extremes_round_trip(encoding):
    values = np.array([INT64_MIN, INT64_MAX] * 50 + [INT64_MAX, INT64_MIN], dtype=np.int64)
    found, _ = decode_chunk(encode_chunk(values, None, "int64", encoding=encoding))
    assert np.array_equal(found, values)


def test_alternating_int64_extremes_delta_packs_in_two_bits():
    values = np.array([INT64_MIN, INT64_MAX] * 64, dtype=np.int64)
    view = ChunkView(encode_chunk(values, None, "int64", encoding="delta", compression="none"))
    # 16-byte delta header, width byte, 127 residuals of 2 bits.
    assert view.header.payload_size == 16 + 1 + (127 * 2 + 7) // 8


@pytest.mark.parametrize("encoding", ["delta", "for", "bitpack", "plain", "dictionary", "rle", "auto"])
def test_int32_extremes_round_trip(encoding):
    values = np.array([INT32_MIN, INT32_MAX, 0, INT32_MIN, -1, INT32_MAX, INT32_MAX], dtype=np.int32)
    found, _ = decode_chunk(encode_chunk(values, None, "int32", encoding=encoding))
    assert found.dtype == np.int32
    assert np.array_equal(found, values)


@pytest.mark.parametrize("encoding", ["delta", "for", "bitpack", "auto"])
def test_int8_and_uint8_extremes_round_trip(encoding):
    for kind, low, high in (("int8", -128, 127), ("uint8", 0, 255)):
        values = np.array([low, high, low, high, 0], dtype=KINDS[kind].dtype)
        found, _ = decode_chunk(encode_chunk(values, None, kind, encoding=encoding))
        assert np.array_equal(found, values)


_SPECIAL_FLOATS = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -0.0, np.nan, 0.0, -np.inf]


@pytest.mark.parametrize("kind", ["float32", "float64"])
@pytest.mark.parametrize("encoding", ["plain", "dictionary", "rle", "auto"])
def test_float_specials_keep_bit_patterns(kind, encoding):
    info = KINDS[kind]
    values = np.array(_SPECIAL_FLOATS, dtype=info.dtype)
    negative_nan = np.array([0xFFF8000000000001], dtype=np.uint64).view(np.float64)[0]
    values = np.append(values, info.dtype.type(negative_nan))
    found, _ = decode_chunk(encode_chunk(values, None, kind, encoding=encoding))
    assert np.array_equal(found.view(info.bit_dtype), values.view(info.bit_dtype))


def test_dictionary_keeps_signed_zeros_distinct():
    values = np.array([0.0, -0.0, 0.0, -0.0], dtype=np.float64)
    entries, codes = ChunkView(encode_chunk(values, None, "float64", encoding="dictionary")).dictionary()
    assert entries.view(np.uint64).tolist() == [0x8000000000000000, 0]
    assert codes.tolist() == [1, 0, 1, 0]


def test_dictionary_sorts_nan_after_infinity():
    values = np.array([np.nan, np.inf, -np.inf, 1.0, -np.nan], dtype=np.float64)
    entries, _ = ChunkView(encode_chunk(values, None, "float64", encoding="dictionary")).dictionary()
    assert entries[:3].tolist() == [-np.inf, 1.0, np.inf]
    assert np.isnan(entries[3:]).all()


def test_rle_splits_runs_at_signed_zero():
    values = np.array([0.0, 0.0, -0.0, -0.0], dtype=np.float32)
    run_values, run_lengths = ChunkView(encode_chunk(values, None, "float32", encoding="rle")).runs()
    assert run_values.view(np.uint32).tolist() == [0, 0x80000000]
    assert run_lengths.tolist() == [2, 2]


_AWKWARD_TEXT = ["a\x00b", "\x00", "", "😀 emoji", "𝄞 clef", "x" * 5000, "é" * 3000, "plain"]


@pytest.mark.parametrize("encoding", ["plain", "dictionary", "rle", "auto"])
@pytest.mark.parametrize("compression", ["none", "zstd", "lz4"])
def test_text_with_nul_astral_and_long_values(encoding, compression):
    values = np.array(_AWKWARD_TEXT * 3, dtype=object)
    found, _ = decode_chunk(encode_chunk(values, None, "text", encoding=encoding, compression=compression))
    assert found.tolist() == values.tolist()


def test_text_long_value_raw_bytes_counts_utf8():
    values = np.array(["é" * 3000, "😀"], dtype=object)
    view = ChunkView(encode_chunk(values, None, "text", encoding="plain", compression="none"))
    assert view.raw_bytes == 4 * 2 + 6000 + 4


def test_blob_with_nul_and_high_bytes_round_trips():
    values = np.array([b"\x00\xff\x80", b"", bytes(range(256)) * 20, b"\x00"], dtype=object)
    for encoding in ("plain", "dictionary", "rle", "auto"):
        found, _ = decode_chunk(encode_chunk(values, None, "blob", encoding=encoding))
        assert found.tolist() == values.tolist()


def test_auto_skips_dictionary_over_entry_limit():
    rng = np.random.default_rng(7)
    pool = rng.integers(-(2**60), 2**60, size=300)
    values = pool[rng.integers(0, 300, size=20_000)]

    within = ChunkView(encode_chunk(values, None, "int64", compression="none", max_dictionary_entries=300))
    over = ChunkView(encode_chunk(values, None, "int64", compression="none", max_dictionary_entries=299))

    assert within.encoding.startswith("dictionary")
    assert not over.encoding.startswith("dictionary")


def test_auto_skips_text_dictionary_over_entry_limit():
    values = np.array([f"value {i % 50}" for i in range(5000)], dtype=object)
    within = ChunkView(encode_chunk(values, None, "text", compression="none", max_dictionary_entries=50))
    over = ChunkView(encode_chunk(values, None, "text", compression="none", max_dictionary_entries=49))
    assert within.encoding.startswith("dictionary")
    assert not over.encoding.startswith("dictionary")


def test_bool_values_store_as_uint8():
    values = np.array([True, False, True, True])
    found, _ = decode_chunk(encode_chunk(values, None, "uint8"))
    assert found.dtype == np.uint8
    assert found.tolist() == [1, 0, 1, 1]


def test_null_placeholders_are_ignored():
    values = np.array([1, 2**40, 3], dtype=np.int64)
    nulls = np.array([False, True, False])
    view = ChunkView(encode_chunk(values, nulls, "int32"))
    assert view.values().tolist() == [1, 0, 3]


def test_text_null_placeholder_may_be_none():
    values = np.array(["a", None, "c"], dtype=object)
    nulls = np.array([False, True, False])
    found, found_nulls = decode_chunk(encode_chunk(values, nulls, "text"))
    assert found.tolist() == ["a", "", "c"]
    assert found_nulls.tolist() == [False, True, False]
