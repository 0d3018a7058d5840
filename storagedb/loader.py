"""Bulk loading of delimited text files (CSV, TSV, TPC-H .tbl) into a table.

The file is parsed by the vectorised reader in ``storagedb.csvio`` and
inserted with one atomic :meth:`Table.load_columns` call. A bad row anywhere
stops the load with the file, line, column and value. The table is then left
exactly as it was, and a table that the load created is dropped again.
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

__all__ = ["load_file", "LoadResult", "check_input_file"]


@dataclass
class LoadResult:
    """Summary of a load: the table, rows inserted, seconds taken and whether the load created the table."""

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
    columns: Sequence[tuple[str, str | ColumnType] | tuple[str, str | ColumnType, str]] | None = None,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> LoadResult:
    """Load a delimited text file into ``table_name``, creating the table if needed.

    A new table gets the file's column names (from the header, or
    ``columns``) and types (inferred from the first 64 MiB unless
    ``columns`` gives them), plus ``layout``, ``primary_key`` and table
    ``options``. ``columns`` entries are ``(name, type)`` or
    ``(name, type, "not null")``. Loading into an existing table appends
    new segments. There the file's header, if any, must name the table's
    columns in order, and ``columns``, if given, must repeat the table's
    names, types and NOT NULL constraints.

    Raises:
        LoadError: a bad row or an unreadable file; the message names the
            file and line.
        DuplicateKeyError: a key repeats or already exists.
        SchemaError: the arguments do not fit an existing table, or an
            option does not apply to the layout.
    """
    from .csvio import DelimitedReader

    path = os.fspath(path)
    check_input_file(path)
    declared, not_null = _parse_declared(columns)
    key = [part.strip() for part in primary_key.split(",")] if isinstance(primary_key, str) else primary_key

    created = False
    if table_name in db.table_names():
        table = db.table(table_name)
        if layout and layout != table.layout:
            raise SchemaError(f"table {table_name!r} exists with layout {table.layout}, not {layout}")
        if key and tuple(key) != table.primary_key:
            raise SchemaError(f"table {table_name!r} exists with primary key ({', '.join(table.primary_key) or 'none'})")
        if options:
            raise SchemaError(
                f"table {table_name!r} exists, so its options are fixed; "
                f"{', '.join(sorted(options))} only apply when the load creates the table"
            )
        if declared is not None:
            _check_declared(table, declared, not_null)
        reader = DelimitedReader(
            path, delimiter=delimiter, header=header, columns=[(c.name, c.type) for c in table.schema.columns]
        )
        if reader.header:
            _check_header(path, reader.delimiter, table.columns)
    else:
        _check_layout_options(layout or "nsm", options)
        reader = DelimitedReader(path, delimiter=delimiter, header=header, columns=declared)
        specs = [
            (name, ctype.name, "not null") if name in not_null else (name, ctype.name)
            for name, ctype in zip(reader.names, reader.types)
        ]
        table = db.create_table(table_name, specs, primary_key=key, layout=layout or "nsm", **options)
        created = True

    started = time.perf_counter()
    # The caller's transaction makes this atomic: on an error it also undoes
    # the table created above.
    rows = table.load_columns(_batches(reader, table, progress), source=path)
    return LoadResult(table, rows, time.perf_counter() - started, created)


def check_input_file(path: str) -> None:
    """Raise LoadError unless ``path`` is a regular file."""
    if os.path.isdir(path):
        raise LoadError(f"{path}: is a directory; give the path of a CSV, TSV or .tbl file")
    if not os.path.exists(path):
        raise LoadError(f"{path}: no such file")
    if not os.path.isfile(path):
        # The reader seeks back to the start after inferring types, which a
        # pipe or a device cannot do.
        raise LoadError(f"{path}: not a regular file; save the data to a file and load that")


def _parse_declared(
    columns: Sequence[tuple[str, str | ColumnType] | tuple[str, str | ColumnType, str]] | None,
) -> tuple[list[tuple[str, ColumnType]] | None, set[str]]:
    """Split ``columns`` into ``(name, type)`` pairs and the names declared ``not null``."""
    if not columns:
        return None, set()
    declared = []
    not_null = set()
    for spec in columns:
        if len(spec) == 3:
            name, ctype, constraint = spec
            if str(constraint).strip().lower() != "not null":
                raise SchemaError(f"column {name!r}: unknown constraint {constraint!r}; use 'not null'")
            not_null.add(name)
        else:
            name, ctype = spec
        declared.append((name, parse_type(ctype) if isinstance(ctype, str) else ctype))
    return declared, not_null


def _check_declared(table: "Table", declared: list[tuple[str, ColumnType]], not_null: set[str]) -> None:
    """Reject ``columns`` that differ from an existing table's names, types or NOT NULL."""
    names = [name for name, _ in declared]
    if names != table.columns:
        raise SchemaError(f"columns {names} differ from table {table.name!r}'s {table.columns}")
    for (name, ctype), column in zip(declared, table.schema.columns):
        if ctype.name != column.type.name:
            raise SchemaError(
                f"column {name!r} is declared {ctype.name} but table {table.name!r} stores it as "
                f"{column.type.name}; declare the table's types, or leave the types out of the load"
            )
        if name in not_null and column.nullable:
            raise SchemaError(
                f"column {name!r} is declared not null but table {table.name!r} allows NULL in it; "
                f"a load cannot change a column's constraint"
            )


def _check_layout_options(layout: str, options: dict[str, Any]) -> None:
    # NSM pages store whole row records and have no column chunks to encode
    # or group, so create_table would accept these options and ignore them.
    if layout == "nsm":
        for name in ("compression", "row_group_rows"):
            if name in options:
                raise SchemaError(f"option {name} applies to dsm and pax tables, not nsm; choose one of those layouts")


def _check_header(path: str, delimiter: str, expected: list[str]) -> None:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        names = next(csv.reader(handle, delimiter=delimiter), [])
    if names != expected:
        raise LoadError(
            f"{path}:1: the header names columns {names} but the table has {expected}; "
            f"rename or reorder the header's columns to match the table, "
            f"or, if the first line is data, load with --no-header"
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
