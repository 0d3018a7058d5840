"""Conversion of declared column types, checked against Python's own parsers."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storagedb.csvio import DelimitedReader, datetimes, spans
from storagedb.errors import LoadError

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def read_column(tmp_path, type_name: str, texts: list[str]) -> list:
    """Write one column of raw field texts and read it back as ``type_name``."""
    path = tmp_path / "column.csv"
    path.write_text("value\n" + "".join(text + "\n" for text in texts), encoding="utf-8")
    values = []
    for batch in DelimitedReader(path, columns=[("value", type_name)]):
        array = batch.arrays[0].tolist()
        nulls = batch.nulls[0]
        values += [None if nulls is not None and nulls[row] else array[row] for row in range(batch.row_count)]
    return values


def test_types_integer_limits(tmp_path):
    for name, low, high in [
        ("int8", -(2**7), 2**7 - 1),
        ("int16", -(2**15), 2**15 - 1),
        ("int32", -(2**31), 2**31 - 1),
        ("int64", -(2**63), 2**63 - 1),
    ]:
        assert read_column(tmp_path, name, [str(low), str(high), "0", "-0", "+7", ""]) == [low, high, 0, 0, 7, None]
        for outside in (low - 1, high + 1):
            with pytest.raises(LoadError, match="out of range"):
                read_column(tmp_path, name, [str(outside)])


def test_types_integer_leading_zeros(tmp_path):
    assert read_column(tmp_path, "int64", ["0" * 30 + "42", "-00017"]) == [42, -17]


def test_types_decimal_nineteen_significant_digits(tmp_path):
    # 19 digits with a point in between still parse; the precision check rejects them.
    with pytest.raises(LoadError, match="more than 18 digits"):
        read_column(tmp_path, "decimal(18,1)", ["123456789012345678.9"])
    assert read_column(tmp_path, "decimal(18,18)", ["0.000000000000000001000"]) == [1]


def test_types_integer_too_many_digits(tmp_path):
    with pytest.raises(LoadError, match="int64 value out of range"):
        read_column(tmp_path, "int64", ["1" + "0" * 25])


@pytest.mark.parametrize("text", ["", "-", "+", "1-2", "--1", "1e3", "0x10", "1_000", "١٢"])
def test_types_integer_rejects(tmp_path, text):
    if text == "":
        assert read_column(tmp_path, "int32", [text]) == [None]
        return
    with pytest.raises(LoadError, match="invalid int32 value"):
        read_column(tmp_path, "int32", [text])


@HYPOTHESIS
@given(numbers=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=30))
def test_types_integer_matches_python_int(tmp_path, numbers):
    assert read_column(tmp_path, "int64", [str(number) for number in numbers]) == numbers


def test_types_decimal_forms(tmp_path):
    texts = ["1.5", "-0.5", ".25", "5.", "+3", "1.500", "-0.00", "99999.99"]
    assert read_column(tmp_path, "decimal(7,2)", texts) == [150, -50, 25, 500, 300, 150, 0, 9999999]


def test_types_decimal_max_precision(tmp_path):
    texts = ["999999999999999999", "-999999999999999999"]
    assert read_column(tmp_path, "decimal(18,0)", texts) == [10**18 - 1, -(10**18 - 1)]
    with pytest.raises(LoadError, match="more than 18 digits"):
        read_column(tmp_path, "decimal(18,0)", ["1000000000000000000"])


@HYPOTHESIS
@given(
    scale=st.integers(0, 6),
    numbers=st.lists(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False), min_size=1, max_size=30),
)
def test_types_decimal_matches_python_decimal(tmp_path, scale, numbers):
    texts = [f"{number.quantize(decimal.Decimal(1).scaleb(-scale)):f}" for number in numbers]
    expected = [int(decimal.Decimal(text).scaleb(scale)) for text in texts]
    assert read_column(tmp_path, f"decimal(18,{scale})", texts) == expected


@HYPOTHESIS
@given(numbers=st.lists(st.floats(allow_nan=False), min_size=1, max_size=30))
def test_types_float_matches_python_float(tmp_path, numbers):
    texts = [repr(number) for number in numbers]
    assert read_column(tmp_path, "float64", texts) == [float(text) for text in texts]


def test_types_float_special_values(tmp_path):
    values = read_column(tmp_path, "float64", ["nan", "-inf", "Infinity", "1E-3", ".5", "7", "-0.0"])
    assert np.isnan(values[0])
    assert values[1:] == [float("-inf"), float("inf"), 0.001, 0.5, 7.0, -0.0]


@pytest.mark.parametrize("text", ["1.5.5", "e5", "1e", "inf1", "1 5", "0x1p3", "1_0"])
def test_types_float_rejects(tmp_path, text):
    with pytest.raises(LoadError, match="invalid float64 value"):
        read_column(tmp_path, "float64", [text])


def test_types_nul_byte_inside_number_or_bool(tmp_path):
    path = tmp_path / "nul.csv"
    for type_name, text in [("float64", b"1\x002"), ("bool", b"t\x00"), ("int64", b"1\x00")]:
        path.write_bytes(b"value\n" + text + b"\n")
        with pytest.raises(LoadError, match=f"invalid {type_name} value"):
            list(DelimitedReader(path, columns=[("value", type_name)]))


def test_types_float32_rounds(tmp_path):
    assert read_column(tmp_path, "float32", ["0.1"]) == [float(np.float32(0.1))]


def test_types_bool_words(tmp_path):
    texts = ["true", "FALSE", "T", "f", "yes", "No", "y", "N", "1", "0", ""]
    expected = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, None]
    assert read_column(tmp_path, "bool", texts) == expected


@HYPOTHESIS
@given(days=st.lists(st.dates(), min_size=1, max_size=30))
def test_types_date_matches_python_date(tmp_path, days):
    expected = [(day - dt.date(1970, 1, 1)).days for day in days]
    assert read_column(tmp_path, "date", [day.isoformat() for day in days]) == expected


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2000-02-29", True),
        ("2020-02-29", True),
        ("1900-02-29", False),
        ("2019-02-29", False),
        ("2021-04-31", False),
        ("2021-12-31", True),
        ("2021-13-01", False),
        ("2021-00-10", False),
        ("2021-01-00", False),
        ("0000-01-01", False),
        ("0001-01-01", True),
        ("9999-12-31", True),
    ],
)
def test_types_date_calendar(tmp_path, text, valid):
    if valid:
        expected = (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days
        assert read_column(tmp_path, "date", [text]) == [expected]
    else:
        with pytest.raises(LoadError, match="invalid date"):
            read_column(tmp_path, "date", [text])


def micros(moment: dt.datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31T12:34:56Z",
        "2024-01-31t12:34:56z",
        "2024-01-31 12:34:56",
        "2024-01-31T12:34",
        "2024-01-31T12:34:56.5",
        "2024-01-31T12:34:56.123",
        "2024-01-31T12:34:56.123456",
        "2024-01-31T12:34:56+05:30",
        "2024-01-31T12:34:56-0800",
        "2024-01-31T12:34:56.25+01",
        "2024-01-31T00:30:00+01:00",
        "2024-01-31",
        "1969-12-31T23:59:59.999999Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
    ],
)
def test_types_timestamp_forms(tmp_path, text):
    python_text = text.replace("z", "Z").replace("t", "T").replace("Z", "+00:00")
    expected = micros(dt.datetime.fromisoformat(python_text))
    assert read_column(tmp_path, "timestamp", [text]) == [expected]


def test_types_timestamp_window_fits_padding():
    assert datetimes.MAX_TIMESTAMP_BYTES + datetimes._LOOKAHEAD <= spans.PAD


def test_types_timestamp_nanosecond_zeros(tmp_path):
    assert read_column(tmp_path, "timestamp", ["2024-01-31T12:00:00.123456000Z"]) == [
        micros(dt.datetime(2024, 1, 31, 12, 0, 0, 123456, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31T12",
        "2024-01-31T12:3",
        "2024-01-31T12:34:5",
        "2024-01-31T12:34:56.",
        "2024-01-31T12:34.5",
        "2024-01-31T12:34:56+5",
        "2024-01-31T12:34:56 Z",
        "2024-01-31X12:34:56",
        "2024-01-31T25:00:00",
        "2024-01-31T12:60:00",
        "2024-02-30T12:00:00",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_types_timestamp_rejects(tmp_path, text):
    with pytest.raises(LoadError, match="timestamp"):
        read_column(tmp_path, "timestamp", [text])


@HYPOTHESIS
@given(
    moments=st.lists(
        st.datetimes(
            min_value=dt.datetime(2, 1, 1),
            max_value=dt.datetime(9998, 12, 31),
            timezones=st.sampled_from([None, UTC, dt.timezone(dt.timedelta(hours=-3, minutes=-30))]),
        ),
        min_size=1,
        max_size=30,
    ),
    separator=st.sampled_from(["T", " "]),
)
def test_types_timestamp_matches_python_datetime(tmp_path, moments, separator):
    texts = [moment.isoformat(sep=separator) for moment in moments]
    assert read_column(tmp_path, "timestamp", texts) == [micros(moment) for moment in moments]


def test_types_blob_hex(tmp_path):
    texts = ["\\x0aff", "ABCD", '""', ""]
    assert read_column(tmp_path, "blob", texts) == [b"\n\xff", b"\xab\xcd", b"", None]


@pytest.mark.parametrize("text", ["abc", "\\x0", "zz", "\\xzz"])
def test_types_blob_rejects(tmp_path, text):
    with pytest.raises(LoadError, match="invalid blob value"):
        read_column(tmp_path, "blob", [text])


def test_types_text_keeps_blanks_and_unicode(tmp_path):
    texts = [" padded ", '"a, b"', '""', "", "\U0001f600 ok", '"say ""hi"""']
    assert read_column(tmp_path, "text", texts) == [" padded ", "a, b", "", None, "\U0001f600 ok", 'say "hi"']


def test_types_text_with_nul_bytes(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b'value\na\x00b\n"c\x00""d"\n')
    batch = next(iter(DelimitedReader(path, columns=[("value", "text")])))
    assert batch.arrays[0].tolist() == ["a\x00b", 'c\x00"d']
