"""encode_chunk / decode_chunk / ChunkView: arguments, buffers and choices."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from storagedb.encoding import ChunkView, decode_chunk, encode_chunk
from storagedb.errors import InvalidInputError, UnsupportedError

RNG = np.random.default_rng(2024)


# -- argument checks -------------------------------------------------------


def test_unknown_kind_raises():
    with pytest.raises(InvalidInputError, match="unknown value kind 'int128'"):
        encode_chunk(np.arange(3), None, "int128")


def test_unknown_encoding_raises():
    with pytest.raises(InvalidInputError, match="unknown encoding 'huffman'"):
        encode_chunk(np.arange(3), None, "int64", encoding="huffman")


def test_unknown_compression_raises():
    with pytest.raises(InvalidInputError, match="unknown compression 'gzip'"):
        encode_chunk(np.arange(3), None, "int64", compression="gzip")


@pytest.mark.parametrize("encoding", ["delta", "for", "bitpack"])
@pytest.mark.parametrize("kind", ["text", "blob", "float32", "float64"])
def test_integer_encoding_on_other_kind_raises(encoding, kind):
    values = np.array(["a"], dtype=object) if kind in ("text", "blob") else np.zeros(1, dtype=kind)
    with pytest.raises(UnsupportedError, match=f"encoding '{encoding}' stores integer kinds only, not {kind}"):
        encode_chunk(values, None, kind, encoding=encoding)


def test_forced_dictionary_over_entry_limit_raises():
    with pytest.raises(UnsupportedError, match="would need 10 entries, above max_dictionary_entries=9"):
        encode_chunk(np.arange(10), None, "int64", encoding="dictionary", max_dictionary_entries=9)


def test_max_dictionary_entries_must_be_positive():
    with pytest.raises(InvalidInputError, match="max_dictionary_entries must be a positive int"):
        encode_chunk(np.arange(3), None, "int64", max_dictionary_entries=0)


def test_nulls_must_be_bool():
    with pytest.raises(InvalidInputError, match="nulls must be a bool array, got dtype int64"):
        encode_chunk(np.arange(3), np.array([0, 1, 0]), "int64")


def test_nulls_length_must_match_values():
    with pytest.raises(InvalidInputError, match=r"nulls has shape \(2,\), expected \(3,\)"):
        encode_chunk(np.arange(3), np.array([False, True]), "int64")


def test_values_must_be_one_dimensional():
    with pytest.raises(InvalidInputError, match=r"got shape \(2, 2\)"):
        encode_chunk(np.zeros((2, 2), dtype=np.int64), None, "int64")


def test_values_outside_kind_range_raise():
    with pytest.raises(InvalidInputError, match=r"values range 0\.\.300 does not fit kind int8"):
        encode_chunk(np.array([0, 300]), None, "int8")


def test_list_of_python_ints_is_accepted():
    found, _ = decode_chunk(encode_chunk([1, 2, 3], None, "int16"))
    assert found.tolist() == [1, 2, 3]


def test_float64_values_for_float32_kind_raise():
    with pytest.raises(InvalidInputError, match="dtype float64 cannot be stored as float32 without loss"):
        encode_chunk(np.array([0.1]), None, "float32")


def test_text_value_of_wrong_type_raises():
    with pytest.raises(InvalidInputError, match="text value at position 1 is int"):
        encode_chunk(np.array(["a", 5], dtype=object), None, "text")


def test_blob_value_of_wrong_type_raises():
    with pytest.raises(InvalidInputError, match="blob value at position 0 is str"):
        encode_chunk(np.array(["a"], dtype=object), None, "blob")


def test_text_with_lone_surrogate_raises():
    with pytest.raises(InvalidInputError, match="cannot be encoded as UTF-8"):
        encode_chunk(np.array(["ok", "\ud800"], dtype=object), None, "text", encoding="plain")


def test_take_rejects_position_out_of_range():
    view = ChunkView(encode_chunk(np.arange(5), None, "int64"))
    with pytest.raises(InvalidInputError, match=r"positions must lie in 0\.\.4; found 0\.\.5"):
        view.take([0, 5])


def test_take_rejects_negative_position():
    view = ChunkView(encode_chunk(np.arange(5), None, "int64"))
    with pytest.raises(InvalidInputError, match="found -1..2"):
        view.take([-1, 2])


def test_take_rejects_float_positions():
    view = ChunkView(encode_chunk(np.arange(5), None, "int64"))
    with pytest.raises(InvalidInputError, match="positions must be integers"):
        view.take(np.array([1.0]))


# -- buffers ---------------------------------------------------------------


def test_chunk_view_reads_bytes_memoryview_and_numpy():
    values = np.arange(1000, dtype=np.int32) * 3
    chunk = encode_chunk(values, None, "int32")
    for buf in (chunk, memoryview(chunk), bytearray(chunk), np.frombuffer(chunk, dtype=np.uint8)):
        assert np.array_equal(ChunkView(buf).values(), values)


def test_chunk_view_keeps_no_reference_to_buffer():
    values = np.array(["alpha", "beta", "alpha"] * 100, dtype=object)
    page = bytearray(encode_chunk(values, None, "text", encoding="plain", compression="none"))
    view = ChunkView(memoryview(page))

    page[:] = bytes(len(page))  # the frame is reused for another page
    page.extend(b"resizable again")  # no memoryview of it is still alive

    assert view.values().tolist() == values.tolist()


def test_decode_reads_read_only_numpy_buffer():
    values = RNG.integers(0, 1000, 5000)
    frame = np.frombuffer(encode_chunk(values, None, "int64"), dtype=np.uint8)
    assert not frame.flags.writeable
    assert np.array_equal(decode_chunk(frame)[0], values)


def test_decoded_values_are_writable_copies():
    chunk = encode_chunk(np.arange(10), None, "int64", encoding="plain", compression="none")
    found, _ = decode_chunk(chunk)
    found[0] = 99
    assert decode_chunk(chunk)[0][0] == 0


# -- properties ------------------------------------------------------------


def test_chunk_view_reports_header_fields():
    values = np.arange(100, dtype=np.int64)
    nulls = np.zeros(100, dtype=bool)
    nulls[::10] = True
    chunk = encode_chunk(values, nulls, "int64", encoding="plain", compression="none")
    view = ChunkView(chunk)
    assert view.row_count == 100
    assert view.null_count == 10
    assert view.kind == "int64"
    assert view.encoding == "plain"
    assert view.compression == "none"
    assert view.raw_bytes == 90 * 8
    assert view.stored_bytes == len(chunk) == 28 + 13 + 90 * 8
    assert view.nulls().tolist() == nulls.tolist()


def test_auto_compression_keeps_zstd_when_it_saves_enough():
    text = np.array([f"the same sentence, number {i % 7}, said again" for i in range(2000)], dtype=object)
    view = ChunkView(encode_chunk(text, None, "text", encoding="plain"))
    assert view.compression == "zstd"
    assert view.stored_bytes < view.raw_bytes // 5


def test_auto_compression_skips_incompressible_payload():
    values = RNG.integers(-(2**63), 2**63 - 1, 4096, dtype=np.int64, endpoint=True)
    view = ChunkView(encode_chunk(values, None, "int64"))
    assert view.compression == "none"


@pytest.mark.parametrize("compression", ["zstd", "lz4"])
def test_forced_compression_is_recorded(compression):
    view = ChunkView(encode_chunk(np.zeros(100, dtype=np.int64), None, "int64", encoding="plain", compression=compression))
    assert view.compression == compression
    assert np.array_equal(view.values(), np.zeros(100, dtype=np.int64))


def test_compression_is_thread_safe():
    columns = [RNG.integers(0, 50, 20_000) for _ in range(8)]

    def round_trip(values):
        chunk = encode_chunk(values, None, "int64", encoding="plain", compression="zstd")
        return np.array_equal(decode_chunk(chunk)[0], values)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(round_trip, columns * 4))


# -- analyser choices ------------------------------------------------------


def test_auto_picks_delta_or_for_for_sorted_keys():
    keys = np.sort(RNG.integers(1, 6_000_000, 65_536))
    view = ChunkView(encode_chunk(keys, None, "int64", compression="none"))
    assert view.encoding in ("delta", "for")
    assert view.stored_bytes < keys.nbytes // 3


def test_auto_picks_dictionary_for_low_cardinality_text():
    modes = np.array(["TRUCK", "MAIL", "SHIP", "AIR", "RAIL", "FOB", "REG AIR"], dtype=object)
    values = modes[RNG.integers(0, 7, 10_000)]
    view = ChunkView(encode_chunk(values, None, "text", compression="none"))
    assert view.encoding == "dictionary+bitpack"


def test_auto_picks_rle_for_long_runs():
    values = np.repeat(RNG.random(20), 500)
    view = ChunkView(encode_chunk(values, None, "float64", compression="none"))
    assert view.encoding in ("rle", "dictionary+rle")


def test_auto_picks_plain_for_random_floats():
    view = ChunkView(encode_chunk(RNG.random(10_000), None, "float64", compression="none"))
    assert view.encoding == "plain"


def test_auto_picks_for_for_narrow_range():
    values = RNG.integers(1_000_000, 1_000_100, 10_000)
    view = ChunkView(encode_chunk(values, None, "int64", compression="none"))
    assert view.encoding == "for"
    assert view.header.payload_size == 8 + 1 + 10_000 * 7 // 8


def test_auto_never_larger_than_plain():
    for values, kind in (
        (RNG.integers(-(2**63), 2**63 - 1, 1000, dtype=np.int64, endpoint=True), "int64"),
        (RNG.random(1000).astype(np.float32), "float32"),
        (np.array([str(i) for i in range(1000)], dtype=object), "text"),
    ):
        auto = ChunkView(encode_chunk(values, None, kind, compression="none"))
        plain = ChunkView(encode_chunk(values, None, kind, encoding="plain", compression="none"))
        assert auto.stored_bytes <= plain.stored_bytes
