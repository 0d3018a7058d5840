"""Text forms of values and rows for the command-line tool.

CSV output round-trips through ``storagedb load``: NULL is an empty
unquoted field, the empty string is ``""``, decimals keep their exact
digits, floats use the shortest text that reads back to the same value,
dates and timestamps are ISO 8601, and blobs are ``\\x`` followed by hex.
JSON Lines output writes one object per row; decimals, dates, timestamps,
blobs and non-finite floats are strings there, because JSON numbers cannot
hold them exactly.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
from typing import Any, Iterable, Sequence, TextIO

__all__ = ["format_value", "write_csv", "write_jsonl", "write_table", "json_value"]


def format_value(value: Any) -> str:
    """One value as text (the CSV form; NULL is the empty string)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, _dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return str(value)


def _csv_field(value: Any, delimiter: str) -> str:
    if value is None:
        return ""
    text = format_value(value)
    if text == "" or any(ch in text for ch in (delimiter, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(out: TextIO, names: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> int:
    """Write a header and rows as RFC 4180 CSV; returns the rows written."""
    out.write(delimiter.join(_csv_field(name, delimiter) for name in names) + "\n")
    count = 0
    for row in rows:
        out.write(delimiter.join(_csv_field(value, delimiter) for value in row) + "\n")
        count += 1
    return count


def json_value(value: Any) -> Any:
    """A value in a form ``json.dumps`` writes without losing anything."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else format_value(value)
    if isinstance(value, list):
        return [json_value(item) for item in value]
    return format_value(value)


def write_jsonl(out: TextIO, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps({name: json_value(value) for name, value in zip(names, row)}, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_table(out: TextIO, names: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> int:
    """Draw rows as a table in the terminal (with rich); NULL shows as ``NULL``."""
    from rich.console import Console
    from rich.table import Table as RichTable

    table = RichTable(title=title, show_lines=False)
    for name in names:
        table.add_column(name, overflow="fold")
    count = 0
    for row in rows:
        table.add_row(*("NULL" if value is None else format_value(value) for value in row))
        count += 1
    Console(file=out, soft_wrap=False).print(table)
    return count
