"""Batches, chunk boundaries, line numbers and the file-level syntax rules."""

from __future__ import annotations

import numpy as np
import pytest

from storagedb.csvio import DelimitedReader, reader as reader_module


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def column_values(batches, index: int) -> list:
    """One column's values over all batches, None for NULL."""
    values = []
    for batch in batches:
        array = batch.arrays[index].tolist()
        nulls = batch.nulls[index]
        values += [None if nulls is not None and nulls[row] else array[row] for row in range(batch.row_count)]
    return values


def line_numbers(batches) -> list[int]:
    return [int(line) for batch in batches for line in batch.line_numbers]


MULTILINE = (
    'id,note,qty\r\n'
    '1,"first\r\nsecond\r\nthird",10\r\n'
    '2,plain,20\r\n'
    '3,"a ""quoted"" word, and\nmore",30\r\n'
    '4,,40\r\n'
)
MULTILINE_NOTES = ["first\r\nsecond\r\nthird", "plain", 'a "quoted" word, and\nmore', None]


def test_batches_quoted_newlines_across_every_boundary(tmp_path):
    path = write(tmp_path, "multi.csv", MULTILINE)
    columns = [("id", "int64"), ("note", "text"), ("qty", "int16")]
    # Every batch size up to the file size puts a boundary at every byte.
    for batch_bytes in range(1, len(MULTILINE) + 2):
        batches = list(DelimitedReader(path, columns=columns, batch_bytes=batch_bytes))
        assert column_values(batches, 1) == MULTILINE_NOTES, batch_bytes
        assert column_values(batches, 2) == [10, 20, 30, 40], batch_bytes
        assert line_numbers(batches) == [2, 5, 6, 8], batch_bytes


def test_batches_quoted_newlines_with_inference(tmp_path):
    path = write(tmp_path, "multi.csv", MULTILINE)
    for batch_bytes in (1, 17, 40, 64 << 20):
        reader = DelimitedReader(path, batch_bytes=batch_bytes)
        assert [ctype.name for ctype in reader.types] == ["int64", "text", "int64"]
        batches = list(reader)
        assert column_values(batches, 1) == MULTILINE_NOTES
        assert line_numbers(batches) == [2, 5, 6, 8]


def test_batches_cover_about_batch_bytes(tmp_path):
    rows = "".join(f"{index},{index % 7}\n" for index in range(2000))
    path = write(tmp_path, "rows.csv", "a,b\n" + rows)
    batches = list(DelimitedReader(path, columns=[("a", "int32"), ("b", "int8")], batch_bytes=1000))
    assert sum(batch.row_count for batch in batches) == 2000
    assert len(batches) > 10
    for batch in batches[:-1]:
        first, last = int(batch.line_numbers[0]), int(batch.line_numbers[-1])
        covered = len("".join(f"{index},{index % 7}\n" for index in range(first - 2, last - 1)))
        # A batch ends at the first row end at or after batch_bytes.
        assert 1000 <= covered < 1000 + 10
    assert column_values(batches, 0) == list(range(2000))


def test_batches_row_longer_than_batch(tmp_path):
    long_text = "x" * 5000
    path = write(tmp_path, "long.csv", f"id,text\n1,{long_text}\n2,short\n")
    batches = list(DelimitedReader(path, batch_bytes=16))
    assert column_values(batches, 1) == [long_text, "short"]


def test_batches_iterating_twice_gives_same_rows(tmp_path):
    rows = "".join(f"{index},v{index}\n" for index in range(300))
    path = write(tmp_path, "twice.csv", "n,s\n" + rows)
    reader = DelimitedReader(path, batch_bytes=500)
    first = list(reader)
    second = list(reader)
    assert column_values(first, 0) == column_values(second, 0) == list(range(300))
    assert line_numbers(first) == line_numbers(second)


def test_batches_inference_over_several_chunks(tmp_path, monkeypatch):
    # Small chunks make the first batch span many of them: NULLs only in the
    # first chunks, and a scale that grows in a later one.
    monkeypatch.setattr(reader_module, "CHUNK_BYTES", 64)
    lines = ["a,b,c,d"]
    for index in range(200):
        a = "" if index < 50 else str(index)
        b = "1.5" if index < 150 else "2.125"
        c = str(index) if index != 180 else "1e3"
        d = "" if index < 190 else "2024-02-29"
        lines.append(f"{a},{b},{c},{d}")
    path = write(tmp_path, "chunks.csv", "\n".join(lines) + "\n")
    reader = DelimitedReader(path)
    assert [ctype.name for ctype in reader.types] == ["int64", "decimal(18,3)", "float64", "date"]
    batches = list(reader)
    assert len(batches) == 1
    assert column_values(batches, 0) == [None] * 50 + list(range(50, 200))
    assert column_values(batches, 1) == [1500] * 150 + [2125] * 50
    assert column_values(batches, 2)[180] == 1000.0
    assert column_values(batches, 3) == [None] * 190 + [19782] * 10


def test_batches_bom_is_skipped(tmp_path):
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbfid,name\n1,a\n")
    reader = DelimitedReader(path)
    assert reader.names == ["id", "name"]
    assert column_values(list(reader), 0) == [1]


def test_batches_bom_without_header(tmp_path):
    path = write(tmp_path, "bom.tbl", b"\xef\xbb\xbf7|x|\n8|y|\n")
    reader = DelimitedReader(path)
    assert reader.names == ["column1", "column2"]
    batches = list(reader)
    assert column_values(batches, 0) == [7, 8]
    assert line_numbers(batches) == [1, 2]


def test_batches_file_without_final_newline(tmp_path):
    path = write(tmp_path, "nofinal.csv", 'id,name\r\n1,a\r\n2,"b\r\nc"')
    batches = list(DelimitedReader(path))
    assert column_values(batches, 1) == ["a", "b\r\nc"]
    assert line_numbers(batches) == [2, 3]


def test_batches_header_only(tmp_path):
    path = write(tmp_path, "header.csv", "id,name")
    reader = DelimitedReader(path)
    assert reader.names == ["id", "name"]
    assert [ctype.name for ctype in reader.types] == ["text", "text"]
    assert list(reader) == []


def test_batches_tsv(tmp_path):
    path = write(tmp_path, "data.tsv", 'id\tname\tprice\n1\tcomma, inside\t1.25\n2\t"tab\there"\t\n')
    reader = DelimitedReader(path)
    assert [ctype.name for ctype in reader.types] == ["int64", "text", "decimal(18,2)"]
    batches = list(reader)
    assert column_values(batches, 1) == ["comma, inside", "tab\there"]
    assert column_values(batches, 2) == [125, None]


def test_batches_tbl_with_columns(tmp_path):
    path = write(tmp_path, "part.tbl", "1|red box|12.50|\n2||3.00|\n")
    reader = DelimitedReader(path, columns=[("id", "int32"), ("name", "text"), ("price", "decimal(15,2)")])
    assert reader.header is False
    batches = list(reader)
    assert column_values(batches, 0) == [1, 2]
    assert column_values(batches, 1) == ["red box", None]
    assert column_values(batches, 2) == [1250, 300]


def test_batches_explicit_delimiter_and_no_header(tmp_path):
    path = write(tmp_path, "semi.txt", "1;a\n2;b\n")
    reader = DelimitedReader(path, delimiter=";", header=False)
    assert reader.names == ["column1", "column2"]
    assert column_values(list(reader), 1) == ["a", "b"]


def test_batches_blank_lines_are_skipped(tmp_path):
    path = write(tmp_path, "blank.csv", "a,b\n1,2\n\n3,4\r\n\r\n")
    batches = list(DelimitedReader(path))
    assert column_values(batches, 0) == [1, 3]
    assert line_numbers(batches) == [2, 4]


def test_batches_blank_lines_across_every_boundary(tmp_path):
    data = "a,b\n1,2\n\n\n\n3,4\n\r\n5,6"
    path = write(tmp_path, "blanks.csv", data)
    for batch_bytes in range(1, len(data) + 2):
        batches = list(DelimitedReader(path, batch_bytes=batch_bytes))
        assert column_values(batches, 0) == [1, 3, 5], batch_bytes
        assert line_numbers(batches) == [2, 6, 8], batch_bytes


def test_batches_blank_line_single_column(tmp_path):
    path = write(tmp_path, "single.csv", "a\n1\n\n3\n")
    batches = list(DelimitedReader(path))
    assert column_values(batches, 0) == [1, None, 3]


def test_batches_arrays_have_storage_dtypes(tmp_path):
    path = write(
        tmp_path,
        "types.csv",
        "i8,i16,i32,i64,f32,f64,b,d,ts,dec,t,bl\n1,2,3,4,1.5,2.5,true,2024-01-01,2024-01-01T00:00:00Z,1.25,x,00ff\n",
    )
    names = ["int8", "int16", "int32", "int64", "float32", "float64", "bool", "date", "timestamp", "decimal(9,2)", "text", "blob"]
    columns = [(f"c{index}", name) for index, name in enumerate(names)]
    batch = next(iter(DelimitedReader(path, columns=columns)))
    dtypes = [array.dtype for array in batch.arrays]
    assert dtypes == [
        np.dtype("int8"), np.dtype("int16"), np.dtype("int32"), np.dtype("int64"),
        np.dtype("float32"), np.dtype("float64"), np.dtype("uint8"), np.dtype("int32"),
        np.dtype("int64"), np.dtype("int64"), np.dtype(object), np.dtype(object),
    ]  # fmt: skip
    assert batch.arrays[11][0] == b"\x00\xff"
    assert batch.nulls == [None] * 12


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_batches_crlf_before_quoted_last_field(tmp_path, line_end):
    path = write(tmp_path, "last.csv", f'a,b{line_end}1,"x{line_end}y"{line_end}2,""{line_end}')
    batches = list(DelimitedReader(path, columns=[("a", "int64"), ("b", "text")]))
    assert column_values(batches, 1) == [f"x{line_end}y", ""]
