"""Option parsing and the missing-dependency message of the benchmark harness."""

from __future__ import annotations

import importlib.util

import pytest

from storagedb.bench import EXIT_USAGE, run_cli
from storagedb.bench.options import parse_config


def test_defaults_cover_every_layout_and_baseline():
    config = parse_config("olap", [])
    assert config.layouts == ["nsm", "dsm", "pax"]
    assert config.compare == ["sqlite", "duckdb"]
    assert config.scale == 0.1
    assert config.pool_size == 128 << 20


def test_lists_are_parsed_and_deduplicated():
    config = parse_config("oltp", ["--layout", "pax,dsm,pax", "--workloads", "a,C,get", "--compare", "none"])
    assert config.layouts == ["pax", "dsm"]
    assert config.workloads == ["A", "C", "get"]
    assert config.compare == []


def test_pool_size_takes_suffixes():
    assert parse_config("oltp", ["--pool-size", "64M"]).pool_size == 64 << 20
    assert parse_config("oltp", ["--pool-size", "1g"]).pool_size == 1 << 30


def test_unknown_layout_exits_2(capsys):
    assert run_cli("olap", ["--layout", "column"]) == EXIT_USAGE
    assert "unknown layout 'column'" in capsys.readouterr().err


def test_repeat_zero_exits_2(capsys):
    assert run_cli("oltp", ["--repeat", "0"]) == EXIT_USAGE
    assert "--repeat" in capsys.readouterr().err


def test_unknown_suite_exits_2(capsys):
    assert run_cli("tpcc", []) == EXIT_USAGE
    assert "oltp or olap" in capsys.readouterr().err


@pytest.mark.parametrize("package", ["duckdb", "matplotlib"])
def test_missing_extra_names_pip_command(package, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a))
    assert run_cli("olap", ["--out", "unused"]) == EXIT_USAGE
    message = capsys.readouterr().err
    assert package in message
    assert "pip install 'storagedb[bench]'" in message


def test_missing_matplotlib_is_fine_without_plots(monkeypatch):
    from storagedb.bench.options import missing_dependencies

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    config = parse_config("olap", ["--no-plots"])
    assert "matplotlib" not in missing_dependencies(config)


def test_missing_tpchgen_is_reported(monkeypatch, capsys):
    from storagedb.bench import options

    monkeypatch.setattr(options, "tpchgen_command", lambda: None)
    assert run_cli("oltp", ["--out", "unused"]) == EXIT_USAGE
    assert "tpchgen-cli" in capsys.readouterr().err
