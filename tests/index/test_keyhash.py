"""Tests of storagedb.index.keyhash: the Python and numpy hashes agree, equal
keys hash equal, and the hash values never change."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import KINDS, VALUES_BY_KIND, columns_of, key_tables, storage_column

from storagedb.errors import InvalidInputError, SchemaError
from storagedb.index.keyhash import _SEED, KEY_KINDS, _mix_in_place, hash_key, hash_key_columns


def python_hashes(kinds: list[str], rows: list[tuple]) -> list[int]:
    return [hash_key(row, kinds) for row in rows]


# -- Python and numpy agree --------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_single_column_paths_agree(kind, data):
    values = data.draw(st.lists(VALUES_BY_KIND[kind], max_size=20))
    numpy_hashes = hash_key_columns([storage_column(kind, values)], [kind])

    assert numpy_hashes.dtype == np.uint64
    assert numpy_hashes.tolist() == python_hashes([kind], [(value,) for value in values])


@settings(deadline=None, max_examples=200)
@given(table=key_tables())
def test_composite_paths_agree(table):
    kinds, rows = table
    numpy_hashes = hash_key_columns(columns_of(kinds, rows), kinds)

    assert numpy_hashes.tolist() == python_hashes(kinds, rows)


def test_strategies_cover_every_kind():
    assert set(KINDS) == KEY_KINDS


def test_bulk_hash_of_many_keys_agrees():
    rng = np.random.default_rng(20240611)
    first = rng.integers(-(2**63), 2**63 - 1, size=50_000, dtype=np.int64)
    second = rng.integers(0, 1000, size=50_000, dtype=np.int32)
    hashes = hash_key_columns([first, second], ["int64", "int32"])

    for row in range(0, 50_000, 997):
        key = (int(first[row]), int(second[row]))
        assert int(hashes[row]) == hash_key(key, ["int64", "int32"])


def test_empty_columns_give_empty_hashes():
    hashes = hash_key_columns([np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)], ["int64", "text"])

    assert hashes.dtype == np.uint64
    assert hashes.shape == (0,)


# -- equal keys hash equal -----------------------------------------------------


@given(value=st.integers(-(2**7), 2**7 - 1))
def test_integer_widths_hash_equal(value):
    expected = hash_key((value,), ["int64"])

    for kind, dtype in [("int8", np.int8), ("int16", np.int16), ("int32", np.int32), ("int64", np.int64)]:
        assert hash_key((value,), [kind]) == expected
        assert int(hash_key_columns([np.array([value], dtype=dtype)], [kind])[0]) == expected


def test_numpy_integer_scalars_hash_as_ints():
    assert hash_key((np.int32(-5),), ["int32"]) == hash_key((-5,), ["int64"])
    assert hash_key((np.uint8(1),), ["bool"]) == hash_key((True,), ["bool"])


def test_bool_values_hash_as_zero_and_one():
    assert hash_key((True,), ["bool"]) == hash_key((1,), ["bool"])
    assert hash_key((False,), ["bool"]) == hash_key((0,), ["bool"])
    as_bool_dtype = hash_key_columns([np.array([False, True])], ["bool"]).tolist()
    as_uint8 = hash_key_columns([np.array([0, 1], dtype=np.uint8)], ["bool"]).tolist()
    assert as_bool_dtype == as_uint8


@pytest.mark.parametrize("kind, dtype", [("float64", np.float64), ("float32", np.float32)])
def test_signed_zeros_hash_equal(kind, dtype):
    positive = hash_key((0.0,), [kind])

    assert hash_key((-0.0,), [kind]) == positive
    assert hash_key_columns([np.array([-0.0, 0.0], dtype=dtype)], [kind]).tolist() == [positive, positive]


def test_signed_zeros_hash_equal_in_composite_key():
    kinds = ["int64", "float64", "text"]

    assert hash_key((1, -0.0, "x"), kinds) == hash_key((1, 0.0, "x"), kinds)


@given(value=st.floats(width=32))
def test_float32_hashes_as_its_float64_value(value):
    assert hash_key((value,), ["float32"]) == hash_key((value,), ["float64"])
    column = np.array([value], dtype=np.float32)
    assert int(hash_key_columns([column], ["float32"])[0]) == hash_key((value,), ["float64"])


def test_float64_argument_finds_float32_key():
    stored = hash_key_columns([np.array([0.1], dtype=np.float32)], ["float32"])

    assert int(stored[0]) == hash_key((0.1,), ["float32"])


@given(value=st.floats())
def test_float64_values_round_alike_for_float32(value):
    column = np.array([value], dtype=np.float64)

    assert int(hash_key_columns([column], ["float32"])[0]) == hash_key((value,), ["float32"])


def test_float32_overflow_rounds_to_infinity():
    assert hash_key((1e300,), ["float32"]) == hash_key((math.inf,), ["float32"])
    assert hash_key((-1e300,), ["float32"]) == hash_key((-math.inf,), ["float32"])
    column = np.array([1e300, -1e300], dtype=np.float64)
    assert hash_key_columns([column], ["float32"]).tolist() == [
        hash_key((math.inf,), ["float32"]),
        hash_key((-math.inf,), ["float32"]),
    ]


def test_nan_hashes_without_error():
    quiet = float("nan")
    signalling_nan = struct.unpack("<d", struct.pack("<Q", 0xFFF0000000000001))[0]
    assert math.isnan(signalling_nan)

    expected = hash_key((quiet,), ["float64"])
    assert hash_key((signalling_nan,), ["float64"]) == expected
    assert hash_key((quiet,), ["float32"]) == expected
    numpy_hashes = hash_key_columns([np.array([quiet, signalling_nan])], ["float64"])
    assert numpy_hashes.tolist() == [expected, expected]


def test_text_as_bytes_hashes_like_str():
    text = "naïve 日本"

    assert hash_key((text.encode("utf-8"),), ["text"]) == hash_key((text,), ["text"])
    mixed = storage_column("text", [text, text.encode("utf-8")])
    assert hash_key_columns([mixed], ["text"]).tolist() == [hash_key((text,), ["text"])] * 2


def test_blob_list_keeps_trailing_nul():
    values = [b"a\x00", b"a"]

    assert hash_key_columns([values], ["blob"]).tolist() == [hash_key((value,), ["blob"]) for value in values]


def test_lone_surrogate_hashes_without_error():
    column = storage_column("text", ["\ud800"])

    assert hash_key(("\ud800",), ["text"]) == int(hash_key_columns([column], ["text"])[0])


def test_blob_accepts_bytearray_and_memoryview():
    expected = hash_key((b"a\x00b",), ["blob"])

    assert hash_key((bytearray(b"a\x00b"),), ["blob"]) == expected
    assert hash_key((memoryview(b"a\x00b"),), ["blob"]) == expected


# -- distinct keys hash apart ----------------------------------------------------


def test_column_order_changes_hash():
    assert hash_key((1, 2), ["int64", "int64"]) != hash_key((2, 1), ["int64", "int64"])


def test_blob_with_trailing_nul_differs():
    assert hash_key((b"a",), ["blob"]) != hash_key((b"a\x00",), ["blob"])
    assert hash_key(("",), ["text"]) != hash_key(("\x00",), ["text"])


def test_sequential_integers_have_no_collisions():
    hashes = hash_key_columns([np.arange(1_000_000, dtype=np.int64)], ["int64"])

    assert len(np.unique(hashes)) == 1_000_000


def test_sequential_integers_balance_every_bit():
    hashes = hash_key_columns([np.arange(100_000, dtype=np.int64)], ["int64"])
    # Each bit of a well-mixed hash is set in about half of the keys. With
    # 100,000 keys the standard deviation of the fraction is 0.0016.
    fractions = [float(((hashes >> np.uint64(bit)) & np.uint64(1)).mean()) for bit in range(64)]

    assert min(fractions) > 0.49
    assert max(fractions) < 0.51


def test_shared_first_column_never_collides():
    first = np.zeros(200_000, dtype=np.int64)
    second = np.arange(200_000, dtype=np.int64)
    hashes = hash_key_columns([first, second], ["int64", "int64"])

    assert len(np.unique(hashes)) == 200_000


# -- stability -------------------------------------------------------------------

#: Computed once with KEYHASH_VERSION 1. A change here means every Bloom
#: filter on disk is wrong: bump KEYHASH_VERSION instead of editing these.
PINNED_HASHES = [
    ((0,), ["int64"], 0xE220A8397B1DCDAF),
    ((1,), ["int64"], 0xE4D971771B652C20),
    ((-1,), ["int32"], 0xDE0A564CBCD060C4),
    ((2**63 - 1,), ["int64"], 0x39CA3C835068D818),
    ((1.5,), ["float64"], 0x88747B63583E67C7),
    ((0.0,), ["float64"], 0xE220A8397B1DCDAF),
    ((True,), ["bool"], 0xE4D971771B652C20),
    (("",), ["text"], 0xE16791CA09713A50),
    (("customer#000012345",), ["text"], 0x4CE5B6999CF9FF66),
    ((b"\x00\x01",), ["blob"], 0xE76DA8CB3E1F7C7C),
    ((42, "x", 2.5), ["int64", "text", "float64"], 0x112F40BF7DB0B7B1),
]


@pytest.mark.parametrize("key, kinds, expected", PINNED_HASHES)
def test_hash_matches_pinned_value(key, kinds, expected):
    assert hash_key(key, kinds) == expected


def test_mixer_matches_published_splitmix64_outputs():
    # The first five outputs of SplitMix64 seeded with 1234567, as published
    # in Rosetta Code's "Pseudo-random numbers/Splitmix64" task. Each output
    # is the finaliser applied to the state after adding the increment.
    expected = [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]
    states = (1234567 + _SEED * np.arange(1, 6, dtype=object)) % 2**64
    mixed = np.array(states.tolist(), dtype=np.uint64)
    _mix_in_place(mixed)

    assert mixed.tolist() == expected


def test_text_hash_independent_of_process_hash_seed():
    script = (
        "from storagedb.index.keyhash import hash_key\n"
        "print(hash_key(('seed test', 7), ['text', 'int64']))"
    )
    outputs = set()
    for seed in ("1", "2", "random"):
        environment = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=environment
        )
        outputs.add(result.stdout.strip())

    assert outputs == {str(hash_key(("seed test", 7), ["text", "int64"]))}


# -- errors ----------------------------------------------------------------------


def test_unknown_kind_raises_schema_error():
    with pytest.raises(SchemaError, match="'uint64'"):
        hash_key((1,), ["uint64"])
    with pytest.raises(SchemaError, match="'uint64'"):
        hash_key_columns([np.array([1])], ["uint64"])


def test_value_count_mismatch_raises():
    with pytest.raises(SchemaError, match="2 values but 1"):
        hash_key((1, 2), ["int64"])


def test_column_count_mismatch_raises():
    with pytest.raises(SchemaError, match="2 key columns but 1"):
        hash_key_columns([np.array([1]), np.array([2])], ["int64"])


def test_no_key_columns_raises():
    with pytest.raises(SchemaError, match="at least one column"):
        hash_key_columns([], [])


def test_columns_of_different_lengths_raise():
    with pytest.raises(InvalidInputError, match=r"\[2, 3\]"):
        hash_key_columns([np.array([1, 2]), np.array([1, 2, 3])], ["int64", "int64"])


def test_none_in_text_column_raises():
    with pytest.raises(InvalidInputError, match="row 1"):
        hash_key_columns([storage_column("text", ["a", None])], ["text"])


def test_none_value_raises_invalid_input():
    with pytest.raises(InvalidInputError, match="to_storage"):
        hash_key((None,), ["int64"])
    with pytest.raises(InvalidInputError, match="to_storage"):
        hash_key((None,), ["text"])
