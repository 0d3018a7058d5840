"""The ``storagedb`` command-line tool.

Subcommands: ``load``, ``scan``, ``get``, ``info``, ``check``, ``compact``,
``demo`` and ``bench``. Exit status: 0 on success, 2 for a usage or input
error, and 1 for every other failure: a key, table or database not found,
damage found by ``check``, a locked database, an error read from disk. Errors
are one line on stderr; ``--debug`` shows the traceback too. Log warnings
(recovery after a crash) print as ``storagedb: warning: ...`` lines.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import sys
import time
from typing import Any, Iterable, Iterator, Sequence

from . import __version__
from .errors import (
    CHECK_HINT,
    DatabaseLockedError,
    InvalidInputError,
    LoadError,
    NotFoundError,
    SchemaError,
    StorageDBError,
)

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_NOT_FOUND, EXIT_INPUT = 0, 1, 2
#: Rows the ``table`` format prints when no ``--limit`` is given.
DEFAULT_TABLE_ROWS = 1000
#: Buffer pool of every command: 32 MiB (8,192 frames of 4 KiB). A command
#: passes over its pages about once, so a larger pool saves no reads, and
#: allocating the library's default 128 MiB took about 0.35 s per command
#: (more than a whole ``get``) when measured on a 2-core Linux machine.
CLI_POOL_BYTES = 32 << 20


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors: exit 2
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"storagedb: error: {message}\n")


def _positive_int(text: str) -> int:
    """Parse an integer of at least 1 (an argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="storagedb", description="An embedded, disk-backed storage engine.")
    parser.add_argument("--version", action="version", version=f"storagedb {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    load = commands.add_parser("load", help="bulk load a CSV, TSV or TPC-H .tbl file into a table")
    load.add_argument("db", metavar="DB", help="database directory (created if missing)")
    load.add_argument("table", metavar="TABLE", help="table name (created if missing)")
    load.add_argument("file", metavar="FILE", help="input file; the delimiter follows the extension")
    load.add_argument("--layout", choices=["nsm", "dsm", "pax"], help="layout of a new table (default nsm)")
    load.add_argument("--primary-key", metavar="COL[,COL]", help="primary key column(s) of a new table")
    load.add_argument("--delimiter", metavar="C", help="field delimiter (one character; \\t for tab)")
    load.add_argument("--no-header", action="store_true", help="the file has no header line")
    load.add_argument(
        "--columns",
        metavar="NAME:TYPE,...",
        help="column names and types instead of inferring them; add ' not null' after a type to forbid empty fields",
    )
    load.add_argument(
        "--compression",
        choices=["auto", "none", "dictionary", "rle", "bitpack", "delta", "for", "zstd", "lz4"],
        help="column encoding of a new DSM or PAX table (default auto: the smallest per chunk)",
    )
    load.add_argument("--segment-rows", type=_positive_int, metavar="N", help="rows per segment of a new table")
    load.add_argument(
        "--row-group-rows", type=_positive_int, metavar="N", help="rows per chunk of a new DSM or PAX table"
    )
    load.set_defaults(handler=cmd_load)

    scan = commands.add_parser("scan", help="print rows of a table")
    scan.add_argument("db", metavar="DB")
    scan.add_argument("table", metavar="TABLE")
    scan.add_argument("--columns", metavar="A,B", help="columns to print (default all)")
    scan.add_argument("--where", metavar="EXPR", help="filter, e.g. \"price > 10 AND NOT (flag = 'R')\"")
    scan.add_argument("--limit", type=int, metavar="N", help="print at most N rows")
    scan.add_argument("--format", choices=["table", "csv", "jsonl"], default="table", help="output format")
    scan.add_argument("--group-by", metavar="A,B", help="group rows by these columns (with --agg)")
    scan.add_argument("--agg", metavar="FUNCS", help="aggregates, e.g. \"sum(x),count(*),avg(y)\"")
    scan.set_defaults(handler=cmd_scan)

    get = commands.add_parser("get", help="print the row with a primary key")
    get.add_argument("db", metavar="DB")
    get.add_argument("table", metavar="TABLE")
    get.add_argument("key", metavar="KEY", nargs="+", help="one value per primary-key column")
    get.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    get.set_defaults(handler=cmd_get)

    info = commands.add_parser("info", help="describe a database or one table")
    info.add_argument("db", metavar="DB")
    info.add_argument("table", metavar="TABLE", nargs="?")
    info.add_argument("--json", action="store_true", help="print JSON instead of tables")
    info.set_defaults(handler=cmd_info)

    check = commands.add_parser("check", help="verify every page checksum and structure")
    check.add_argument("db", metavar="DB")
    check.set_defaults(handler=cmd_check)

    compact = commands.add_parser("compact", help="merge a table's segments, dropping deleted rows")
    compact.add_argument("db", metavar="DB")
    compact.add_argument("table", metavar="TABLE")
    compact.set_defaults(handler=cmd_compact)

    demo = commands.add_parser("demo", help="load the bundled sample data and show what storagedb does")
    demo.add_argument("--keep", metavar="DIR", help="build the demo database in DIR and keep it")
    demo.set_defaults(handler=cmd_demo)

    bench = commands.add_parser("bench", help="run the OLTP or OLAP benchmark (needs the bench extra)")
    bench.add_argument("suite", choices=["oltp", "olap"])
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="options of the benchmark harness")
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``storagedb`` command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits after --help, --version or a usage error; return its
        # status so that a caller of main() gets a code, as for other errors.
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_INPUT
    logger = logging.getLogger("storagedb")
    saved_level = logger.level
    handler = _StderrLogHandler(logging.DEBUG if args.debug else logging.WARNING)
    logger.addHandler(handler)
    if args.debug:
        logger.setLevel(logging.DEBUG)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("storagedb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``| head``); that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (StorageDBError, OSError) as exc:
        if args.debug:
            raise
        print(f"storagedb: error: {_one_line(exc)}{_damage_hint(exc, args)}", file=sys.stderr)
        # Input files and database paths are checked before use, so a file
        # not found after that is one of the database's own: damage, not a
        # usage error.
        if isinstance(exc, (InvalidInputError, IsADirectoryError, PermissionError)):
            return EXIT_INPUT
        return EXIT_NOT_FOUND
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)


class _StderrLogHandler(logging.Handler):
    """Print the library's log records as ``storagedb: warning: ...`` lines.

    It writes to ``sys.stderr`` as it is at each record, so the lines follow
    a caller that redirects stderr between calls of :func:`main`.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"storagedb: {record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)
        except Exception:
            self.handleError(record)


def _damage_hint(exc: BaseException, args: argparse.Namespace) -> str:
    """Return advice for a file of the database that is missing, or an empty string."""
    db = getattr(args, "db", None)
    if not isinstance(exc, FileNotFoundError) or not db or not exc.filename:
        return ""
    inside = os.path.abspath(str(exc.filename)).startswith(os.path.abspath(db) + os.sep)
    return f"; the database lists this file, so run 'storagedb check {db}'" if inside else ""


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename and not isinstance(exc, StorageDBError):
        return f"{exc.filename}: {exc.strerror or exc}"
    lines = str(exc).split("\n")
    # A --where error ends with the condition and a caret under the bad
    # token. Joined into one line the caret points nowhere, and the first
    # line already names the position ("at column 12"), so drop the two.
    if len(lines) >= 3 and lines[-1].strip() == "^":
        lines = lines[:-2]
        lines[-1] = lines[-1].rstrip(":")
    return " ".join(line.strip() for line in lines if line.strip())


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise SchemaError(f"empty column name in {text!r}")
    return parts


def _parse_columns_option(text: str) -> list[tuple[str, ...]]:
    """Parse ``--columns`` into ``(name, type)`` or ``(name, type, "not null")`` tuples.

    ``"id:int64 not null,price:decimal(12,2)"`` gives ``[("id", "int64",
    "not null"), ("price", "decimal(12,2)")]``: commas inside parentheses
    belong to the type.

    Raises:
        SchemaError: an entry is not ``NAME:TYPE`` or lacks a name or type.
    """
    out: list[tuple[str, ...]] = []
    depth = 0
    current = ""
    for ch in text + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(_parse_column_entry(current))
            current = ""
        else:
            current += ch
    return out


def _parse_column_entry(entry: str) -> tuple[str, ...]:
    if ":" not in entry:
        raise SchemaError(f"--columns entry {entry.strip()!r} must be NAME:TYPE")
    name, _, type_name = entry.partition(":")
    name, type_name = name.strip(), " ".join(type_name.split())
    if not name:
        raise SchemaError(f"--columns entry {entry.strip()!r} has no column name")
    if not type_name:
        raise SchemaError(f"--columns entry {entry.strip()!r} has no type after the ':'")
    if type_name.lower().endswith(" not null"):
        return (name, type_name[: -len(" not null")].strip(), "not null")
    return (name, type_name)


def _open_db(path: str, readonly: bool, create: bool = False):
    """Open the database at ``path``; only ``create`` lets a missing one be made."""
    from . import connect

    _check_database_path(path, must_exist=not create)
    try:
        return connect(path, readonly=readonly, pool_size=CLI_POOL_BYTES)
    except DatabaseLockedError:
        raise DatabaseLockedError(_locked_message(path, readonly)) from None


def _check_database_path(path: str, must_exist: bool) -> None:
    """Reject a path that is not a database directory, before anything is created in it.

    A command that only reads needs an existing database. ``load`` may also
    create one, in a new or empty directory, but not among other files: a
    mistyped path such as ``.`` would otherwise fill the user's directory
    with a catalog, a log and table folders.
    """
    from .catalog import CATALOG_NAME
    from .database import LOCK_NAME
    from .wal.log import LOG_NAME

    if os.path.exists(path) and not os.path.isdir(path):
        raise InvalidInputError(f"{path} is a file, not a database directory; give the path of a directory")
    if os.path.isfile(os.path.join(path, CATALOG_NAME)):
        return
    if must_exist:
        if not os.path.isdir(path):
            raise NotFoundError(f"{path}: no database here")
        raise NotFoundError(f"{path}: not a storagedb database (it has no {CATALOG_NAME}); give the directory that load created")
    others = sorted(set(os.listdir(path)) - {LOCK_NAME, LOG_NAME}) if os.path.isdir(path) else []
    if others:
        raise InvalidInputError(
            f"{path} contains other files ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}) and no "
            f"storagedb database; give a new or empty directory for the database"
        )


def _locked_message(path: str, readonly: bool) -> str:
    # The library's message suggests readonly=True, an argument of the
    # Python API; on the command line the only fix is to wait.
    if readonly:
        return f"database is locked: another process is writing to {path}; retry when it has closed the database"
    return f"database is locked: another process has {path} open; retry when it has closed the database"


# -- load ------------------------------------------------------------------


def cmd_load(args: argparse.Namespace) -> int:
    from .loader import check_input_file

    delimiter = args.delimiter
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise LoadError(f"--delimiter must be one character, got {args.delimiter!r}")
    options: dict[str, Any] = {}
    if args.compression is not None:
        options["compression"] = args.compression
    if args.segment_rows is not None:
        options["segment_rows"] = args.segment_rows
    if args.row_group_rows is not None:
        options["row_group_rows"] = args.row_group_rows
    columns = _parse_columns_option(args.columns) if args.columns else None
    # A missing input file is reported before the database is created.
    check_input_file(args.file)
    with _open_db(args.db, readonly=False, create=True) as db:
        _check_table_options(args, db)
        with _LoadProgress(args.file) as progress:
            result = db.load(
                args.table,
                args.file,
                layout=args.layout,
                primary_key=args.primary_key,
                delimiter=delimiter,
                header=False if args.no_header else None,
                columns=columns,
                progress=progress.advance,
                **options,
            )
        db.checkpoint()
        rate = result.rows / result.seconds if result.seconds > 0 else float("inf")
        segments = len(result.table.segments())
        print(
            f"loaded {_plural(result.rows, 'row')} into {args.table} ({result.table.layout}, "
            f"{_plural(segments, 'segment')}) in {result.seconds:.2f} s ({rate:,.0f} rows/s)"
        )
    return EXIT_OK


def _check_table_options(args: argparse.Namespace, db) -> None:
    """Reject table options that a load would otherwise ignore, naming the flag."""
    given = [
        flag
        for flag, value in (
            ("--compression", args.compression),
            ("--segment-rows", args.segment_rows),
            ("--row-group-rows", args.row_group_rows),
        )
        if value is not None
    ]
    if args.table in db.table_names():
        if given:
            raise SchemaError(
                f"table {args.table!r} exists, so {', '.join(given)} cannot change it; "
                f"these options only apply when load creates the table"
            )
        return
    columnar_only = [flag for flag in given if flag != "--segment-rows"]
    if (args.layout or "nsm") == "nsm" and columnar_only:
        raise SchemaError(
            f"{', '.join(columnar_only)} applies to --layout dsm or pax; "
            f"the nsm layout stores whole rows and has no column chunks"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


class _LoadProgress:
    """A rows-per-second progress line on a terminal; nothing otherwise."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._progress = None
        self._task = None

    def __enter__(self) -> "_LoadProgress":
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            # rich draws on stdout by default, which would put the bar into
            # output that a script reads and hide it from the user.
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("loading {task.description}"),
                TextColumn("{task.completed:,} rows"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(os.path.basename(self.path), total=None, rate="")
            self._started = time.perf_counter()
        return self

    def advance(self, rows: int) -> None:
        if self._progress is not None:
            elapsed = time.perf_counter() - self._started
            task = self._progress.tasks[0]
            rate = (task.completed + rows) / elapsed if elapsed > 0 else 0
            self._progress.update(self._task, advance=rows, rate=f"{rate:,.0f} rows/s")

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc_info)


# -- scan and get ------------------------------------------------------------


def cmd_scan(args: argparse.Namespace) -> int:
    from .where import parse_where

    if args.limit is not None and args.limit < 0:
        raise InvalidInputError(f"--limit must be 0 or more, got {args.limit}")
    with _open_db(args.db, readonly=True) as db:
        table = db.table(args.table)
        where = parse_where(args.where) if args.where is not None else None
        if args.agg or args.group_by:
            names, rows = _aggregate(table, args, where)
        else:
            columns = _split(args.columns)
            names = columns or table.columns
            rows = _started(table.scan(columns, where))
        limit = args.limit
        if limit is None and args.format == "table":
            limit = DEFAULT_TABLE_ROWS
        limited = itertools.islice(rows, limit) if limit is not None else rows
        out = sys.stdout
        if args.format == "csv":
            from .cli_format import write_csv

            written = write_csv(out, names, limited)
        elif args.format == "jsonl":
            from .cli_format import write_jsonl

            written = write_jsonl(out, names, limited)
        else:
            from .cli_format import write_table

            written = write_table(out, names, limited)
            if args.limit is None and written == DEFAULT_TABLE_ROWS and next(iter(rows), None) is not None:
                print(f"(first {DEFAULT_TABLE_ROWS} rows; use --limit or --format csv for more)", file=sys.stderr)
    return EXIT_OK


def _started(rows: Iterable[tuple]) -> Iterator[tuple]:
    """Fetch the first row before anything is printed.

    A scan checks its columns and its ``--where`` literals when it starts, so
    a mistake there fails here, before the CSV header reaches stdout.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return iter(())
    return itertools.chain((first,), rows)


def parse_aggregates(text: str) -> dict[str, tuple[str, str]]:
    """``"sum(x),count(*),avg(y)"`` to ``{"sum(x)": ("sum", "x"), ...}``.

    Raises:
        InvalidInputError: an entry is not ``function(column)``.
    """
    import re

    out: dict[str, tuple[str, str]] = {}
    for entry in _split_top_level(text):
        match = re.fullmatch(r"\s*([A-Za-z_]+)\s*\(\s*(\*|\"[^\"]+\"|[^()\s]+)\s*\)\s*", entry)
        if not match:
            raise InvalidInputError(f"--agg entry {entry.strip()!r} is not function(column), e.g. sum(price) or count(*)")
        function, column = match.group(1).lower(), match.group(2).strip('"')
        name = f"{function}({column})"
        if name in out:
            # The output has one column per name, so a repeat would vanish.
            raise InvalidInputError(f"--agg names {name} twice; list each aggregate once")
        out[name] = (function, column)
    if not out:
        raise InvalidInputError("--agg names no aggregate")
    return out


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def _aggregate(table, args, where) -> tuple[list[str], Iterator[tuple]]:
    if not args.agg:
        raise InvalidInputError("--group-by needs --agg, e.g. --agg \"count(*)\"")
    if args.columns:
        raise InvalidInputError("--columns cannot be combined with --agg; the output columns are the groups and aggregates")
    group_by = _split(args.group_by) or []
    aggregates = parse_aggregates(args.agg)
    result = table.aggregate(group_by=group_by, aggregates=aggregates, where=where)
    return list(result.names), iter(result.rows)


def cmd_get(args: argparse.Namespace) -> int:
    with _open_db(args.db, readonly=True) as db:
        table = db.table(args.table)
        if not table.primary_key:
            raise InvalidInputError(f"table {args.table!r} has no primary key; use 'storagedb scan --where' instead")
        if len(args.key) != len(table.primary_key):
            raise InvalidInputError(
                f"table {args.table!r} has a {len(table.primary_key)}-column key "
                f"({', '.join(table.primary_key)}); got {_plural(len(args.key), 'value')}"
            )
        key = tuple(
            table.schema.column(name).type.parse_text(text, name) for name, text in zip(table.primary_key, args.key)
        )
        key = tuple(
            table.schema.column(name).type.from_storage(value) for name, value in zip(table.primary_key, key)
        )
        row = table.get(key if len(key) > 1 else key[0])
        if row is None:
            print(f"storagedb: not found: no row with key {' '.join(args.key)} in {args.table}", file=sys.stderr)
            return EXIT_NOT_FOUND
        if args.format == "json":
            from .cli_format import json_value

            print(json.dumps({name: json_value(value) for name, value in row.items()}, ensure_ascii=False))
        else:
            from .cli_format import write_table

            write_table(sys.stdout, ["column", "value"], list(row.items()))
    return EXIT_OK


# -- info, check, compact ------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    from .inspect import database_info, table_info

    with _open_db(args.db, readonly=True) as db:
        info = table_info(db, args.table) if args.table else database_info(db)
    for name, problem in info.get("unreadable_tables", {}).items():
        print(f"storagedb: warning: table {name!r} cannot be read: {problem}", file=sys.stderr)
    if args.json:
        from .cli_format import json_value

        print(json.dumps(_jsonable(info, json_value), indent=2, ensure_ascii=False))
    else:
        from .inspect import print_info

        print_info(sys.stdout, info)
    return EXIT_OK


def _jsonable(value: Any, convert) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item, convert) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, convert) for item in value]
    return convert(value)


def cmd_check(args: argparse.Namespace) -> int:
    from .inspect import check_database

    _check_database_path(args.db, must_exist=True)
    try:
        problems, checked = check_database(args.db)
    except DatabaseLockedError:
        raise DatabaseLockedError(_locked_message(args.db, readonly=True)) from None
    for problem in problems:
        # Library errors end by pointing at this command, which is already running.
        print(problem.removesuffix(CHECK_HINT), file=sys.stderr)
    if problems:
        print(
            f"check failed: {_plural(len(problems), 'problem')} in {_plural(checked['files'], 'file')}",
            file=sys.stderr,
        )
        return EXIT_NOT_FOUND
    in_log = f", and {_plural(checked['log_rows'], 'row')} from the write-ahead log" if checked["log_rows"] else ""
    print(
        f"ok: {_plural(checked['files'], 'file')}, {_plural(checked['pages'], 'page')}, "
        f"{_plural(checked['rows'], 'row')}{in_log} checked"
    )
    return EXIT_OK


def cmd_compact(args: argparse.Namespace) -> int:
    with _open_db(args.db, readonly=False) as db:
        table = db.table(args.table)
        before = len(table.segments())
        result = table.compact()
        after = len(table.segments())
        print(
            f"compacted {args.table} from {_plural(before, 'segment')} to {after:,}: "
            f"{_plural(result['rows'], 'live row')}"
        )
    return EXIT_OK


# -- demo and bench ------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    if args.keep:
        _check_database_path(args.keep, must_exist=False)
    return run_demo(args.keep)


def cmd_bench(args: argparse.Namespace) -> int:
    try:
        from .bench import run_cli
    except ImportError as exc:
        raise InvalidInputError(
            f"the benchmark harness needs the bench extra: pip install 'storagedb[bench]' ({exc})"
        ) from None
    return run_cli(args.suite, args.rest)


if __name__ == "__main__":
    sys.exit(main())
