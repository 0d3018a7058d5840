"""Round-trip properties: every encoding, every kind it supports, every compression."""

from __future__ import annotations

import numpy as np
import pytest
from encoding_strategies import (
    ALL_KINDS,
    COMPRESSIONS,
    SUPPORTED_PAIRS,
    assert_same_values,
    chunk_inputs,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from storagedb.encoding import ChunkView, decode_chunk, encode_chunk


@pytest.mark.parametrize(("encoding", "kind"), SUPPORTED_PAIRS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_forced_encoding_round_trips(encoding, kind, data):
    values, nulls = data.draw(chunk_inputs(kind))
    compression = data.draw(st.sampled_from(COMPRESSIONS))

    chunk = encode_chunk(values, nulls, kind, encoding=encoding, compression=compression)
    found, found_nulls = decode_chunk(chunk)

    expected_nulls = nulls if nulls is not None and nulls.any() else None
    if expected_nulls is None:
        assert found_nulls is None
    else:
        assert np.array_equal(found_nulls, expected_nulls)
    assert_same_values(values, found, expected_nulls, kind)
    view = ChunkView(chunk)
    assert view.encoding.split("+")[0] == encoding
    assert view.row_count == len(values)


@pytest.mark.parametrize("kind", ALL_KINDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_auto_encoding_round_trips(kind, data):
    values, nulls = data.draw(chunk_inputs(kind, max_size=400))
    compression = data.draw(st.sampled_from(COMPRESSIONS))

    chunk = encode_chunk(values, nulls, kind, compression=compression)
    found, found_nulls = decode_chunk(chunk)

    expected_nulls = nulls if nulls is not None and nulls.any() else None
    assert_same_values(values, found, expected_nulls, kind)
    view = ChunkView(chunk)
    assert view.stored_bytes == len(chunk)
    assert view.null_count == (0 if expected_nulls is None else int(expected_nulls.sum()))


@pytest.mark.parametrize("kind", ALL_KINDS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_take_matches_values(kind, data):
    values, nulls = data.draw(chunk_inputs(kind))
    encoding = data.draw(st.sampled_from(["auto", "plain", "dictionary", "rle"]))
    chunk = encode_chunk(values, nulls, kind, encoding=encoding)
    view = ChunkView(chunk)
    everything = view.values()
    if len(values) == 0:
        assert len(view.take(np.zeros(0, dtype=np.int64))) == 0
        return
    positions = np.array(
        data.draw(st.lists(st.integers(0, len(values) - 1), max_size=30)), dtype=np.int64
    )

    taken = view.take(positions)

    assert_same_values(everything[positions], taken, None, kind)
