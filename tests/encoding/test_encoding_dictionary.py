"""Order-preserving dictionaries and run accessors."""

from __future__ import annotations

import numpy as np
import pytest
from encoding_strategies import ALL_KINDS, chunk_inputs, sort_key
from hypothesis import given, settings
from hypothesis import strategies as st

from storagedb.encoding import ChunkView, encode_chunk
from storagedb.encoding.kinds import KINDS


@pytest.mark.parametrize("kind", ALL_KINDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_dictionary_code_order_equals_value_order(kind, data):
    values, nulls = data.draw(chunk_inputs(kind, max_size=60))
    view = ChunkView(encode_chunk(values, nulls, kind, encoding="dictionary"))

    entries, codes = view.dictionary()

    valid = np.ones(len(values), dtype=bool) if nulls is None else ~nulls
    info = KINDS[kind]
    if info.is_float:
        assert np.array_equal(entries[codes[valid]].view(info.bit_dtype), values[valid].view(info.bit_dtype))
    else:
        assert entries[codes[valid]].tolist() == values[valid].tolist()
    key = sort_key(kind)
    rows = np.flatnonzero(valid).tolist()
    keys = [key(item) for item in values.tolist()]
    row_codes = codes.tolist()
    for left in rows:
        for right in rows:
            assert (row_codes[left] < row_codes[right]) == (keys[left] < keys[right])
            assert (row_codes[left] == row_codes[right]) == (keys[left] == keys[right])


@pytest.mark.parametrize("kind", ALL_KINDS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_runs_sum_to_non_null_count(kind, data):
    values, nulls = data.draw(chunk_inputs(kind))
    encoding = data.draw(st.sampled_from(["rle", "dictionary"]))
    view = ChunkView(encode_chunk(values, nulls, kind, encoding=encoding))

    runs = view.runs()

    if view.encoding == "dictionary+bitpack":
        assert runs is None
        return
    run_values, run_lengths = runs
    assert int(run_lengths.sum()) == view.row_count - view.null_count
    assert (run_lengths >= 1).all()
    valid = np.ones(len(values), dtype=bool) if nulls is None else ~nulls
    expanded = np.repeat(run_values, run_lengths)
    if KINDS[kind].is_float:
        bit_dtype = KINDS[kind].bit_dtype
        assert np.array_equal(expanded.view(bit_dtype), values[valid].view(bit_dtype))
    else:
        assert expanded.tolist() == values[valid].tolist()


def test_dictionary_is_none_for_other_encodings():
    view = ChunkView(encode_chunk(np.arange(10), None, "int64", encoding="plain"))
    assert view.dictionary() is None
    assert view.runs() is None


def test_dictionary_codes_answer_a_range_predicate():
    values = np.array([30, 10, 20, 40, 20, 10], dtype=np.int32)
    nulls = np.array([False, False, True, False, False, False])
    entries, codes = ChunkView(encode_chunk(values, nulls, "int32", encoding="dictionary")).dictionary()

    low = np.searchsorted(entries, 15, side="left")
    high = np.searchsorted(entries, 30, side="right")
    selected = (codes >= low) & (codes < high) & ~nulls

    assert np.flatnonzero(selected).tolist() == [0, 4]


def test_text_dictionary_sorts_by_code_point():
    values = np.array(["b", "é", "a", "Z", "😀", "ab"], dtype=object)
    entries, codes = ChunkView(encode_chunk(values, None, "text", encoding="dictionary")).dictionary()
    assert entries.tolist() == sorted(values.tolist())
    assert entries[codes].tolist() == values.tolist()


def test_codes_have_one_entry_per_row_with_nulls():
    values = np.array(["x", "", "y"], dtype=object)
    nulls = np.array([False, True, False])
    entries, codes = ChunkView(encode_chunk(values, nulls, "text", encoding="dictionary")).dictionary()
    assert len(codes) == 3
    assert codes.dtype == np.int32
    assert entries.tolist() == ["x", "y"]


def test_dictionary_with_run_length_codes():
    values = np.repeat(np.array(["cc", "aa", "bb"], dtype=object), 1000)
    view = ChunkView(encode_chunk(values, None, "text", encoding="dictionary", compression="none"))
    assert view.encoding == "dictionary+rle"
    entries, codes = view.dictionary()
    assert entries.tolist() == ["aa", "bb", "cc"]
    run_values, run_lengths = view.runs()
    assert run_values.tolist() == ["cc", "aa", "bb"]
    assert run_lengths.tolist() == [1000, 1000, 1000]
