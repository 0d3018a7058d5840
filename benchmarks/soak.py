"""Crash soak: SIGKILL storagedb writers hundreds of times and check nothing acknowledged is lost.

Runs the crash loop of ``tests/durability`` (``durability_harness.py``) over
every combination of workload (small transactions, concurrent committers,
bulk loads, compaction), ``synchronous`` mode and layout. It spreads
``--iterations`` kills across them and prints one summary line per
combination and a total. Most kills are
followed by a reopen that must show exactly the acknowledged changes, a
``storagedb check`` and a search for files the catalog does not list. The
harness docstring gives the rules.

Usage::

    python benchmarks/soak.py --iterations 300 [--seed 1] [--workloads oltp,concurrent,bulk,compact]
                              [--keep-failures DIR] [--directory DIR]

Exits 1 if any check failed; ``--keep-failures`` keeps a copy of each
database that failed a check.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "durability"))

from durability_harness import CrashConfig, CrashSummary, run_crash_loop  # noqa: E402

#: Kills of one combination run on one database before a fresh one starts,
#: so that state accumulates across many crashes.
CHAIN = 25


def configurations(workloads: list[str]) -> list[CrashConfig]:
    configs = []
    for workload, synchronous, layout in itertools.product(workloads, ("full", "normal"), ("nsm", "dsm", "pax")):
        if workload == "bulk":
            configs.append(
                CrashConfig(
                    workload,
                    synchronous,
                    layout,
                    target_kinds=("insert_arrays", "load_new", "load_append"),
                    target_window=0.25,
                )
            )
        elif workload == "compact":
            configs.append(CrashConfig(workload, synchronous, layout, target_kinds=("compact",), target_window=0.4))
        else:
            configs.append(CrashConfig(workload, synchronous, layout, kill_window=0.8))
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300, help="total kills over all combinations")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first combination")
    parser.add_argument(
        "--workloads", default="oltp,concurrent,bulk,compact", help="comma-separated: oltp, concurrent, bulk, compact"
    )
    parser.add_argument("--keep-failures", metavar="DIR", help="copy each database that failed a check here")
    parser.add_argument("--directory", metavar="DIR", help="where the databases live (default: a temporary folder)")
    args = parser.parse_args(argv)

    configs = configurations([name.strip() for name in args.workloads.split(",") if name.strip()])
    root = args.directory or tempfile.mkdtemp(prefix="storagedb-soak-")
    os.makedirs(root, exist_ok=True)
    total = CrashSummary()
    started = time.monotonic()
    remaining = args.iterations
    round_number = 0
    try:
        while remaining > 0:
            for config in configs:
                if remaining <= 0:
                    break
                count = min(CHAIN, remaining, max(1, args.iterations // len(configs)))
                seed = args.seed * 1000 + round_number * len(configs) + configs.index(config)
                db_path = os.path.join(root, f"{config.workload}-{config.synchronous}-{config.layout}-{seed}")
                summary = run_crash_loop(db_path, config, count, seed, failure_dir=args.keep_failures)
                shutil.rmtree(db_path, ignore_errors=True)
                total.merge(summary)
                remaining -= count
                print(
                    f"{config.workload:8} {config.synchronous:6} {config.layout}  seed {seed}: {summary.describe()}",
                    flush=True,
                )
                for failure in summary.failures:
                    print(f"  FAILED {failure}", flush=True)
            round_number += 1
    finally:
        if not args.directory:
            shutil.rmtree(root, ignore_errors=True)
    minutes = (time.monotonic() - started) / 60
    print(f"total in {minutes:.1f} min: {total.describe()}")
    return 1 if total.failures else 0


if __name__ == "__main__":
    sys.exit(main())
