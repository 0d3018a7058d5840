"""Type inference from the first batch."""

from __future__ import annotations

import pytest

from storagedb.csvio import DelimitedReader, reader as reader_module
from storagedb.errors import LoadError


def infer(tmp_path, *columns: list[str]) -> list[str]:
    """Infer the types of columns given as lists of raw field texts."""
    path = tmp_path / "infer.csv"
    names = [f"c{index}" for index in range(len(columns))]
    rows = zip(*columns)
    path.write_text(",".join(names) + "\n" + "".join(",".join(row) + "\n" for row in rows), encoding="utf-8")
    return [ctype.name for ctype in DelimitedReader(path).types]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["true", "False", "TRUE"], "bool"),
        (["1", "0", "1"], "int64"),
        (["t", "f", "t"], "text"),
        (["12", "-7", "+3"], "int64"),
        (["9223372036854775807", "-9223372036854775808", "0"], "int64"),
        (["9223372036854775808", "1", "2"], "text"),
        (["1", "-9223372036854775809"], "text"),
        (["12345678901234567890123", ""], "text"),
        (["24386.67", "0.04", "17"], "decimal(18,2)"),
        (["1.0", "2.0", "3.0"], "decimal(18,1)"),
        (["0.125", "1.5", ".5"], "decimal(18,3)"),
        (["12345678901234567.8", "1", "2"], "decimal(18,1)"),
        (["123456789012345678.9", "1", "2"], "float64"),
        (["1e5", "2.5", "3"], "float64"),
        (["nan", "1.5", "inf"], "float64"),
        (["1996-03-13", "1996-02-12", "2000-02-29"], "date"),
        (["2013-01-01T10:00:00Z", "2013-01-01T11:00:00Z", "2013-01-02T10:00:00Z"], "timestamp"),
        (["2013-01-01", "2013-01-01 11:00", "2013-01-02"], "timestamp"),
        (["12", "12a", "13"], "text"),
        (["1996-03-13", "soon", "1996-03-14"], "text"),
        (["N", "R", "A"], "text"),
        (['""', "", ""], "text"),
        (["", "", ""], "text"),
        (["", "5", ""], "int64"),
    ],
)
def test_inference_picks_narrowest_type(tmp_path, values, expected):
    assert infer(tmp_path, values) == [expected]


def test_inference_of_several_columns(tmp_path):
    types = infer(
        tmp_path,
        ["1", "2", "3"],
        ["24386.67", "56688.12", "3.00"],
        ["1996-03-13", "1996-04-12", "1996-01-29"],
        ['"egular courts, above"', "ly final dependencies", "riously."],
    )
    assert types == ["int64", "decimal(18,2)", "date", "text"]


def test_inference_values_match_types(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text("a,b,c\n1,0.5,x\n,1.25,\n-3,,z\n")
    reader = DelimitedReader(path)
    batch = next(iter(reader))
    assert batch.arrays[0].tolist() == [1, 0, -3]
    assert batch.nulls[0].tolist() == [False, True, False]
    assert batch.arrays[1].tolist() == [50, 125, 0]
    assert batch.arrays[2].tolist() == ["x", None, "z"]


def test_inference_without_header_names_columns(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("1,a\n2,b\n")
    reader = DelimitedReader(path, header=False)
    assert reader.names == ["column1", "column2"]
    assert [ctype.name for ctype in reader.types] == ["int64", "text"]


def test_inference_declared_columns_skip_it(tmp_path):
    path = tmp_path / "declared.csv"
    path.write_text("a\n1\n")
    reader = DelimitedReader(path, columns=[("amount", "decimal(10,4)")])
    assert reader.names == ["amount"]
    assert next(iter(reader)).arrays[0].tolist() == [10000]


def test_inference_sample_is_first_batch_only(tmp_path):
    # The float in the second batch is not part of the sample.
    path = tmp_path / "sample.csv"
    path.write_text("x\n" + "1\n" * 40 + "2.5\n")
    reader = DelimitedReader(path, batch_bytes=20)
    assert [ctype.name for ctype in reader.types] == ["int64"]
    whole = DelimitedReader(path)
    assert [ctype.name for ctype in whole.types] == ["decimal(18,1)"]


def infer_in_chunks(tmp_path, monkeypatch, values: list[str]) -> tuple[str, list]:
    """Infer one column read in chunks of 32 bytes; return its type and values."""
    monkeypatch.setattr(reader_module, "CHUNK_BYTES", 32)
    path = tmp_path / "chunks.csv"
    path.write_text("x\n" + "".join(value + "\n" for value in values))
    reader = DelimitedReader(path)
    batches = list(reader)
    assert len(batches) == 1
    batch = batches[0]
    nulls = batch.nulls[0]
    found = [None if nulls is not None and nulls[row] else value for row, value in enumerate(batch.arrays[0].tolist())]
    return reader.types[0].name, found


def test_inference_int_widens_to_decimal_in_later_chunk(tmp_path, monkeypatch):
    values = [str(index) for index in range(40)] + ["0.5", "1.25"]
    ctype, found = infer_in_chunks(tmp_path, monkeypatch, values)
    assert ctype == "decimal(18,2)"
    assert found == [index * 100 for index in range(40)] + [50, 125]


def test_inference_decimal_scale_grows_in_later_chunk(tmp_path, monkeypatch):
    values = ["1.5"] * 30 + [""] * 5 + ["-2.125"]
    ctype, found = infer_in_chunks(tmp_path, monkeypatch, values)
    assert ctype == "decimal(18,3)"
    assert found == [1500] * 30 + [None] * 5 + [-2125]


def test_inference_huge_integer_later_chunk(tmp_path, monkeypatch):
    values = [str(index) for index in range(40)] + ["", "18446744073709551616"]
    ctype, found = infer_in_chunks(tmp_path, monkeypatch, values)
    assert ctype == "text"
    assert found == [str(index) for index in range(40)] + [None, "18446744073709551616"]


def test_inference_rescale_overflow_gives_float(tmp_path, monkeypatch):
    values = ["123456789012345678"] * 5 + ["0.5"] * 10
    ctype, found = infer_in_chunks(tmp_path, monkeypatch, values)
    assert ctype == "float64"
    assert found == [123456789012345678.0] * 5 + [0.5] * 10


def test_inference_date_widens_to_timestamp(tmp_path, monkeypatch):
    values = ["2024-01-01"] * 10 + ["2024-01-01T06:00:00Z"]
    ctype, found = infer_in_chunks(tmp_path, monkeypatch, values)
    assert ctype == "timestamp"
    day = 19723 * 86_400_000_000
    assert found == [day] * 10 + [day + 6 * 3_600_000_000]


def test_inference_numbers_fall_back_to_text(tmp_path, monkeypatch):
    values = [str(index) for index in range(30)] + ["n/a"]
    ctype, found = infer_in_chunks(tmp_path, monkeypatch, values)
    assert ctype == "text"
    assert found == [str(index) for index in range(30)] + ["n/a"]


def test_inference_nulls_before_first_value(tmp_path, monkeypatch):
    values = [""] * 30 + ["true", "false"]
    ctype, found = infer_in_chunks(tmp_path, monkeypatch, values)
    assert ctype == "bool"
    assert found == [None] * 30 + [1, 0]


def test_inference_bad_date_in_later_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_module, "CHUNK_BYTES", 32)
    path = tmp_path / "dates.csv"
    path.write_text("day\n" + "2024-01-01\n" * 10 + "2023-02-29\n")
    with pytest.raises(LoadError, match=r":12: column 'day': invalid date \(no such day\): '2023-02-29'"):
        DelimitedReader(path)
