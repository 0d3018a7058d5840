import datetime as dt
import decimal
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storagedb.batch import ColumnData
from storagedb.errors import CorruptPageError
from storagedb.record import RecordCodec
from storagedb.schema import Schema
from storagedb.types import parse_type

ALL_TYPES = [
    "int8", "int16", "int32", "int64", "float32", "float64", "bool", "date", "timestamp",
    "decimal(12,2)", "text", "blob",
]


def value_strategy(type_name):
    ctype = parse_type(type_name)
    base = ctype.base
    if base.startswith("int"):
        bits = int(base[3:])
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if base == "float32":
        return st.floats(width=32, allow_nan=False)
    if base == "float64":
        return st.floats(allow_nan=False)
    if base == "bool":
        return st.booleans()
    if base == "date":
        return st.dates().map(lambda d: ctype.to_storage(d))
    if base == "timestamp":
        return st.integers(-(10**15), 10**15)
    if base == "decimal":
        return st.integers(-(10**12) + 1, 10**12 - 1)
    if base == "text":
        return st.text(max_size=40)
    return st.binary(max_size=40)


@st.composite
def tables(draw):
    names = draw(st.lists(st.sampled_from(ALL_TYPES), min_size=1, max_size=12))
    schema = Schema.build([(f"c{i}", t) for i, t in enumerate(names)])
    count = draw(st.integers(0, 30))
    rows = [
        tuple(draw(st.one_of(st.none(), value_strategy(t))) for t in names)
        for _ in range(count)
    ]
    return schema, rows


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return a == b


def normalise(schema, row):
    out = []
    for column, value in zip(schema.columns, row):
        if value is not None and column.type.base == "float32":
            value = float(np.float32(value))
        if value is not None and column.type.base == "bool":
            value = bool(value)
        out.append(value)
    return tuple(out)


@settings(max_examples=150, deadline=None)
@given(tables())
def test_record_round_trip_one_at_a_time(table):
    schema, rows = table
    codec = RecordCodec(schema)
    for row in rows:
        decoded = codec.decode(codec.encode(row))
        expected = normalise(schema, row)
        assert all(same(a, b) for a, b in zip(decoded, expected)), (decoded, expected)


def to_columns(schema, rows):
    columns = []
    for index, column in enumerate(schema.columns):
        raw = [row[index] for row in rows]
        nulls = np.array([v is None for v in raw], dtype=bool)
        dtype = column.type.storage_dtype
        if dtype == object:
            filler = "" if column.type.base == "text" else b""
            values = np.empty(len(raw), dtype=object)
            values[:] = [filler if v is None else v for v in raw]
        else:
            values = np.array([0 if v is None else v for v in raw], dtype=dtype)
        columns.append(ColumnData(values, nulls if nulls.any() else None))
    return columns


@settings(max_examples=150, deadline=None)
@given(tables())
def test_vectorised_encode_equals_scalar_encode(table):
    schema, rows = table
    codec = RecordCodec(schema)
    data, offsets = codec.encode_columns(to_columns(schema, rows), len(rows))
    for i, row in enumerate(rows):
        assert data[offsets[i] : offsets[i + 1]].tobytes() == codec.encode(normalise(schema, row))


@settings(max_examples=150, deadline=None)
@given(tables(), st.data())
def test_vectorised_decode_matches_rows(table, data):
    schema, rows = table
    codec = RecordCodec(schema)
    encoded, offsets = codec.encode_columns(to_columns(schema, rows), len(rows))
    # Scatter the records into a bigger buffer at random gaps.
    gaps = data.draw(st.lists(st.integers(0, 9), min_size=len(rows), max_size=len(rows)))
    flat = bytearray()
    positions = []
    for i in range(len(rows)):
        flat += b"\xee" * gaps[i]
        positions.append(len(flat))
        flat += encoded[offsets[i] : offsets[i + 1]].tobytes()
    flat = np.frombuffer(bytes(flat), dtype=np.uint8)
    positions = np.array(positions, dtype=np.int64)
    lengths = np.diff(offsets)
    wanted = list(range(len(schema.columns)))
    columns = codec.decode_columns(flat, positions, lengths, wanted)
    for i, row in enumerate(rows):
        expected = normalise(schema, row)
        for index, column in enumerate(columns):
            is_null = column.nulls is not None and column.nulls[i]
            if expected[index] is None:
                assert is_null
            else:
                assert not is_null
                got = column.values[i]
                got = got.item() if hasattr(got, "item") else got
                if schema.columns[index].type.base == "bool":
                    got = bool(got)
                assert same(got, expected[index])


def test_key_of_reordered_key_columns():
    schema = Schema.build(
        [("name", "text"), ("b", "int32"), ("a", "int64"), ("when", "date")], primary_key=["a", "b"]
    )
    codec = RecordCodec(schema)
    record = codec.encode(("x", 7, 99, 3))
    assert codec.key_of(record, 0) == (99, 7)


def test_key_of_text_key():
    schema = Schema.build([("k", "text"), ("v", "int64")], primary_key="k")
    codec = RecordCodec(schema)
    assert codec.key_of(codec.encode(("héllo", 1)), 0) == ("héllo",)


def test_fixed_part_size_and_offsets():
    schema = Schema.build([("a", "int64"), ("b", "text"), ("c", "int32"), ("d", "blob"), ("e", "bool")])
    codec = RecordCodec(schema)
    assert codec.fixed_size == 1 + 8 + 4 + 1 + 4 + 4
    assert codec.field_offsets == [1, 14, 9, 18, 13]


def test_decode_rejects_bad_variable_length_offsets():
    schema = Schema.build([("n", "int32"), ("t", "text"), ("b", "blob")])
    codec = RecordCodec(schema)
    record = bytearray(codec.encode((5, "abc", b"xy")))
    ends = codec.var_ends_offset
    assert codec.decode(record) == (5, "abc", b"xy")
    damaged = bytearray(record)
    damaged[ends + 4 : ends + 8] = (2).to_bytes(4, "little")  # the blob ends before the text does
    with pytest.raises(CorruptPageError, match="offsets are invalid"):
        codec.decode(damaged)
    damaged = bytearray(record)
    damaged[ends + 4 : ends + 8] = (99).to_bytes(4, "little")  # past the end of the record
    with pytest.raises(CorruptPageError, match="offsets are invalid"):
        codec.decode(memoryview(damaged))
    damaged = bytearray(record)
    damaged[codec.fixed_size] = 0xFF  # the text's first byte is no longer UTF-8
    with pytest.raises(CorruptPageError, match="invalid UTF-8"):
        codec.decode(damaged)
    with pytest.raises(CorruptPageError, match="shorter than"):
        codec.decode(record[: codec.fixed_size - 1])


def test_decode_applies_nulls_and_bools_after_reordering():
    schema = Schema.build([("t", "text"), ("flag", "bool"), ("n", "int64"), ("b", "blob"), ("f", "bool")])
    codec = RecordCodec(schema)
    for row in [("x", True, 3, b"", False), (None, None, None, None, None), ("", False, None, b"\0", True)]:
        decoded = codec.decode(memoryview(codec.encode(row)))
        assert decoded == row
        assert [type(value) for value in decoded] == [type(value) for value in row]
