"""One test per kind of bad input: each must raise LoadError naming file and line."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storagedb.csvio import DelimitedReader
from storagedb.errors import LoadError


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def read_all(path, **options) -> list:
    return list(DelimitedReader(path, **options))


def load_error(path, **options) -> str:
    with pytest.raises(LoadError) as caught:
        read_all(path, **options)
    return str(caught.value)


def test_error_ragged_row(tmp_path):
    path = write(tmp_path, "ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n")
    message = load_error(path)
    assert message.startswith(f"{path}:3: ")
    assert "expected 3 fields, found 2" in message


def test_error_ragged_row_with_extra_field(tmp_path):
    path = write(tmp_path, "extra.csv", "a,b\n1,2\n3,4,5\n")
    message = load_error(path, columns=[("a", "int64"), ("b", "int64")])
    assert message.startswith(f"{path}:3: ")
    assert "expected 2 fields, found 3" in message


def test_error_bad_int(tmp_path):
    path = write(tmp_path, "bad_int.csv", "id,qty\n1,5\n2,12a\n")
    message = load_error(path, columns=[("id", "int64"), ("qty", "int32")])
    assert message == f"{path}:3: column 'qty': invalid int32 value: '12a'"


def test_error_int_with_blanks(tmp_path):
    path = write(tmp_path, "blank_int.csv", "qty\n 12\n")
    message = load_error(path, columns=[("qty", "int64")])
    assert message == f"{path}:2: column 'qty': invalid int64 value: ' 12'"


def test_error_int8_out_of_range(tmp_path):
    path = write(tmp_path, "int8.csv", "small\n127\n-128\n300\n")
    message = load_error(path, columns=[("small", "int8")])
    assert message == f"{path}:4: column 'small': int8 value out of range -128..127: '300'"


def test_error_int64_out_of_range(tmp_path):
    path = write(tmp_path, "int64.csv", "big\n9223372036854775807\n9223372036854775808\n")
    message = load_error(path, columns=[("big", "int64")])
    assert message.startswith(f"{path}:3: column 'big': int64 value out of range")


def test_error_integer_with_point(tmp_path):
    path = write(tmp_path, "point.csv", "n\n5.0\n")
    message = load_error(path, columns=[("n", "int16")])
    assert message == f"{path}:2: column 'n': invalid int16 value (not an integer): '5.0'"


def test_error_decimal_too_many_digits(tmp_path):
    path = write(tmp_path, "decimal.csv", "price\n999.99\n1000.00\n")
    message = load_error(path, columns=[("price", "decimal(5,2)")])
    assert message == f"{path}:3: column 'price': decimal(5,2) value has more than 5 digits: '1000.00'"


def test_error_decimal_too_many_fraction_digits(tmp_path):
    path = write(tmp_path, "fraction.csv", "price\n1.50\n1.500\n1.505\n")
    message = load_error(path, columns=[("price", "decimal(10,2)")])
    assert message == f"{path}:4: column 'price': decimal(10,2) value has more than 2 digits after the point: '1.505'"


def test_error_invalid_date(tmp_path):
    path = write(tmp_path, "date.csv", "day\n1996-02-29\n1996-02-30\n")
    message = load_error(path, columns=[("day", "date")])
    assert message == f"{path}:3: column 'day': invalid date (no such day): '1996-02-30'"


def test_error_date_of_wrong_shape(tmp_path):
    path = write(tmp_path, "date_shape.csv", "day\n1996-2-3\n")
    message = load_error(path, columns=[("day", "date")])
    assert message == f"{path}:2: column 'day': invalid date value (expected YYYY-MM-DD): '1996-2-3'"


def test_error_invalid_timestamp(tmp_path):
    path = write(tmp_path, "ts.csv", "at\n2024-01-31T12:00:00Z\n2024-01-31T24:00:00Z\n")
    message = load_error(path, columns=[("at", "timestamp")])
    assert message.startswith(f"{path}:3: column 'at': invalid timestamp")
    assert "'2024-01-31T24:00:00Z'" in message


def test_error_timestamp_finer_than_microseconds(tmp_path):
    path = write(tmp_path, "ns.csv", "at\n2024-01-31T12:00:00.123456789\n")
    message = load_error(path, columns=[("at", "timestamp")])
    assert message == f"{path}:2: column 'at': timestamp value finer than microseconds: '2024-01-31T12:00:00.123456789'"


def test_error_bad_float(tmp_path):
    path = write(tmp_path, "float.csv", "x\n1.5\n1.5.5\n")
    message = load_error(path, columns=[("x", "float64")])
    assert message == f"{path}:3: column 'x': invalid float64 value: '1.5.5'"


def test_error_float32_overflow(tmp_path):
    path = write(tmp_path, "float32.csv", "x\n1e39\n")
    message = load_error(path, columns=[("x", "float32")])
    assert message == f"{path}:2: column 'x': float32 value out of range: '1e39'"


def test_error_bad_bool(tmp_path):
    path = write(tmp_path, "bool.csv", "flag\ntrue\nmaybe\n")
    message = load_error(path, columns=[("flag", "bool")])
    assert message == f"{path}:3: column 'flag': invalid bool value (expected true or false): 'maybe'"


def test_error_bad_blob(tmp_path):
    path = write(tmp_path, "blob.csv", "data\n\\x0aff\nabc\n")
    message = load_error(path, columns=[("data", "blob")])
    assert message.startswith(f"{path}:3: column 'data': invalid blob value")


def test_error_invalid_utf8(tmp_path):
    path = write(tmp_path, "utf8.csv", b"id,name\n1,ok\n2,caf\xe9\n")
    message = load_error(path)
    assert message == f"{path}:3: column 'name': invalid UTF-8 in text value: b'caf\\xe9'"


def test_error_invalid_utf8_in_quoted_multiline_value(tmp_path):
    path = write(tmp_path, "utf8_multi.csv", b'id,name\n1,"line one\nline two"\n2,"bad\n\xff"\n')
    message = load_error(path, columns=[("id", "int64"), ("name", "text")])
    assert message.startswith(f"{path}:4: column 'name': invalid UTF-8")


def test_error_invalid_utf8_in_header(tmp_path):
    path = write(tmp_path, "utf8_header.csv", b"id,n\xffme\n1,2\n")
    message = load_error(path)
    assert message.startswith(f"{path}:1: column 2 of the header is not valid UTF-8")


def test_error_unterminated_quote_at_eof(tmp_path):
    path = write(tmp_path, "quote.csv", 'id,name\n1,"ok"\n2,"never closed\nmore text\n')
    message = load_error(path)
    assert message.startswith(f"{path}:3: unterminated quoted field")


def test_error_unterminated_quote_with_small_batches(tmp_path):
    path = write(tmp_path, "quote_small.csv", 'id,name\n1,a\n2,b\n3,"open\n4,d\n5,e\n')
    message = load_error(path, columns=[("id", "int64"), ("name", "text")], batch_bytes=4)
    assert message.startswith(f"{path}:4: unterminated quoted field")


def test_error_quote_inside_unquoted_field(tmp_path):
    path = write(tmp_path, "stray.csv", 'id,size\n1,big\n2,5" screen\n')
    message = load_error(path)
    assert message.startswith(f"{path}:3: a quote inside an unquoted field")


def test_error_text_after_closing_quote(tmp_path):
    path = write(tmp_path, "after.csv", 'id,name\n1,"ab"c\n')
    message = load_error(path)
    assert message.startswith(f"{path}:2: text after the closing quote")


def test_error_later_batch_contradicts_inference(tmp_path):
    rows = "".join(f"{index},{index * 10}\n" for index in range(50))
    path = write(tmp_path, "later.csv", "id,qty\n" + rows + "50,lots\n")
    reader = DelimitedReader(path, batch_bytes=64)
    assert [ctype.name for ctype in reader.types] == ["int64", "int64"]
    with pytest.raises(LoadError) as caught:
        list(reader)
    message = str(caught.value)
    assert message.startswith(f"{path}:52: column 'qty': invalid int64 value: 'lots'")
    assert re.search(r"inferred from lines 2-\d+", message)
    assert "--columns" in message


def test_error_inferred_date_that_does_not_exist(tmp_path):
    path = write(tmp_path, "inferred_date.csv", "day\n2020-01-01\n2021-02-29\n")
    message = load_error(path)
    assert message.startswith(f"{path}:3: column 'day': invalid date (no such day): '2021-02-29'")
    assert "--columns" in message


def test_error_earliest_line_wins_across_columns(tmp_path):
    path = write(tmp_path, "earliest.csv", "a,b\n1,2\n1,x\ny,2\n")
    message = load_error(path, columns=[("a", "int64"), ("b", "int64")])
    assert message.startswith(f"{path}:3: column 'b'")


def test_error_header_count_differs_from_columns(tmp_path):
    path = write(tmp_path, "header.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(LoadError, match=r"the header has 3 fields but 2 columns are expected \(a, b\)"):
        DelimitedReader(path, columns=[("a", "int64"), ("b", "int64")])


def test_error_duplicate_header_name(tmp_path):
    path = write(tmp_path, "dup.csv", "a,b,a\n1,2,3\n")
    with pytest.raises(LoadError, match="names column 'a' twice"):
        DelimitedReader(path)


def test_error_empty_header_name(tmp_path):
    path = write(tmp_path, "unnamed.csv", ",b\n1,2\n")
    with pytest.raises(LoadError, match="column 1 of the header has an empty name"):
        DelimitedReader(path)


def test_error_empty_file_with_header(tmp_path):
    path = write(tmp_path, "empty.csv", "")
    with pytest.raises(LoadError, match="the file is empty, but a header line was expected"):
        DelimitedReader(path)


def test_error_empty_file_without_columns(tmp_path):
    path = write(tmp_path, "empty.tbl", "")
    with pytest.raises(LoadError, match="cannot be inferred; pass columns"):
        DelimitedReader(path)


def test_error_missing_file(tmp_path):
    with pytest.raises(LoadError, match="cannot open the file"):
        DelimitedReader(tmp_path / "missing.csv")


def test_error_unknown_extension(tmp_path):
    path = write(tmp_path, "data.txt", "a\n1\n")
    with pytest.raises(LoadError, match="cannot tell the delimiter from the extension '.txt'"):
        DelimitedReader(path)


def test_error_invalid_delimiter(tmp_path):
    path = write(tmp_path, "data.csv", "a\n1\n")
    with pytest.raises(LoadError, match="invalid delimiter"):
        DelimitedReader(path, delimiter="::")


def test_error_duplicate_declared_column(tmp_path):
    path = write(tmp_path, "data.csv", "a,b\n1,2\n")
    with pytest.raises(LoadError, match="columns names column 'a' twice"):
        DelimitedReader(path, columns=[("a", "int64"), ("a", "int64")])


def test_error_unknown_column_type(tmp_path):
    path = write(tmp_path, "data.csv", "a\n1\n")
    with pytest.raises(LoadError, match="column 'a': unknown column type 'integer64'"):
        DelimitedReader(path, columns=[("a", "integer64")])


def test_error_tbl_line_without_trailing_delimiter(tmp_path):
    path = write(tmp_path, "rows.tbl", "1|a|\n2|b\n")
    message = load_error(path, columns=[("id", "int64"), ("name", "text")])
    assert message.startswith(f"{path}:2: expected 2 fields, each followed by '|', found 1 delimiter")


def test_error_cr_only_line_ends(tmp_path):
    path = write(tmp_path, "mac.csv", "a,b\r1,2\r3,4\r")
    with pytest.raises(LoadError, match="CR line ends"):
        read_all(path)


def test_error_message_shortens_long_values(tmp_path):
    path = write(tmp_path, "long.csv", "n\n" + "9" * 200 + "x\n")
    message = load_error(path, columns=[("n", "int64")])
    assert len(message) < len(str(path)) + 120
    assert message.endswith("...'")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=80) | st.text(alphabet='ab1.-:",\n\r\x00é ', max_size=80).map(str.encode),
    declared=st.booleans(),
    batch_bytes=st.sampled_from([1, 16, 64 << 20]),
)
def test_error_any_bytes_give_rows_or_load_error(tmp_path, data, declared, batch_bytes):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(b"a,b\n" + data)
    columns = [("a", "int64"), ("b", "text")] if declared else None
    try:
        for batch in DelimitedReader(path, columns=columns, batch_bytes=batch_bytes):
            assert len(batch.line_numbers) == batch.row_count
    except LoadError as error:
        assert str(error).startswith(str(path))
