"""Round-trips of random tables through Python's csv module and DelimitedReader."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storagedb.csvio import DelimitedReader
from storagedb.types import parse_type

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
ZONES = [None, UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8))]

# Text without lone surrogates, which UTF-8 cannot encode. It includes
# 4-byte characters, NUL, CR, LF, quotes and delimiters.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(['"', ",", "\n", "\r", "\t", " ", "\x00", "\U0001f600", "é"]),
    ),
    max_size=12,
)


def value_strategy(type_name: str) -> st.SearchStrategy:
    """Values of one column type in Python form, None for NULL."""
    if type_name == "int64":
        values = st.integers(-(2**63), 2**63 - 1)
    elif type_name.startswith("decimal"):
        scale = parse_type(type_name).scale
        limit = decimal.Decimal(10) ** (18 - scale) - decimal.Decimal(1).scaleb(-scale)
        values = st.decimals(min_value=-limit, max_value=limit, places=scale, allow_nan=False, allow_infinity=False)
    elif type_name == "float64":
        values = st.floats(allow_nan=True, allow_infinity=True)
    elif type_name == "bool":
        values = st.booleans()
    elif type_name == "date":
        values = st.dates()
    elif type_name == "timestamp":
        values = st.datetimes(
            min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31), timezones=st.sampled_from(ZONES)
        )
    elif type_name == "blob":
        values = st.binary(max_size=8)
    else:
        values = TEXT
    return st.none() | values


TYPE_NAMES = ["int64", "decimal(18,0)", "decimal(18,2)", "decimal(18,5)", "float64", "bool", "date", "timestamp", "text", "blob"]


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[tuple]]:
    types = draw(st.lists(st.sampled_from(TYPE_NAMES), min_size=1, max_size=6))
    rows = draw(st.lists(st.tuples(*[value_strategy(name) for name in types]), max_size=25))
    return types, rows


def csv_field(value: object) -> str:
    """Format one value the way csv.writer quotes it; NULL is an empty unquoted field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, decimal.Decimal):
        value = f"{value:f}"
    elif isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    elif isinstance(value, bytes):
        value = value.hex()
    out = io.StringIO()
    # With "\r\n" as line terminator csv.writer quotes values containing CR
    # or LF; the terminator is cut off again.
    csv.writer(out, lineterminator="\r\n").writerow([value])
    return out.getvalue()[:-2]


def expected_storage(type_name: str, value: object) -> object:
    """The storage form DelimitedReader should produce for a Python value."""
    if value is None:
        return None
    if type_name.startswith("decimal"):
        return int(value.scaleb(parse_type(type_name).scale))
    if type_name == "bool":
        return int(value)
    if type_name == "date":
        return (value - dt.date(1970, 1, 1)).days
    if type_name == "timestamp":
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (aware - EPOCH) // dt.timedelta(microseconds=1)
    return value


def write_table(path, types: list[str], rows: list[tuple], line_end: str, final_line_end: bool, bom: bool) -> list[int]:
    """Write a header and rows; return the line on which each row starts."""
    lines = [",".join(f"c{index}" for index in range(len(types)))]
    starts = []
    line = 2
    for row in rows:
        text = ",".join(csv_field(value) for value in row)
        starts.append(line)
        line += text.count("\n") + 1
        lines.append(text)
    # An empty last line without a line end is no line at all.
    final_line_end = final_line_end or lines[-1] == ""
    body = line_end.join(lines) + (line_end if final_line_end else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8"))
    return starts


def same_value(found: object, expected: object) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(found, float) and math.isnan(found)
    return found == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=tables(),
    line_end=st.sampled_from(["\n", "\r\n"]),
    final_line_end=st.booleans(),
    bom=st.booleans(),
    batch_bytes=st.sampled_from([1, 40, 300, 64 << 20]),
)
def test_roundtrip_matches_written_values(tmp_path, table, line_end, final_line_end, bom, batch_bytes):
    types, rows = table
    path = tmp_path / "table.csv"
    starts = write_table(path, types, rows, line_end, final_line_end, bom)
    columns = [(f"c{index}", name) for index, name in enumerate(types)]

    reader = DelimitedReader(path, columns=columns, batch_bytes=batch_bytes)
    batches = list(reader)
    assert sum(batch.row_count for batch in batches) == len(rows)
    if not rows:
        return
    assert [int(line) for batch in batches for line in batch.line_numbers] == starts

    for index, name in enumerate(types):
        values = []
        for batch in batches:
            array = batch.arrays[index].tolist()
            nulls = batch.nulls[index]
            values += [None if nulls is not None and nulls[row] else array[row] for row in range(batch.row_count)]
        expected = [expected_storage(name, row[index]) for row in rows]
        for row, (found, wanted) in enumerate(zip(values, expected)):
            assert same_value(found, wanted), (name, row, found, wanted)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(TEXT, TEXT, TEXT), max_size=20),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_roundtrip_text_agrees_with_csv_reader(tmp_path, rows, line_end):
    path = tmp_path / "text.csv"
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    # csv.writer ends lines with CR LF so that it quotes values containing a
    # CR. An LF-only file replaces only the line ends, outside quotes.
    data = "".join(line + line_end for line in _split_csv_lines(out.getvalue()))
    path.write_bytes(data.encode("utf-8"))

    with open(path, newline="", encoding="utf-8") as file:
        expected = list(csv.reader(file))[1:]
    batches = list(DelimitedReader(path, columns=[("a", "text"), ("b", "text"), ("c", "text")], batch_bytes=64))
    found = []
    for batch in batches:
        for row in range(batch.row_count):
            # csv.reader cannot tell NULL from "", so compare NULL as "".
            found.append([batch.arrays[column][row] or "" for column in range(3)])
    assert found == expected


def _split_csv_lines(data: str) -> list[str]:
    """Split csv.writer output at its CR LF line ends, never inside quotes."""
    lines = []
    current = []
    in_quotes = False
    index = 0
    while index < len(data):
        char = data[index]
        if char == '"':
            in_quotes = not in_quotes
        if not in_quotes and data.startswith("\r\n", index):
            lines.append("".join(current))
            current = []
            index += 2
            continue
        current.append(char)
        index += 1
    return lines


def test_roundtrip_empty_string_and_null_differ(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text('id,name,score\n1,"",""\n2,,\n')
    batch = next(iter(DelimitedReader(path, columns=[("id", "int64"), ("name", "text"), ("score", "int32")])))
    assert batch.arrays[1].tolist() == ["", None]
    assert batch.nulls[1].tolist() == [False, True]
    # A quoted empty field is NULL in every type but text.
    assert batch.nulls[2].tolist() == [True, True]
    assert np.array_equal(batch.arrays[2], np.array([0, 0], dtype=np.int32))
