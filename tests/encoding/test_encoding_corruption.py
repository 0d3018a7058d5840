"""Damaged and hostile chunks: every decode path raises CorruptChunkError.

Each named test damages one field and checks the message names it. The
hypothesis tests flip bytes and truncate valid chunks and accept only a
successful decode or CorruptChunkError.
"""

from __future__ import annotations

import struct

import lz4.block
import numpy as np
import pytest
import zstandard
from encoding_strategies import COMPRESSIONS, SUPPORTED_PAIRS, chunk_inputs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storagedb.encoding import MAX_CHUNK_ROWS, MAX_PAYLOAD_BYTES, ChunkView, encode_chunk
from storagedb.encoding.header import ENCODINGS, HEADER
from storagedb.encoding.kinds import KINDS
from storagedb.errors import CorruptChunkError

# Header field offsets, from the table in storagedb/encoding/header.py.
VERSION, KIND, ENCODING, CODE_ENCODING, COMPRESSION, FLAGS = 0, 1, 2, 3, 4, 5
RESERVED, ROW_COUNT, NULL_COUNT, PLAIN_SIZE, PAYLOAD_SIZE, STORED_SIZE = 6, 8, 12, 16, 20, 24


def _exercise(buf) -> None:
    """Read everything a chunk offers; only CorruptChunkError may escape."""
    try:
        view = ChunkView(buf)
        _ = (view.encoding, view.compression, view.kind, view.raw_bytes, view.stored_bytes, repr(view))
        view.nulls()
        view.values()
        view.dictionary()
        view.runs()
        if view.row_count:
            view.take(np.array([0, view.row_count - 1]))
    except CorruptChunkError:
        pass


def _patch(chunk: bytes, offset: int, fmt: str, value: int) -> bytes:
    damaged = bytearray(chunk)
    struct.pack_into(fmt, damaged, offset, value)
    return bytes(damaged)


def _chunk(kind: str, encoding: str, payload: bytes, value_count: int, *, code_encoding: int = 0,
           compression: int = 0, payload_size: int | None = None, plain_size: int | None = None) -> bytes:
    """Wrap a hand-made payload in a valid header without NULLs."""
    info = KINDS[kind]
    if plain_size is None:
        plain_size = value_count * info.itemsize
    if payload_size is None:
        payload_size = len(payload)
    header = HEADER.pack(1, info.kind_id, ENCODINGS[encoding], code_encoding, compression, 0, 0,
                         value_count, 0, plain_size, payload_size, len(payload))
    return header + payload


def _raises(buf, match: str) -> None:
    with pytest.raises(CorruptChunkError, match=match):
        view = ChunkView(buf)
        view.values()


# -- fuzzing ---------------------------------------------------------------


@st.composite
def _valid_chunks(draw) -> bytes:
    encoding, kind = draw(st.sampled_from(SUPPORTED_PAIRS))
    values, nulls = draw(chunk_inputs(kind, max_size=80))
    compression = draw(st.sampled_from(COMPRESSIONS))
    return encode_chunk(values, nulls, kind, encoding=encoding, compression=compression)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=_valid_chunks(), data=st.data())
def test_flipped_bytes_raise_corrupt_error(chunk, data):
    damaged = bytearray(chunk)
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(chunk) - 1), st.integers(1, 255)),
                               min_size=1, max_size=4))
    for position, mask in flips:
        damaged[position] ^= mask
    _exercise(bytes(damaged))


@settings(max_examples=150, deadline=None)
@given(chunk=_valid_chunks(), data=st.data())
def test_truncated_chunk_raises_corrupt_error(chunk, data):
    length = data.draw(st.integers(0, len(chunk) - 1))
    with pytest.raises(CorruptChunkError):
        view = ChunkView(chunk[:length])
        view.values()


@settings(max_examples=150, deadline=None)
@given(chunk=_valid_chunks(), data=st.data())
def test_damaged_header_field_raises_corrupt_error(chunk, data):
    offset, fmt = data.draw(st.sampled_from(
        [(ROW_COUNT, "<I"), (NULL_COUNT, "<I"), (PAYLOAD_SIZE, "<I"), (STORED_SIZE, "<I"), (PLAIN_SIZE, "<I"),
         (ENCODING, "<B"), (CODE_ENCODING, "<B"), (COMPRESSION, "<B"), (KIND, "<B")]))
    limit = 255 if fmt == "<B" else 2**32 - 1
    value = data.draw(st.one_of(st.integers(0, min(300, limit)), st.integers(0, limit)))
    _exercise(_patch(chunk, offset, fmt, value))


def test_numpy_and_memoryview_buffers_checked():
    chunk = encode_chunk(np.arange(100), None, "int64", encoding="plain")
    damaged = np.frombuffer(chunk[:-3], dtype=np.uint8)
    with pytest.raises(CorruptChunkError):
        ChunkView(damaged)
    with pytest.raises(CorruptChunkError):
        ChunkView(memoryview(chunk)[:-3])


# -- header fields ---------------------------------------------------------

_GOOD = encode_chunk(np.arange(100, dtype=np.int64), None, "int64", encoding="plain", compression="none")


def test_header_rejects_unknown_format_version():
    _raises(_patch(_GOOD, VERSION, "<B", 2), "format version is 2, expected 1")


def test_header_rejects_reserved_kind_id():
    _raises(_patch(_GOOD, KIND, "<B", 0), "kind id 0 is unknown")


def test_header_rejects_unknown_encoding_id():
    _raises(_patch(_GOOD, ENCODING, "<B", 7), "encoding id 7 is unknown")


def test_header_rejects_integer_encoding_on_float_kind():
    chunk = encode_chunk(np.zeros(4), None, "float64", encoding="plain", compression="none")
    _raises(_patch(chunk, ENCODING, "<B", ENCODINGS["delta"]), "cannot hold kind float64")


def test_header_rejects_code_encoding_on_plain_chunk():
    _raises(_patch(_GOOD, CODE_ENCODING, "<B", ENCODINGS["rle"]), "code encoding id 3 is set on a plain chunk")


def test_header_rejects_dictionary_without_code_encoding():
    chunk = encode_chunk(np.ones(10), None, "float64", encoding="dictionary", compression="none")
    _raises(_patch(chunk, CODE_ENCODING, "<B", 0), "dictionary code encoding id 0 is invalid")


def test_header_rejects_unknown_compression_id():
    _raises(_patch(_GOOD, COMPRESSION, "<B", 3), "compression id 3 is unknown")


def test_header_rejects_reserved_flag_bits():
    _raises(_patch(_GOOD, FLAGS, "<B", 0x04), "reserved bits are set")


def test_header_rejects_nonzero_reserved_field():
    _raises(_patch(_GOOD, RESERVED, "<H", 1), "reserved bits are set")


def test_header_rejects_row_count_over_limit():
    _raises(_patch(_GOOD, ROW_COUNT, "<I", MAX_CHUNK_ROWS + 1), "above the limit of 4194304")


def test_header_rejects_more_nulls_than_rows():
    _raises(_patch(_GOOD, NULL_COUNT, "<I", 101), "101 NULLs in 100 rows")


def test_header_rejects_null_count_without_bitmap_flag():
    _raises(_patch(_GOOD, NULL_COUNT, "<I", 3), "null flag is 0 but null_count is 3")


def test_header_rejects_wrong_plain_size():
    _raises(_patch(_GOOD, PLAIN_SIZE, "<I", 801), "plain size is 801 bytes, expected 800")


def test_header_rejects_payload_size_above_what_rows_need():
    # 64 + 100 x (8 + 8) = 1,664 bytes is the most 100 int64 values may take.
    _raises(_patch(_GOOD, PAYLOAD_SIZE, "<I", 1665), "payload of 1665 bytes, above the limit of 1664")


def test_header_rejects_text_payload_above_hard_limit():
    chunk = encode_chunk(np.array(["a"], dtype=object), None, "text", compression="none")
    _raises(_patch(chunk, PAYLOAD_SIZE, "<I", MAX_PAYLOAD_BYTES + 1), "above the limit of 268435456")


def test_header_rejects_stored_size_differing_when_uncompressed():
    damaged = _patch(_GOOD, PAYLOAD_SIZE, "<I", 799)
    _raises(damaged, "stores 800 payload bytes but declares 799")


def test_truncated_header_names_header():
    _raises(_GOOD[:27], "header needs 28 bytes")


def test_truncated_payload_names_payload():
    _raises(_GOOD[:-1], "payload needs 800 bytes")


def test_null_bitmap_count_must_match_header():
    values = np.arange(10, dtype=np.int64)
    nulls = np.zeros(10, dtype=bool)
    nulls[3] = True
    chunk = encode_chunk(values, nulls, "int64", encoding="plain", compression="none")
    damaged = bytearray(chunk)
    damaged[HEADER.size] |= 0x01  # the bitmap's first byte: row 0 becomes NULL
    _raises(bytes(damaged), "marks 2 rows as NULL, but the header's null_count is 1")


def test_trailing_bytes_after_chunk_ignored():
    view = ChunkView(_GOOD + b"page tail")
    assert view.stored_bytes == len(_GOOD)
    assert view.values().tolist() == list(range(100))


# -- compression -----------------------------------------------------------


def _huge_zstd_frame(content_size: int) -> bytes:
    """A zstd frame header declaring ``content_size`` bytes, with one tiny RLE block."""
    magic = struct.pack("<I", 0xFD2FB528)
    descriptor = bytes([0b1110_0000])  # 8-byte content size, single segment
    block = struct.pack("<I", (1 << 0) | (1 << 1) | (1000 << 3))[:3] + b"\x00"  # last RLE block
    return magic + descriptor + struct.pack("<Q", content_size) + block


def test_zstd_huge_content_size_rejected_early():
    frame = _huge_zstd_frame(2**40)
    assert zstandard.get_frame_parameters(frame).content_size == 2**40
    chunk = _chunk("int64", "plain", frame, 100, compression=1, payload_size=800)
    _raises(chunk, "zstd frame declares 1099511627776 bytes, expected 800")


def test_huge_payload_size_rejected_before_decompressing():
    frame = _huge_zstd_frame(2**31)
    chunk = _chunk("text", "plain", frame, 1, compression=1, payload_size=2**31, plain_size=5)
    _raises(chunk, "payload of 2147483648 bytes, above the limit of 268435456")


def test_zstd_garbage_is_rejected():
    chunk = _chunk("int64", "plain", b"not a zstd frame", 1, compression=1, payload_size=8)
    _raises(chunk, "zstd frame header is invalid")


def test_zstd_trailing_data_is_rejected():
    frame = zstandard.ZstdCompressor().compress(bytes(8)) + b"xx"
    chunk = _chunk("int64", "plain", frame, 1, compression=1, payload_size=8)
    _raises(chunk, "zstd payload does not decompress")


def test_lz4_short_output_is_rejected():
    block = lz4.block.compress(bytes(8), store_size=False)
    chunk = _chunk("int64", "plain", block, 2, compression=2, payload_size=16)
    _raises(chunk, "lz4 payload decompressed to 8 bytes, expected 16")


def test_lz4_garbage_is_rejected():
    chunk = _chunk("int64", "plain", b"\xff" * 12, 2, compression=2, payload_size=16)
    _raises(chunk, "lz4 payload does not decompress")


# -- payloads --------------------------------------------------------------


def test_plain_fixed_payload_size_must_match():
    _raises(_chunk("int32", "plain", bytes(10), 3, plain_size=12, payload_size=10), "has 10 bytes, expected 12")


def test_plain_text_end_offset_must_not_decrease():
    payload = np.array([3, 1, 4], dtype="<u4").tobytes() + b"abcd"
    _raises(_chunk("text", "plain", payload, 3, plain_size=len(payload)), "end offset 1 of value 1 is before its start 3")


def test_plain_text_last_offset_must_match_data():
    payload = np.array([2, 3], dtype="<u4").tobytes() + b"abcd"
    _raises(_chunk("text", "plain", payload, 2, plain_size=len(payload)), "last end offset is 3, but the data area has 4")


def test_plain_text_must_be_utf8():
    payload = np.array([2], dtype="<u4").tobytes() + b"\xc3\x28"
    _raises(_chunk("text", "plain", payload, 1, plain_size=len(payload)), "invalid UTF-8 at data byte 0")


def test_plain_text_split_inside_character_rejected():
    payload = np.array([1, 2], dtype="<u4").tobytes() + "é".encode()
    _raises(_chunk("text", "plain", payload, 2, plain_size=len(payload)), "value 1 starts at data byte 1, inside a UTF-8")


def test_plain_text_take_checks_utf8():
    payload = np.array([1, 3], dtype="<u4").tobytes() + b"a\xc3\x28"
    view = ChunkView(_chunk("text", "plain", payload, 2, plain_size=len(payload)))

    assert view.take(np.array([0])).tolist() == ["a"]
    with pytest.raises(CorruptChunkError, match="value 1 is not valid UTF-8"):
        view.take(np.array([1]))


def test_plain_text_take_checks_offsets():
    payload = np.array([3, 1, 4], dtype="<u4").tobytes() + b"abcd"
    view = ChunkView(_chunk("text", "plain", payload, 3, plain_size=len(payload)))

    with pytest.raises(CorruptChunkError, match="end offset 1 of value 1 is before its start 3"):
        view.take(np.array([0]))


def test_plain_text_bounds_check_offsets():
    payload = np.array([1, 3], dtype="<u4").tobytes() + b"abc"
    bounds, data = ChunkView(_chunk("text", "plain", payload, 2, plain_size=len(payload))).variable_bounds()
    assert bounds.tolist() == [0, 1, 3]
    assert data == b"abc"

    payload = np.array([3, 1, 4], dtype="<u4").tobytes() + b"abcd"
    view = ChunkView(_chunk("text", "plain", payload, 3, plain_size=len(payload)))
    with pytest.raises(CorruptChunkError, match="end offset 1 of value 1 is before its start 3"):
        view.variable_bounds()


def test_plain_text_offsets_must_fit_payload():
    payload = np.array([2], dtype="<u4").tobytes()[:3]
    _raises(_chunk("text", "plain", payload, 1, plain_size=5), "end offsets needs 4 bytes")


def _dictionary_payload(entries: list[int], codes: list[int], width: int) -> bytes:
    from storagedb.encoding import bitpack
    entry_bytes = np.array(entries, dtype="<i4").tobytes()
    packed = bitpack.pack_uints(np.array(codes, dtype=np.uint64), width)
    return struct.pack("<II", len(entries), len(entry_bytes)) + entry_bytes + bytes([width]) + packed


def test_dictionary_too_many_entries_rejected():
    payload = _dictionary_payload([1, 2, 3], [0], 2)
    _raises(_chunk("int32", "dictionary", payload, 1, code_encoding=4), "declares 3 entries for 1 values")


def test_dictionary_entries_must_ascend():
    payload = _dictionary_payload([2, 1], [0, 1], 1)
    _raises(_chunk("int32", "dictionary", payload, 2, code_encoding=4), "not strictly ascending")


def test_dictionary_code_must_be_below_entry_count():
    payload = _dictionary_payload([1, 2, 3], [0, 3, 1], 2)
    _raises(_chunk("int32", "dictionary", payload, 3, code_encoding=4), "code 3 is out of range for 3 entries")


def test_dictionary_code_width_must_fit_entry_count():
    payload = _dictionary_payload([1, 2], [0, 1], 5)
    _raises(_chunk("int32", "dictionary", payload, 2, code_encoding=4), "bit width is 5, expected at most 1")


def test_dictionary_entries_size_must_fit_payload():
    payload = struct.pack("<II", 1, 1000) + bytes(8)
    _raises(_chunk("int32", "dictionary", payload, 1, code_encoding=4), "dictionary entries needs 1000 bytes")


def _rle_payload(lengths: list[int], values: list[int], width: int = 16) -> bytes:
    from storagedb.encoding import bitpack
    stored = bitpack.pack_uints(np.array(lengths, dtype=np.uint64) - 1, width)
    return struct.pack("<I", len(lengths)) + bytes([width]) + stored + np.array(values, dtype="<i2").tobytes()


def test_rle_run_count_above_value_count_is_rejected():
    _raises(_chunk("int16", "rle", _rle_payload([1, 1, 1], [1, 2, 3]), 2), "declares 3 runs for 2 values")


def test_rle_lengths_must_add_up_to_value_count():
    _raises(_chunk("int16", "rle", _rle_payload([2, 2], [1, 2]), 5), "add up to 4, expected 5 values")


def test_rle_length_width_above_16_is_rejected():
    _raises(_chunk("int16", "rle", _rle_payload([2], [1], width=17), 2), "bit width is 17, expected at most 16")


def test_rle_run_length_above_counter_limit_is_rejected():
    _raises(_chunk("int16", "rle", _rle_payload([65_536], [1]), 65_536), "run length 65536 exceeds the limit of 65535")


def test_rle_run_values_must_match_run_count():
    payload = _rle_payload([1, 1], [1, 2]) + b"\x00"
    _raises(_chunk("int16", "rle", payload, 2), "has 5 bytes, expected 4")


def test_bitpack_width_wider_than_kind_is_rejected():
    payload = bytes([9]) + bytes(2)
    _raises(_chunk("int8", "bitpack", payload, 1), "bit width is 9, expected at most 8")


def test_for_reference_outside_kind_range_is_rejected():
    payload = struct.pack("<q", 200) + bytes([0])
    _raises(_chunk("int8", "for", payload, 1), "value 200 is outside the int8 range")


def test_for_residual_past_kind_maximum_is_rejected():
    payload = struct.pack("<q", 100) + bytes([8, 200])
    _raises(_chunk("int8", "for", payload, 1), "residual 200 added to 100 exceeds the int8 maximum 127")


def test_delta_first_value_outside_kind_range_is_rejected():
    payload = struct.pack("<qq", 2**40, 0) + bytes([0])
    _raises(_chunk("int32", "delta", payload, 2), "first value 1099511627776 is outside the int32 range")


def test_delta_values_outside_kind_range_are_rejected():
    payload = struct.pack("<qq", 2**31 - 1, 1) + bytes([0])
    _raises(_chunk("int32", "delta", payload, 2), "decodes to values 2147483647..2147483648")


def test_delta_trailing_bytes_are_rejected():
    payload = struct.pack("<qq", 0, 0) + bytes([0]) + b"\x00"
    _raises(_chunk("int64", "delta", payload, 2), "1 unexpected trailing bytes")
