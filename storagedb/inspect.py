"""The reports of ``storagedb info`` and the checks of ``storagedb check``."""

from __future__ import annotations

import os
from typing import Any, TextIO

from .catalog import Catalog
from .errors import StorageDBError
from .schema import Schema
from .storage import slotted_page
from .storage.buffer_pool import BufferPool
from .storage.overflow import OVERFLOW_HEADER, chain_capacity
from .storage.page import PAGE_HEADER_SIZE, PageType, read_header
from .storage.paged_file import FREE_NEXT, PagedFile

__all__ = ["database_info", "table_info", "print_info", "check_database"]


def database_info(db) -> dict[str, Any]:
    tables = []
    for name in db.table_names():
        stats = db.table(name).stats()
        tables.append(
            {
                "name": name,
                "layout": stats["layout"],
                "rows": stats["rows"],
                "segments": stats["segments"],
                "pages": stats["pages"],
                "bytes": stats["bytes"],
                "primary_key": list(db.table(name).primary_key),
            }
        )
    return {
        "database": db.path,
        "page_size": db.page_size,
        "tables": tables,
        "unreadable_tables": db.unreadable_tables(),
        "buffer_pool": db.stats(),
    }


def table_info(db, name: str) -> dict[str, Any]:
    table = db.table(name)
    stats = table.stats()
    return {
        "table": name,
        "layout": table.layout,
        "primary_key": list(table.primary_key),
        "rows": stats["rows"],
        "pages": stats["pages"],
        "bytes": stats["bytes"],
        "options": table.options,
        "columns": table.column_info(),
        "segments": table.segments(),
        "counters": {key: stats[key] for key in ("lookups", "pages_read", "pages_skipped", "data_pages_read")},
        "buffer_pool": db.stats(),
    }


def print_info(out: TextIO, info: dict[str, Any]) -> None:
    from .cli_format import write_table

    if "tables" in info:
        print(f"database {info['database']} (page size {info['page_size']} bytes)", file=out)
        rows = [
            (
                t["name"],
                t["layout"],
                f"{t['rows']:,}",
                f"{t['segments']:,}",
                f"{t['pages']:,}",
                _size(t["bytes"]),
                ", ".join(t["primary_key"]),
            )
            for t in info["tables"]
        ]
        write_table(out, ["table", "layout", "rows", "segments", "pages", "on disk", "primary key"], rows)
    else:
        key = ", ".join(info["primary_key"]) or "none"
        print(
            f"table {info['table']}: layout {info['layout']}, {info['rows']:,} rows, {info['pages']:,} pages, "
            f"{_size(info['bytes'])} on disk, primary key: {key}",
            file=out,
        )
        rows = []
        for column in info["columns"]:
            ratio = column.get("ratio")
            rows.append(
                (
                    column["name"],
                    column["type"],
                    "" if column.get("pages") is None else column["pages"],
                    column.get("encoding") or "",
                    _size(column.get("raw_bytes")),
                    _size(column.get("stored_bytes")),
                    "" if ratio is None else f"{ratio:.2f}x",
                )
            )
        write_table(out, ["column", "type", "pages", "encoding", "raw", "stored", "ratio"], rows, title="columns")
        segments = [
            (
                s["file"],
                f"{s['rows']:,}",
                f"{s['deleted_rows']:,}",
                f"{s['pages']:,}",
                "" if "min_key" not in s else _key(s["min_key"]),
                "" if "max_key" not in s else _key(s["max_key"]),
                _size(s.get("bloom_bytes")),
                s.get("bloom_bits_per_key", ""),
            )
            for s in info["segments"]
        ]
        write_table(
            out,
            ["segment", "rows", "deleted", "pages", "min key", "max key", "bloom", "bits/key"],
            segments,
            title="segments",
        )
    pool = info["buffer_pool"]
    print(
        f"buffer pool: {pool['pool_frames']:,} frames; hits {pool['hits']:,}, misses {pool['misses']:,}, "
        f"reads {pool['reads']:,}, writes {pool['writes']:,}, evictions {pool['evictions']:,}",
        file=out,
    )


def _key(values: list) -> str:
    from .cli_format import format_value

    return ", ".join(format_value(v) for v in values)


def _size(value: int | None) -> str:
    if value is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return str(value)


# -- check -------------------------------------------------------------------


def check_database(path: str) -> tuple[list[str], dict[str, int]]:
    """Verify every page of every file a database lists, then decode every row.

    Returns the problems found (one line each, naming the file and page)
    and counts of what was checked.
    """
    from .database import _take_lock
    from .segment import SealedSegment

    problems: list[str] = []
    checked = {"files": 0, "pages": 0, "rows": 0, "log_rows": 0}
    lock = _take_lock(os.path.abspath(path), readonly=True)
    try:
        try:
            catalog = Catalog.load_or_create(path, readonly=True)
        except StorageDBError as exc:
            return [str(exc)], checked
        page_size = int(catalog.data.get("page_size", 4096))
        pool = BufferPool(256, page_size)
        for name, entry in sorted(catalog.data["tables"].items()):
            directory = os.path.join(path, entry["directory"])
            try:
                schema = Schema.from_json(entry["schema"])
            except (StorageDBError, KeyError, TypeError, ValueError) as exc:
                problems.append(f"table {name!r}: schema in the catalog is invalid: {exc}")
                continue
            for segment in entry["segments"]:
                segment_path = os.path.join(directory, segment["file"])
                files = [segment["file"]] + ([segment["delete_vector"]] if segment.get("delete_vector") else [])
                segment_damaged = False
                for file_name in files:
                    file_path = os.path.join(directory, file_name)
                    checked["files"] += 1
                    page_problems, pages = _check_pages(file_path, page_size)
                    checked["pages"] += pages
                    problems.extend(page_problems)
                    segment_damaged = segment_damaged or (file_path == segment_path and bool(page_problems))
                if segment_damaged:
                    continue
                try:
                    opened = SealedSegment.open(segment_path, pool, schema)
                except (StorageDBError, OSError) as exc:
                    problems.append(_file_problem(segment_path, exc))
                    continue
                try:
                    if opened.rows != segment.get("rows", opened.rows):
                        problems.append(
                            f"{opened.path}: holds {opened.rows} rows, the catalog says {segment['rows']}"
                        )
                    checked["rows"] += _decode_all(opened, problems)
                finally:
                    opened.close()
        # Tables whose files failed above would be reported twice as unreadable.
        problems.extend(_check_opening(path, checked, report_unreadable=not problems))
    finally:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
    return problems, checked


def _check_opening(path: str, checked: dict[str, int], report_unreadable: bool) -> list[str]:
    """Open the database read-only as a user would, which reads the write-ahead log.

    The checks above read the catalog and the segment files but not the
    log, whose damaged header or middle would stop every later open. The
    rows that live only in the log (committed since the last checkpoint)
    are decoded here and counted in ``checked["log_rows"]``. With
    ``report_unreadable``, each table the open leaves out is a problem too.
    """
    from .database import connect

    problems: list[str] = []
    try:
        with connect(path, readonly=True) as db:
            if report_unreadable:
                for name, problem in db.unreadable_tables().items():
                    problems.append(f"table {name!r} cannot be read: {problem}")
            for name in db.table_names():
                table = db.table(name)
                if table._open is None:
                    continue
                every_column = list(range(len(table.schema.columns)))
                for columns, _rids in table._open.scan(every_column):
                    checked["log_rows"] += len(columns[0]) if columns else 0
    except (StorageDBError, OSError) as exc:
        return [str(exc) if isinstance(exc, StorageDBError) else f"{exc.filename}: {exc.strerror or exc}"]
    return problems


def _decode_all(segment, problems: list[str]) -> int:
    from .segment import SegmentStats

    rows = 0
    try:
        for _first, columns in segment.scan(list(range(len(segment.schema.columns))), None, SegmentStats()):
            rows += len(columns[0]) if columns else 0
    except StorageDBError as exc:
        problems.append(str(exc))
        return rows
    if rows != segment.rows:
        problems.append(f"{segment.path}: decoded {rows} rows, the segment declares {segment.rows}")
    return rows


def _check_pages(path: str, page_size: int) -> tuple[list[str], int]:
    """Read every page of one file, checking checksums and per-type structure."""
    problems: list[str] = []
    try:
        file = PagedFile.open(path, page_size=page_size, readonly=True)
    except (StorageDBError, OSError) as exc:
        return [_file_problem(path, exc)], 0
    frame = memoryview(bytearray(page_size))
    try:
        for page_no in range(1, file.page_count):
            try:
                file.read_into(page_no, frame)
            except StorageDBError as exc:
                problems.append(str(exc))
                continue
            header = read_header(frame)
            issue = _page_structure(frame, header.page_type, file.page_count, page_size)
            if issue:
                problems.append(f"{path}: page {page_no}: {issue}")
        return problems, file.page_count
    finally:
        file.close()


def _file_problem(path: str, exc: Exception) -> str:
    """Describe in one line what is wrong with the file at ``path``."""
    if isinstance(exc, FileNotFoundError):
        return f"{path} is missing, although the catalog lists it"
    if isinstance(exc, OSError) and not isinstance(exc, StorageDBError):
        return f"{path}: cannot be read: {exc.strerror or exc}"
    return str(exc) if path in str(exc) else f"{path}: {exc}"


def _page_structure(frame: memoryview, page_type: int, page_count: int, page_size: int) -> str | None:
    if page_type == PageType.SLOTTED:
        found = slotted_page.check_page(frame)
        return "; ".join(found) if found else None
    if page_type == PageType.OVERFLOW:
        next_page, size = OVERFLOW_HEADER.unpack_from(frame, PAGE_HEADER_SIZE)
        if size > chain_capacity(page_size) or next_page >= page_count:
            return f"overflow page header is invalid (next {next_page}, {size} bytes)"
        return None
    if page_type == PageType.FREE:
        (next_free,) = FREE_NEXT.unpack_from(frame, PAGE_HEADER_SIZE)
        return None if next_free < page_count else f"free page points past the end (next {next_free})"
    if page_type == PageType.RUN:
        return None
    return f"unexpected page type {page_type}"

