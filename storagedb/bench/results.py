"""Benchmark results: one entry per suite, query, system and layout.

``results.json`` has the shape::

    {"runs": [{"suite": "olap", "query": "q6", "system": "storagedb",
               "layout": "dsm", "scale": 0.1, "median_s": 0.012,
               "ops_per_s": null, "answer_ok": true, ...}, ...],
     "machine": {...}, "command": "...", "started": "..."}

The eight fields above are in every entry. ``median_s`` is the median over
the timed runs of one execution of the query (OLAP), of one operation (OLTP:
run time divided by operations done) or of one load. Ratios to the baselines
are *speed* ratios: ``vs_sqlite = sqlite's median_s / this entry's median_s``,
so 2.0 means twice as fast as sqlite3 and 0.5 half as fast. An entry whose
``query`` is a variant (``q6_uncompressed``, ``get_absent_16seg``) names the
query it is compared with in ``base_query``. Size entries (``bytes_on_disk``)
have no time; their ratios are ``size_vs_duckdb`` and ``size_vs_csv``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BASELINES", "Entry", "add_ratios", "write_json", "write_markdown"]

BASELINES = ("sqlite", "duckdb")


@dataclass
class Entry:
    """One measured (suite, query, system, layout)."""

    suite: str
    query: str
    system: str
    layout: str | None
    scale: float
    median_s: float | None = None
    ops_per_s: float | None = None
    answer_ok: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.system}/{self.layout}" if self.layout else self.system

    @property
    def base_query(self) -> str:
        return self.extra.get("base_query", self.query)

    def as_json(self) -> dict[str, Any]:
        out = {
            "suite": self.suite,
            "query": self.query,
            "system": self.system,
            "layout": self.layout,
            "scale": self.scale,
            "median_s": self.median_s,
            "ops_per_s": self.ops_per_s,
            "answer_ok": self.answer_ok,
        }
        out.update(self.extra)
        return out


def add_ratios(entries: list[Entry]) -> None:
    """Fill ``vs_sqlite``/``vs_duckdb`` (speed) and size ratios from the baseline entries of the same run."""
    times = {(e.suite, e.query, e.system): e.median_s for e in entries if e.system in BASELINES and e.median_s}
    sizes = {(e.suite, e.system): e.extra.get("bytes") for e in entries if e.query == "bytes_on_disk"}
    for entry in entries:
        if entry.median_s:
            for baseline in BASELINES:
                reference = times.get((entry.suite, entry.base_query, baseline))
                if reference and entry.system != baseline:
                    entry.extra[f"vs_{baseline}"] = reference / entry.median_s
        size = entry.extra.get("bytes")
        if size and entry.query.startswith("bytes_on_disk"):
            for reference_system in ("duckdb", "csv"):
                reference = sizes.get((entry.suite, reference_system))
                if reference and entry.system != reference_system:
                    entry.extra[f"size_vs_{reference_system}"] = size / reference


def write_json(path: str, entries: Iterable[Entry], meta: dict[str, Any]) -> None:
    document = {"runs": [entry.as_json() for entry in entries]}
    document.update(meta)
    scratch = path + ".partial"
    with open(scratch, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, default=str)
        handle.write("\n")
    os.replace(scratch, path)


# -- markdown ------------------------------------------------------------------


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} us"


def format_bytes(size: int | None) -> str:
    if size is None:
        return ""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else ""


def table_rows(entries: list[Entry], suite: str) -> tuple[list[str], list[list[str]]]:
    """Column headers and text rows for one suite, shared by the terminal and markdown tables."""
    headers = [
        "query",
        "system",
        "median",
        "rate",
        "p99",
        "vs sqlite",
        "vs duckdb",
        "bytes",
        "hit rate",
        "pages read",
        "skips",
        "answer",
    ]
    rows = []
    for e in entries:
        if e.suite != suite:
            continue
        x = e.extra
        if e.ops_per_s is not None:
            rate = f"{_number(e.ops_per_s)} ops/s"
        elif x.get("rows_per_s") is not None:
            rate = f"{_number(x['rows_per_s'])} rows/s"
        else:
            rate = ""
        if e.query.startswith("bytes_on_disk"):
            # Sizes compare as size / DuckDB's size, marked so they are not read as speeds.
            size_ratio = x.get("size_vs_duckdb")
            vs_sqlite, vs_duckdb = "", f"size {size_ratio:.2f}x" if size_ratio is not None else ""
        else:
            vs_sqlite, vs_duckdb = _ratio(x.get("vs_sqlite")), _ratio(x.get("vs_duckdb"))
        skips = []
        for key, short in (
            ("zones_skipped", "zones"),
            ("pages_skipped", "pages"),
            ("segments_skipped_by_bloom", "bloom"),
            ("segments_skipped_by_range", "range"),
        ):
            if x.get(key):
                skips.append(f"{short} {_number(x[key])}")
        answer = {True: "ok", False: "WRONG", None: x.get("note", "")[:40] if x.get("skipped") else "-"}[e.answer_ok]
        rows.append(
            [
                e.query,
                e.label,
                format_seconds(e.median_s),
                rate,
                f"{x['p99_us']:.0f} us" if x.get("p99_us") is not None else "",
                vs_sqlite,
                vs_duckdb,
                format_bytes(x.get("bytes")),
                f"{x['hit_rate']:.1%}" if x.get("hit_rate") is not None else "",
                _number(x.get("pages_read") or x.get("data_pages_read")),
                ", ".join(skips),
                answer,
            ]
        )
    return headers, rows


def _value(entry: Entry) -> str:
    """Format an entry's headline figure: ops/s for OLTP, bytes for sizes, else the median time."""
    if entry.extra.get("skipped"):
        return "skipped"
    if entry.ops_per_s is not None:
        return f"{entry.ops_per_s:,.0f}/s"
    if entry.extra.get("bytes") is not None:
        return format_bytes(entry.extra["bytes"])
    return format_seconds(entry.median_s)


def summary_rows(entries: list[Entry], suite: str) -> tuple[list[str], list[list[str]]]:
    """Build one row per query: the baselines' figures and each layout's figure with its ratios.

    A storagedb cell reads ``figure (speed vs sqlite3, speed vs DuckDB)``; for
    sizes it reads ``size (size / DuckDB's size)``.
    """
    chosen = [e for e in entries if e.suite == suite]
    layouts = list(dict.fromkeys(e.layout for e in chosen if e.system == "storagedb"))
    headers = ["query", "sqlite", "duckdb", *(f"storagedb/{layout}" for layout in layouts)]
    rows = []
    for query in dict.fromkeys(e.query for e in chosen):
        cells = {(e.system, e.layout): e for e in chosen if e.query == query}
        row = [query]
        for system in ("sqlite", "duckdb"):
            entry = cells.get((system, None))
            row.append(_value(entry) if entry else "")
        for layout in layouts:
            entry = cells.get(("storagedb", layout))
            if entry is None:
                row.append("")
            elif query.startswith("bytes_on_disk"):
                ratio = entry.extra.get("size_vs_duckdb")
                row.append(_value(entry) + (f" ({ratio:.2f}x)" if ratio is not None else ""))
            else:
                ratios = [_ratio(entry.extra.get(f"vs_{b}")) or "-" for b in BASELINES]
                row.append(_value(entry) + (f" ({', '.join(ratios)})" if entry.median_s else ""))
        rows.append(row)
    return headers, rows


def _markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return lines


def write_markdown(path: str, entries: list[Entry], meta: dict[str, Any]) -> None:
    lines = ["# storagedb benchmark results", ""]
    lines.append(f"Command: `{meta.get('command', '')}`  ")
    lines.append(f"Started: {meta.get('started', '')}  ")
    version = meta.get("storagedb", {})
    if version:
        lines.append("storagedb: " + ", ".join(f"{k} {v}" for k, v in version.items()) + "  ")
    machine = meta.get("machine", {})
    if machine:
        lines.append("Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()))

    lines.append("")
    lines.append(
        "Medians over the timed runs. `vs sqlite` and `vs duckdb` are speed ratios measured in "
        "this run: the baseline's median time divided by this entry's (2.00x is twice as fast). "
        "Counters (pages read, skips) are per timed run."
    )

    for suite in sorted({e.suite for e in entries}):
        lines += ["", f"## {suite.upper()} summary", ""]
        lines.append(
            "Each storagedb cell: the figure, then (speed vs sqlite3, speed vs DuckDB); "
            "for sizes, (size / DuckDB's size)."
        )
        lines.append("")
        lines += _markdown_table(*summary_rows(entries, suite))
        lines += ["", f"## {suite.upper()}", ""]
        lines += _markdown_table(*table_rows(entries, suite))

    notes = [e for e in entries if e.extra.get("note")]
    if notes:
        lines += ["", "## Notes", ""]
        for e in notes:
            lines.append(f"- {e.suite} {e.query} {e.label}: {e.extra['note']}")

    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
