"""Bad input files given to ``storagedb load``: one test per kind of mistake.

Each test checks the one-line error, with exit status 2, naming the file,
line, column and value where they apply. It then checks that the database is
exactly as before. An existing table keeps its rows and content, and a table
that the failed load would have created does not exist.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from storagedb.cli import main

BASE_ROWS = "id,name,qty\n1,ann,10\n2,bob,\n3,cy,30\n4,\"d, e\",40\n"
BASE_COLUMNS = "id:int64,name:text not null,qty:int32"


def cli(*args: object) -> tuple[int, str, str]:
    """Run the CLI in this process; return its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in args])
    return code, out.getvalue(), err.getvalue()


def write(directory: Path, name: str, data: str | bytes) -> Path:
    path = directory / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def snapshot(db: Path) -> dict[str, str]:
    """Every table of the database, scanned as CSV."""
    code, out, err = cli("info", db, "--json")
    assert code == 0, err
    tables = {}
    for entry in json.loads(out)["tables"]:
        code, rows, err = cli("scan", db, entry["name"], "--format", "csv")
        assert code == 0, err
        tables[entry["name"]] = rows
    return tables


def table_rows(db: Path, table: str) -> int:
    code, out, err = cli("info", db, table, "--json")
    assert code == 0, err
    return json.loads(out)["rows"]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A database with table ``t`` (id key, name NOT NULL, qty int32) of four rows, and its snapshot."""
    directory = tmp_path_factory.mktemp("template")
    db = directory / "bad.db"
    code, _, err = cli(
        "load", db, "t", write(directory, "base.csv", BASE_ROWS), "--columns", BASE_COLUMNS, "--primary-key", "id"
    )
    assert code == 0, err
    content = snapshot(db)
    assert list(content) == ["t"]
    assert content["t"] == BASE_ROWS
    return db, content


@pytest.fixture
def base(template, tmp_path) -> Path:
    """A copy of the template database for one test (copying is cheaper than loading)."""
    db = tmp_path / "bad.db"
    shutil.copytree(template[0], db)
    return db


@pytest.fixture
def before(template) -> dict[str, str]:
    """The content of each ``base`` database before the test changes it."""
    return template[1]


def failed_load(db: Path, table: str, path: Path, *options: object, before: dict[str, str] | None = None) -> str:
    """Run a load that must fail with exit status 2; return its error line.

    ``before`` is the database's content as :func:`snapshot` returns it;
    without it the content is read first. Afterwards the database must have
    the same tables with the same rows, or not exist if it did not before.
    """
    is_database = db.is_dir()
    existed = db.exists()
    if before is None and is_database:
        before = snapshot(db)
    code, out, err = cli("load", db, table, path, *options)
    assert code == 2, err
    assert out == ""
    assert err.startswith("storagedb: error: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    if is_database:
        assert snapshot(db) == before
    elif not existed:
        assert not db.exists()
    return err


# -- wrong number of fields --------------------------------------------------------


def test_field_count_into_existing_table(base, before, tmp_path):
    path = write(tmp_path, "short.csv", "id,name,qty\n10,jo,1\n11,kim\n12,lu,3\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:3:" in err
    assert "expected 3 fields, found 2" in err


def test_header_count_into_existing_table(base, before, tmp_path):
    path = write(tmp_path, "narrow.csv", "id,name\n10,jo\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:1:" in err
    assert "the header has 2 fields but 3 columns are expected (id, name, qty)" in err


def test_field_count_into_new_table(base, before, tmp_path):
    path = write(tmp_path, "long.csv", "a,b\n1,2\n3,4\n5,6,7\n")
    err = failed_load(base, "fresh", path, before=before)
    assert f"{path}:4:" in err
    assert "expected 2 fields, found 3" in err


# -- a value not of the column's type ------------------------------------------------


def test_bad_value_into_existing_table(base, before, tmp_path):
    path = write(tmp_path, "badtype.csv", "id,name,qty\n10,jo,1\n11,kim,x7\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:3:" in err
    assert "'qty'" in err
    assert "'x7'" in err
    assert "int32" in err


def test_out_of_range_value_into_existing_table(base, before, tmp_path):
    path = write(tmp_path, "range.csv", "id,name,qty\n10,jo,1\n11,kim,3000000000\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:3:" in err
    assert "'qty'" in err
    assert "'3000000000'" in err
    assert "out of range" in err


def test_bad_value_into_new_table_with_columns(base, before, tmp_path):
    path = write(tmp_path, "dates.csv", "id,day\n1,2024-01-31\n2,2024-02-30\n")
    err = failed_load(base, "fresh", path, "--columns", "id:int64,day:date", before=before)
    assert f"{path}:3:" in err
    assert "'day'" in err
    assert "'2024-02-30'" in err


def test_bad_value_after_inferred_batch(base, before, tmp_path):
    # The reader infers types from the first 64 MiB and loads that batch
    # before it reads the rest, so this file's last row fails after the
    # first batch went into the table.
    padding = "x" * 200
    rows = (65 << 20) // (len(padding) + 8) + 1
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("id,note\n")
        handle.write("".join(f"{number},{padding}\n" for number in range(rows)))
        handle.write("oops,last\n")
    err = failed_load(base, "big", path, "--primary-key", "id", before=before)
    assert f"{path}:{rows + 2}:" in err
    assert "'id'" in err
    assert "'oops'" in err
    assert "inferred from lines 2-" in err
    assert "--columns" in err


# -- primary keys ------------------------------------------------------------------


def test_duplicate_key_in_file_into_existing_table(base, before, tmp_path):
    path = write(tmp_path, "dup.csv", "id,name,qty\n10,jo,1\n11,kim,2\n10,lu,3\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:4:" in err
    assert "duplicate primary key 10" in err
    assert "line 2" in err


def test_duplicate_key_in_file_into_new_table(base, before, tmp_path):
    path = write(tmp_path, "dup.csv", "k,v\n1,a\n2,b\n3,c\n2,d\n")
    err = failed_load(base, "fresh", path, "--primary-key", "k", before=before)
    assert f"{path}:5:" in err
    assert "duplicate primary key 2" in err
    assert "line 3" in err


def test_duplicate_composite_key_across_segments(base, before, tmp_path):
    lines = [f"{order},{line},v{order}{line}" for order in range(1, 6) for line in (1, 2)]
    lines.append("2,1,again")
    path = write(tmp_path, "dup2.csv", "o,l,v\n" + "\n".join(lines) + "\n")
    err = failed_load(base, "fresh", path, "--primary-key", "o,l", "--segment-rows", "3", before=before)
    assert f"{path}:12:" in err
    assert "duplicate primary key" in err
    assert "(2, 1)" in err


def test_key_already_in_table(base, before, tmp_path):
    path = write(tmp_path, "exists.csv", "id,name,qty\n10,jo,1\n3,kim,2\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:3:" in err
    assert "duplicate primary key 3" in err
    assert "already in the table" in err


def test_key_already_in_table_of_many_segments(tmp_path):
    db = tmp_path / "segments.db"
    first = write(tmp_path, "first.csv", "k,v\n" + "".join(f"{k},{k * 2}\n" for k in range(1, 21)))
    code, _, err = cli("load", db, "s", first, "--primary-key", "k", "--segment-rows", "4", "--layout", "pax")
    assert code == 0, err
    path = write(tmp_path, "second.csv", "k,v\n" + "".join(f"{k},0\n" for k in range(21, 30)) + "7,0\n")
    err = failed_load(db, "s", path)
    assert f"{path}:11:" in err
    assert "duplicate primary key 7" in err
    assert table_rows(db, "s") == 20


# -- NOT NULL -------------------------------------------------------------------------


def test_empty_field_in_not_null_column(base, before, tmp_path):
    path = write(tmp_path, "nulls.csv", "id,name,qty\n10,jo,1\n11,,2\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:3:" in err
    assert "'name'" in err
    assert "NOT NULL" in err


def test_empty_key_field_in_new_table(base, before, tmp_path):
    path = write(tmp_path, "nokey.csv", "k,v\n1,a\n,b\n")
    err = failed_load(base, "fresh", path, "--primary-key", "k", before=before)
    assert f"{path}:3:" in err
    assert "'k'" in err
    assert "NOT NULL" in err


def test_declared_not_null_in_new_table(base, before, tmp_path):
    path = write(tmp_path, "declared.csv", "k,v\n1,a\n2,\n")
    err = failed_load(base, "fresh", path, "--columns", "k:int64,v:text not null", before=before)
    assert f"{path}:3:" in err
    assert "'v'" in err


# -- encoding and quoting ---------------------------------------------------------------


def test_invalid_utf8_into_existing_table(base, before, tmp_path):
    path = write(tmp_path, "latin1.csv", b"id,name,qty\n10,jo,1\n11,Jos\xe9,2\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:3:" in err
    assert "'name'" in err
    assert "UTF-8" in err
    assert "\\xe9" in err


def test_invalid_utf8_into_new_table(base, before, tmp_path):
    path = write(tmp_path, "latin1.csv", b"k,city\n1,Paris\n2,Z\xfcrich\n")
    err = failed_load(base, "fresh", path, before=before)
    assert f"{path}:3:" in err
    assert "'city'" in err
    assert "UTF-8" in err


def test_unterminated_quote_into_existing_table(base, before, tmp_path):
    path = write(tmp_path, "quote.csv", 'id,name,qty\n10,jo,1\n11,"kim,2\n12,lu,3\n')
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:3:" in err
    assert "unterminated" in err


def test_unterminated_quote_into_new_table(base, before, tmp_path):
    path = write(tmp_path, "quote.csv", 'k,v\n1,"a\n')
    err = failed_load(base, "fresh", path, before=before)
    assert f"{path}:2:" in err
    assert "unterminated" in err


# -- files and headers ---------------------------------------------------------------------


def test_missing_file_into_existing_table(base, before, tmp_path):
    path = tmp_path / "nosuch.csv"
    err = failed_load(base, "t", path, before=before)
    assert f"{path}: no such file" in err


def test_missing_file_into_new_table(base, before, tmp_path):
    err = failed_load(base, "fresh", tmp_path / "nosuch.csv", before=before)
    assert "no such file" in err


def test_missing_file_creates_no_database(tmp_path):
    db = tmp_path / "never.db"
    err = failed_load(db, "t", tmp_path / "nosuch.csv")
    assert "no such file" in err
    assert not db.exists()


def test_directory_instead_of_file(base, before, tmp_path):
    err = failed_load(base, "fresh", tmp_path, before=before)
    assert "is a directory" in err


def test_header_names_differ_from_table(base, before, tmp_path):
    path = write(tmp_path, "renamed.csv", "id,full_name,qty\n10,jo,1\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:1:" in err
    assert "'full_name'" in err
    assert "'name'" in err


def test_header_in_other_order_than_table(base, before, tmp_path):
    path = write(tmp_path, "order.csv", "id,qty,name\n10,1,jo\n")
    err = failed_load(base, "t", path, before=before)
    assert f"{path}:1:" in err
    assert "['id', 'qty', 'name']" in err


def test_empty_file_into_new_table(base, before, tmp_path):
    err = failed_load(base, "fresh", write(tmp_path, "empty.csv", ""), before=before)
    assert "empty" in err


# -- arguments that do not fit the table -----------------------------------------------------


def test_declared_types_differ_from_table(base, before, tmp_path):
    path = write(tmp_path, "more.csv", "id,name,qty\n10,jo,1\n")
    err = failed_load(base, "t", path, "--columns", "id:int64,name:text,qty:text", before=before)
    assert "'qty'" in err
    assert "int32" in err


def test_other_primary_key_than_table(base, before, tmp_path):
    path = write(tmp_path, "more.csv", "id,name,qty\n10,jo,1\n")
    err = failed_load(base, "t", path, "--primary-key", "name", before=before)
    assert "primary key (id)" in err


def test_other_layout_than_table(base, before, tmp_path):
    path = write(tmp_path, "more.csv", "id,name,qty\n10,jo,1\n")
    err = failed_load(base, "t", path, "--layout", "dsm", before=before)
    assert "layout nsm" in err


def test_table_option_on_existing_table(base, before, tmp_path):
    path = write(tmp_path, "more.csv", "id,name,qty\n10,jo,1\n")
    err = failed_load(base, "t", path, "--segment-rows", "100", before=before)
    assert "--segment-rows" in err
    assert "exists" in err


def test_compression_on_nsm_table(base, before, tmp_path):
    path = write(tmp_path, "fresh.csv", "k,v\n1,a\n")
    err = failed_load(base, "fresh", path, "--compression", "zstd", before=before)
    assert "--compression" in err
    assert "dsm or pax" in err


def test_unknown_key_column_in_new_table(base, before, tmp_path):
    path = write(tmp_path, "fresh.csv", "k,v\n1,a\n")
    err = failed_load(base, "fresh", path, "--primary-key", "id", before=before)
    assert "'id'" in err


def test_unknown_type_in_columns(base, before, tmp_path):
    path = write(tmp_path, "fresh.csv", "k,v\n1,a\n")
    err = failed_load(base, "fresh", path, "--columns", "k:int64,v:int128", before=before)
    assert "'int128'" in err


def test_database_path_is_a_file(tmp_path):
    data = write(tmp_path, "data.csv", "k\n1\n")
    err = failed_load(data, "t", data)
    assert "is a file, not a database directory" in err
    assert data.read_text() == "k\n1\n"


@pytest.mark.parametrize(
    "command", [("compact", "t"), ("scan", "t"), ("info",), ("get", "t", "1"), ("check",)]
)
def test_missing_database_is_not_created(tmp_path, command):
    db = tmp_path / "nodb.db"
    code, out, err = cli(command[0], db, *command[1:])
    assert code == 1
    assert out == ""
    assert f"{db}: no database here" in err
    assert not db.exists()
