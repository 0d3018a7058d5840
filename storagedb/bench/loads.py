"""Timed bulk loads, shared by both suites."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .measure import median
from .results import Entry

__all__ = ["timed_load"]


def timed_load(
    config: Any,
    suite: str,
    system: str,
    layout: str | None,
    work: Path,
    build: Callable[[Path], tuple[Any, Callable[[], int]]],
    expected_rows: int,
    log: Callable[[str], None],
) -> tuple[Any, Entry]:
    """Load ``config.load_repeat`` times into fresh directories; keep the last database.

    ``build(directory)`` opens an empty database there. It returns the
    database and a function that loads the data and returns the row count,
    and only that function is timed. Loads have no warm-up run, because each
    one starts from an empty database (with the CSV file in the operating
    system's cache).
    """
    seconds: list[float] = []
    rows = 0
    database = None
    name = f"{system}-{layout}" if layout else system
    for attempt in range(config.load_repeat):
        directory = work / f"{name}-load{attempt}"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        database, load = build(directory)
        started = time.perf_counter()
        rows = load()
        seconds.append(time.perf_counter() - started)
        if attempt < config.load_repeat - 1:
            database.close()
            shutil.rmtree(directory, ignore_errors=True)
    middle = median(seconds)
    log(f"loaded {name}: {rows:,} rows in {middle:.2f} s ({rows / middle:,.0f} rows/s)")
    entry = Entry(
        suite,
        "load",
        system,
        layout,
        config.scale,
        median_s=middle,
        answer_ok=rows == expected_rows,
        extra={
            "rows": rows,
            "rows_per_s": rows / middle if middle else None,
            "runs_s": seconds,
            "repeat": config.load_repeat,
        },
    )
    return database, entry
