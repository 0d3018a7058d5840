"""Bulk loading of delimited text files (CSV, TSV, TPC-H .tbl) into a table.

The file is parsed by the vectorised reader in ``storagedb.csvio`` and
inserted with one atomic :meth:`Table.load_columns` call: a bad row anywhere
stops the load with the file, line, column and value, and the table is left
exactly as it was (a table the load created is dropped again).
"""

from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from .batch import ColumnData
from .convert import filler_for
from .errors import LoadError, SchemaError
from .types import ColumnType, parse_type

if TYPE_CHECKING:
    from .database import Database
    from .table import Table

__all__ = ["load_file", "LoadResult"]


@dataclass
class LoadResult:
    """What a load did: the table, rows inserted and seconds taken."""

    table: "Table"
    rows: int
    seconds: float
    created: bool


def load_file(
    db: "Database",
    table_name: str,
    path: str | os.PathLike,
    *,
    layout: str | None = None,
    primary_key: str | Sequence[str] | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    columns: Sequence[tuple[str, str | ColumnType]] | None = None,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> LoadResult:
    """Load a delimited text file into ``table_name``, creating the table if needed.

    A new table gets the file's column names (from the header, or
    ``columns``) and types (inferred from the first 64 MiB unless
    ``columns`` gives them), plus ``layout``, ``primary_key`` and table
    ``options``. Loading into an existing table appends new segments; its
    header, if any, must name the table's columns in order.

    Raises:
        LoadError: a bad row or an unreadable file; the message names the
            file and line.
        DuplicateKeyError: a key repeats or already exists.
        SchemaError: the arguments do not fit an existing table.
    """
    from .csvio import DelimitedReader

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise LoadError(f"{path}: no such file")
    declared = [(name, parse_type(t) if isinstance(t, str) else t) for name, t in columns] if columns else None
    key = [part.strip() for part in primary_key.split(",")] if isinstance(primary_key, str) else primary_key

    created = False
    if table_name in db.table_names():
        table = db.table(table_name)
        if layout and layout != table.layout:
            raise SchemaError(f"table {table_name!r} exists with layout {table.layout}, not {layout}")
        if key and tuple(key) != table.primary_key:
            raise SchemaError(f"table {table_name!r} exists with primary key ({', '.join(table.primary_key) or 'none'})")
        if declared is not None and [name for name, _ in declared] != table.columns:
            raise SchemaError(
                f"columns {[name for name, _ in declared]} differ from table {table_name!r}'s {table.columns}"
            )
        reader = DelimitedReader(
            path, delimiter=delimiter, header=header, columns=declared or [(c.name, c.type) for c in table.schema.columns]
        )
        if reader.header:
            _check_header(path, reader.delimiter, table.columns)
    else:
        reader = DelimitedReader(path, delimiter=delimiter, header=header, columns=declared)
        table = db.create_table(
            table_name,
            list(zip(reader.names, (t.name for t in reader.types))),
            primary_key=key,
            layout=layout or "nsm",
            **options,
        )
        created = True

    started = time.perf_counter()
    # The caller's transaction makes this atomic: on an error it also undoes
    # the table created above.
    rows = table.load_columns(_batches(reader, table, progress), source=path)
    return LoadResult(table, rows, time.perf_counter() - started, created)


def _check_header(path: str, delimiter: str, expected: list[str]) -> None:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        names = next(csv.reader(handle, delimiter=delimiter), [])
    if names != expected:
        raise LoadError(
            f"{path}:1: the header names columns {names} but the table has {expected}; "
            f"put the columns in the table's order, or load with --no-header"
        )


def _batches(reader, table, progress) -> Iterator[tuple[list[ColumnData], int, Any]]:
    columns = table.schema.columns
    for batch in reader:
        data = []
        for column, values, nulls in zip(columns, batch.arrays, batch.nulls):
            if nulls is not None and values.dtype == object:
                values = values.copy()
                values[nulls] = filler_for(column)
            if nulls is not None and not column.nullable and nulls.any():
                row = int(nulls.nonzero()[0][0])
                raise LoadError(
                    f"{reader.path}:{int(batch.line_numbers[row])}: column {column.name!r} is NOT NULL "
                    f"but the field is empty"
                )
            data.append(ColumnData(values, nulls))
        if progress is not None:
            progress(batch.row_count)
        yield data, batch.row_count, batch.line_numbers
