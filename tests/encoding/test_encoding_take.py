"""Partial decoding: ChunkView.take and take_codes against a full decode."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storagedb.encoding import ChunkView, encode_chunk

INT_KINDS = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint8": np.uint8}


@st.composite
def int_chunks(draw):
    kind = draw(st.sampled_from(sorted(INT_KINDS)))
    info = np.iinfo(INT_KINDS[kind])
    count = draw(st.integers(1, 300))
    low = draw(st.integers(int(info.min), int(info.max)))
    span = draw(st.sampled_from([0, 1, 7, 255, 4095, 2**20, 2**40, 2**63]))
    high = min(int(info.max), low + span)
    values = np.array(draw(st.lists(st.integers(low, high), min_size=count, max_size=count)), dtype=INT_KINDS[kind])
    nulls = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=count, max_size=count).map(np.array)))
    encoding = draw(st.sampled_from(["for", "bitpack", "dictionary", "plain"]))
    positions = np.array(draw(st.lists(st.integers(0, count - 1), max_size=40)), dtype=np.int64)
    return kind, values, nulls, encoding, positions


@settings(max_examples=300, deadline=None)
@given(int_chunks())
def test_take_equals_full_decode_at_positions(case):
    kind, values, nulls, encoding, positions = case
    view = ChunkView(encode_chunk(values, nulls, kind, encoding=encoding, compression="none"))
    expected = view.values()[positions]
    assert np.array_equal(view.take(positions), expected)


@settings(max_examples=150, deadline=None)
@given(int_chunks())
def test_take_codes_indexes_the_dictionary(case):
    kind, values, nulls, _encoding, positions = case
    view = ChunkView(encode_chunk(values, nulls, kind, encoding="dictionary", compression="none"))
    taken = view.take_codes(positions)
    if view.encoding != "dictionary+bitpack":
        assert taken is None
        return
    entries, codes = taken
    full_entries, full_codes = view.dictionary()
    assert np.array_equal(entries, full_entries)
    assert np.array_equal(codes, full_codes[positions])


@pytest.mark.parametrize("width_span", [2**57 - 1, 2**62])
def test_take_wider_than_a_shifted_word_falls_back(width_span):
    values = np.array([0, width_span, 5, width_span // 3], dtype=np.int64)
    view = ChunkView(encode_chunk(values, None, "int64", encoding="for", compression="none"))
    assert np.array_equal(view.take([3, 1, 1, 0]), values[[3, 1, 1, 0]])


def test_take_text_dictionary():
    values = np.array(["b", "a", "", "b", "c"], dtype=object)
    nulls = np.array([False, False, True, False, False])
    view = ChunkView(encode_chunk(values, nulls, "text", encoding="dictionary", compression="none"))
    assert view.take([4, 2, 0]).tolist() == ["c", "", "b"]
