"""The CLI front end on small files: delimiters, headers, NULLs, options and messages."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import pytest

from storagedb.cli import main


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


def load(db: Path, table: str, path: Path, *options: object) -> str:
    code, out, err = cli("load", db, table, path, *options)
    assert code == 0, err
    assert err == ""
    return out


def scan_jsonl(db: Path, table: str, *options: object) -> list[dict]:
    code, out, err = cli("scan", db, table, "--format", "jsonl", *options)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def column_types(db: Path, table: str) -> dict[str, str]:
    code, out, err = cli("info", db, table, "--json")
    assert code == 0, err
    return {column["name"]: column["type"] for column in json.loads(out)["columns"]}


def error_line(code: int, out: str, err: str, expected_code: int = 2) -> str:
    assert code == expected_code, err
    assert out == ""
    assert err.startswith("storagedb: error: ")
    assert err.count("\n") == 1, err
    return err


# -- NULL and the empty string ---------------------------------------------------------


def test_empty_unquoted_field_is_null(tmp_path):
    db = tmp_path / "n.db"
    load(db, "t", write(tmp_path, "n.csv", 'id,name,score\n1,ann,1.5\n2,,2.5\n3,"",\n'))
    assert scan_jsonl(db, "t") == [
        {"id": 1, "name": "ann", "score": "1.5"},
        {"id": 2, "name": None, "score": "2.5"},
        {"id": 3, "name": "", "score": None},
    ]


def test_null_and_empty_string_round_trip(tmp_path):
    db = tmp_path / "n.db"
    source = 'id,name\n1,""\n2,\n3,x\n'
    load(db, "t", write(tmp_path, "n.csv", source))
    code, out, err = cli("scan", db, "t", "--format", "csv")
    assert code == 0, err
    assert out == source


def test_null_filters_match_only_null(tmp_path):
    db = tmp_path / "n.db"
    load(db, "t", write(tmp_path, "n.csv", 'id,name\n1,""\n2,\n3,x\n'))
    assert [row["id"] for row in scan_jsonl(db, "t", "--where", "name IS NULL")] == [2]
    assert [row["id"] for row in scan_jsonl(db, "t", "--where", "name = ''")] == [1]
    assert [row["id"] for row in scan_jsonl(db, "t", "--where", "name IS NOT NULL")] == [1, 3]


# -- delimiters and headers ------------------------------------------------------------


def test_tsv_follows_extension(tmp_path):
    db = tmp_path / "d.db"
    load(db, "t", write(tmp_path, "t.tsv", "id\tnote\n1\thas, comma\n2\tplain\n"))
    assert scan_jsonl(db, "t") == [{"id": 1, "note": "has, comma"}, {"id": 2, "note": "plain"}]


def test_tbl_without_header_gets_numbered_columns(tmp_path):
    db = tmp_path / "d.db"
    load(db, "t", write(tmp_path, "orders.tbl", "1|370|O|172799.49|\n2|781|F|38426.09|\n"))
    assert scan_jsonl(db, "t") == [
        {"column1": 1, "column2": 370, "column3": "O", "column4": "172799.49"},
        {"column1": 2, "column2": 781, "column3": "F", "column4": "38426.09"},
    ]


def test_tbl_with_declared_columns(tmp_path):
    db = tmp_path / "d.db"
    path = write(tmp_path, "orders.tbl", "1|370|O|172799.49|\n2|781|F|38426.09|\n")
    columns = "o_orderkey:int64,o_custkey:int32,o_status:text,o_total:decimal(15,2)"
    out = load(db, "orders", path, "--no-header", "--columns", columns, "--primary-key", "o_orderkey")
    assert out.startswith("loaded 2 rows into orders (nsm, 1 segment) ")
    assert column_types(db, "orders") == {
        "o_orderkey": "int64",
        "o_custkey": "int32",
        "o_status": "text",
        "o_total": "decimal(15,2)",
    }
    code, out, err = cli("get", db, "orders", "2", "--format", "json")
    assert code == 0, err
    assert json.loads(out) == {"o_orderkey": 2, "o_custkey": 781, "o_status": "F", "o_total": "38426.09"}


def test_tpchgen_tbl_loads_like_seeds_csv(tmp_path):
    """A real .tbl from tpchgen-cli, when installed, contains the rows of seeds/orders.csv."""
    import shutil
    import subprocess

    if shutil.which("tpchgen-cli") is None:
        pytest.skip("tpchgen-cli is not installed (pip install -e '.[bench]')")
    subprocess.run(
        ["tpchgen-cli", "tbl", "-s", "0.01", "-T", "orders", "-o", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    db = tmp_path / "tbl.db"
    seeds = Path(__file__).resolve().parents[2] / "seeds" / "orders.csv"
    with open(seeds, newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    columns = ",".join(f"{name}:text" for name in header)
    load(db, "orders", tmp_path / "orders.tbl", "--columns", columns)
    code, out, err = cli("scan", db, "orders", "--format", "csv")
    assert code == 0, err
    assert list(csv.reader(io.StringIO(out, newline=""))) == [header] + rows


def test_no_header_csv_with_columns(tmp_path):
    db = tmp_path / "d.db"
    load(db, "t", write(tmp_path, "data.csv", "7,seven\n8,eight\n"), "--no-header", "--columns", "n:int16,word:text")
    assert scan_jsonl(db, "t") == [{"n": 7, "word": "seven"}, {"n": 8, "word": "eight"}]
    assert column_types(db, "t") == {"n": "int16", "word": "text"}


@pytest.mark.parametrize(("flag", "separator"), [(";", ";"), ("\\t", "\t"), ("tab", "\t"), ("|", "|")])
def test_delimiter_option(tmp_path, flag, separator):
    db = tmp_path / "d.db"
    path = write(tmp_path, "data.txt", f"a{separator}b\n1{separator}x,y\n")
    load(db, "t", path, "--delimiter", flag)
    assert scan_jsonl(db, "t") == [{"a": 1, "b": "x,y"}]


def test_unknown_extension_asks_for_delimiter(tmp_path):
    code, out, err = cli("load", tmp_path / "d.db", "t", write(tmp_path, "data.txt", "a;b\n1;2\n"))
    line = error_line(code, out, err)
    assert "data.txt" in line
    assert "delimiter" in line


def test_bom_crlf_and_quoted_newline(tmp_path):
    db = tmp_path / "d.db"
    data = b'\xef\xbb\xbfid,text\r\n1,"two\nlines"\r\n2,"say ""hi"""\r\n'
    load(db, "t", write(tmp_path, "bom.csv", data))
    assert scan_jsonl(db, "t") == [{"id": 1, "text": "two\nlines"}, {"id": 2, "text": 'say "hi"'}]
    code, out, err = cli("scan", db, "t", "--format", "csv")
    assert code == 0, err
    assert list(csv.reader(io.StringIO(out, newline=""))) == [["id", "text"], ["1", "two\nlines"], ["2", 'say "hi"']]


def test_header_only_file_makes_empty_table(tmp_path):
    db = tmp_path / "d.db"
    out = load(db, "t", write(tmp_path, "h.csv", "a,b\n"))
    assert out.startswith("loaded 0 rows into t ")
    assert scan_jsonl(db, "t") == []


def test_second_load_appends(tmp_path):
    db = tmp_path / "d.db"
    load(db, "t", write(tmp_path, "one.csv", "k,v\n1,a\n2,b\n"), "--primary-key", "k")
    load(db, "t", write(tmp_path, "two.csv", "k,v\n3,c\n"))
    load(db, "t", write(tmp_path, "three.csv", "4,d\n"), "--no-header")
    assert [row["k"] for row in scan_jsonl(db, "t")] == [1, 2, 3, 4]


def test_header_mismatch_hint_names_both_fixes(tmp_path):
    db = tmp_path / "d.db"
    load(db, "t", write(tmp_path, "one.csv", "k,v\n1,a\n"))
    line = error_line(*cli("load", db, "t", write(tmp_path, "two.csv", "key,v\n2,b\n")))
    assert "rename or reorder the header" in line
    assert "if the first line is data, load with --no-header" in line


# -- --columns ------------------------------------------------------------------------------


def test_columns_declares_not_null(tmp_path):
    db = tmp_path / "c.db"
    load(db, "t", write(tmp_path, "c.csv", "a,b\n1,x\n"), "--columns", "a:int64 NOT NULL,b:text")
    code, out, err = cli("info", db, "t", "--json")
    assert code == 0, err
    nullable = {column["name"]: column["nullable"] for column in json.loads(out)["columns"]}
    assert nullable == {"a": False, "b": True}


def test_columns_with_decimal_comma(tmp_path):
    db = tmp_path / "c.db"
    load(db, "t", write(tmp_path, "c.csv", "p,q\n1.25,2\n"), "--columns", "p:decimal(12,2),q:int8")
    assert column_types(db, "t") == {"p": "decimal(12,2)", "q": "int8"}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("a:int64,b", "'b' must be NAME:TYPE"), ("a:int64,:text", "no column name"), ("a:int64,b:", "no type")],
)
def test_columns_malformed(tmp_path, spec, expected):
    path = write(tmp_path, "c.csv", "a,b\n1,2\n")
    line = error_line(*cli("load", tmp_path / "c.db", "t", path, "--columns", spec))
    assert expected in line


@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_segment_rows_must_be_positive(tmp_path, value):
    path = write(tmp_path, "c.csv", "a\n1\n")
    code, out, err = cli("load", tmp_path / "c.db", "t", path, "--segment-rows", value)
    assert code == 2
    assert out == ""
    assert "--segment-rows" in err
    assert not (tmp_path / "c.db").exists()


def test_delimiter_of_two_characters(tmp_path):
    line = error_line(*cli("load", tmp_path / "c.db", "t", write(tmp_path, "c.csv", "a\n1\n"), "--delimiter", "::"))
    assert "'::'" in line


# -- scan options -------------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path) -> Path:
    db = tmp_path / "s.db"
    rows = "".join(f"{k},{'even' if k % 2 == 0 else 'odd'},{k * 1.5}\n" for k in range(1, 11))
    load(db, "s", write(tmp_path, "s.csv", "k,parity,x\n" + rows), "--primary-key", "k", "--layout", "dsm")
    return db


def test_where_error_prints_no_csv_header(small):
    line = error_line(*cli("scan", small, "s", "--where", "nosuch = 1", "--format", "csv"))
    assert "'nosuch'" in line


def test_where_bad_literal_prints_nothing(small):
    line = error_line(*cli("scan", small, "s", "--where", "k = 'abc'", "--format", "jsonl"))
    assert "'abc'" in line


def test_where_syntax_error_is_one_line(small):
    line = error_line(*cli("scan", small, "s", "--where", "k > 1 AND"))
    assert "after 'AND'" in line
    assert "^" not in line
    assert not line.rstrip().endswith(":")


def test_where_empty_is_an_error(small):
    line = error_line(*cli("scan", small, "s", "--where", ""))
    assert "empty" in line


def test_where_double_quoted_string_hint(small):
    line = error_line(*cli("scan", small, "s", "--where", 'parity = "odd"'))
    assert "single quotes" in line


def test_limit_negative(small):
    line = error_line(*cli("scan", small, "s", "--limit", "-1"))
    assert "--limit" in line


def test_unknown_scan_column(small):
    line = error_line(*cli("scan", small, "s", "--columns", "k,nosuch", "--format", "csv"))
    assert "'nosuch'" in line


def test_scan_unknown_table_exit_1(small):
    line = error_line(*cli("scan", small, "nosuch"), expected_code=1)
    assert "'nosuch'" in line


def test_scan_missing_database_exit_1(tmp_path):
    line = error_line(*cli("scan", tmp_path / "none.db", "t"), expected_code=1)
    assert "no database" in line
    assert not (tmp_path / "none.db").exists()


def test_group_by_without_agg(small):
    line = error_line(*cli("scan", small, "s", "--group-by", "parity"))
    assert "--agg" in line


@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        ("median(x)", "'median'"),
        ("sum(nosuch)", "'nosuch'"),
        ("sum(parity)", "numeric"),
        ("sum x", "function(column)"),
        ("count(*), COUNT(*)", "count(*) twice"),
    ],
)
def test_bad_aggregate(small, agg, expected):
    line = error_line(*cli("scan", small, "s", "--agg", agg))
    assert expected in line


def test_agg_with_columns_rejected(small):
    line = error_line(*cli("scan", small, "s", "--agg", "count(*)", "--columns", "k"))
    assert "--columns" in line


def test_group_by_jsonl(small):
    rows = scan_jsonl(small, "s", "--group-by", "parity", "--agg", "count(*),sum(k),min(x),max(x)")
    by_parity = {row["parity"]: row for row in rows}
    assert by_parity["even"]["count(*)"] == 5
    assert by_parity["even"]["sum(k)"] == 30
    assert by_parity["odd"]["sum(k)"] == 25
    assert by_parity["odd"]["min(x)"] == "1.5"
    assert by_parity["even"]["max(x)"] == "15.0"


def test_table_format_keeps_long_names_on_one_line(tmp_path):
    db = tmp_path / "w.db"
    name = "a_rather_long_column_name_" * 3
    load(db, "w", write(tmp_path, "w.csv", f"{name},other_long_column_name_here\n1,2\n"))
    code, out, err = cli("scan", db, "w")
    assert code == 0, err
    assert name in out
    assert "other_long_column_name_here" in out


def test_table_format_shows_markup_as_typed(tmp_path):
    db = tmp_path / "m.db"
    data = 'k,[i]name[/i]\n1,[bold]x[/bold]\n2,[/]\n3,:smile:\n4,"\x1b[31mred"\n'
    load(db, "m", write(tmp_path, "m.csv", data), "--primary-key", "k")

    code, out, err = cli("scan", db, "m")
    assert code == 0, err
    assert "[i]name[/i]" in out
    assert "[bold]x[/bold]" in out
    assert "[/]" in out
    assert ":smile:" in out
    assert "\\x1b[31mred" in out
    assert "\x1b" not in out

    code, out, err = cli("get", db, "m", "2")
    assert code == 0, err
    assert "[/]" in out


# -- the database path --------------------------------------------------------------------------


def test_info_on_file_is_usage_error(tmp_path):
    path = write(tmp_path, "x.csv", "a\n1\n")
    line = error_line(*cli("info", path))
    assert "is a file, not a database directory" in line


def test_info_on_plain_directory(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    line = error_line(*cli("info", plain), expected_code=1)
    assert "not a storagedb database" in line
    assert list(plain.iterdir()) == []


def test_check_on_plain_directory(tmp_path):
    line = error_line(*cli("check", tmp_path), expected_code=1)
    assert "not a storagedb database" in line


def test_load_into_directory_of_other_files(tmp_path):
    data = write(tmp_path, "data.csv", "a\n1\n")
    line = error_line(*cli("load", tmp_path, "t", data))
    assert "contains other files (data.csv)" in line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.csv"]


def test_load_into_empty_directory(tmp_path):
    db = tmp_path / "made_by_user"
    db.mkdir()
    load(db, "t", write(tmp_path, "data.csv", "a\n1\n"))
    assert scan_jsonl(db, "t") == [{"a": 1}]


def test_check_missing_database(tmp_path):
    line = error_line(*cli("check", tmp_path / "none.db"), expected_code=1)
    assert "no database" in line


def test_compact_merges_segments(tmp_path):
    db = tmp_path / "c.db"
    load(db, "t", write(tmp_path, "c1.csv", "k,v\n5,e\n1,a\n"), "--primary-key", "k")
    load(db, "t", write(tmp_path, "c2.csv", "k,v\n2,b\n4,d\n"))
    load(db, "t", write(tmp_path, "c3.csv", "k,v\n3,c\n"))
    code, out, err = cli("info", db, "t", "--json")
    assert code == 0, err
    assert len(json.loads(out)["segments"]) == 3

    code, out, err = cli("compact", db, "t")
    assert code == 0, err
    assert out == "compacted t from 3 segments to 1: 5 live rows\n"
    code, out, err = cli("info", db, "t", "--json")
    assert code == 0, err
    assert len(json.loads(out)["segments"]) == 1
    assert [row["k"] for row in scan_jsonl(db, "t")] == [1, 2, 3, 4, 5]


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "usage: storagedb" in captured.err
    assert "load" in captured.err


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_help_returns_zero(capsys):
    assert main(["load", "--help"]) == 0
    assert "--primary-key" in capsys.readouterr().out
