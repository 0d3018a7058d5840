"""The terminal table of a benchmark run, drawn with rich."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from .results import Entry, table_rows

__all__ = ["print_results"]


def print_results(entries: list[Entry], console: Console) -> None:
    for suite in sorted({e.suite for e in entries}):
        headers, rows = table_rows(entries, suite)
        table = Table(
            title=f"storagedb bench {suite}: medians; vs = speed ratio to the baseline, same run",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for header in headers:
            numeric = header not in ("query", "system", "answer", "skips")
            table.add_column(header, justify="right" if numeric else "left", no_wrap=header in ("query", "system"))
        for row in rows:
            style = "bold red" if row[-1] == "WRONG" else None
            table.add_row(*row, style=style)
        console.print(table)
