"""Databases: a directory of tables sharing one buffer pool.

A database directory holds::

    LOCK                 the OS lock file (flock) that admits one writer
    catalog.sdb          the committed catalog (``catalog.py``)
    t000001/             one folder per table, named by table id, holding
        seg-000004.sdb   sealed segments,
        del-000009.sdb   their delete vectors,
        open-000011.sdb  and the open segment's scratch file

Opening takes the lock (exclusive for writing, shared for ``readonly``),
loads the catalog, removes files the catalog does not list (left by a crash
between writing a file and committing the catalog), and opens every table.
Closing seals open segments, writes changed delete vectors, commits the
catalog and releases the lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from typing import Any, Iterable, Sequence

from .catalog import Catalog, valid_dir_name, valid_file_name
from .errors import (
    DatabaseClosedError,
    DatabaseLockedError,
    NotFoundError,
    SchemaError,
    TableNotFoundError,
    UnsupportedError,
)
from .schema import MAX_NAME_LENGTH, Schema
from .segment import LAYOUT_NAMES
from .storage.buffer_pool import BufferPool
from .storage.page import DEFAULT_PAGE_SIZE, validate_page_size
from .storage.paged_file import fsync_directory
from .storage.replacer import REPLACER_NAMES
from .table import Table

__all__ = ["Database", "connect", "DEFAULT_POOL_BYTES"]

log = logging.getLogger(__name__)

#: Default buffer pool: 128 MiB (32,768 frames of 4 KiB).
DEFAULT_POOL_BYTES = 128 << 20
LOCK_NAME = "LOCK"
_TABLE_OPTIONS = {"segment_rows", "row_group_rows", "compression", "bloom_bits_per_key"}
COMPRESSIONS = ("auto", "none", "plain", "dictionary", "rle", "bitpack", "delta", "for", "zstd", "lz4")


def connect(
    path: str | os.PathLike,
    *,
    readonly: bool = False,
    pool_size: int = DEFAULT_POOL_BYTES,
    page_size: int = DEFAULT_PAGE_SIZE,
    replacer: str = "lru-k",
) -> "Database":
    """Open the database in directory ``path``, creating it if needed.

    Args:
        path: the database directory.
        readonly: open without the write lock (several readers may share
            a database; a writer excludes them all).
        pool_size: buffer-pool size in bytes (rounded down to whole pages).
        page_size: page size for a new database; an existing one keeps its own.
        replacer: buffer-pool replacement policy: ``"lru-k"``, ``"lru"`` or
            ``"clock"``.

    Example:
        >>> with storagedb.connect("shop.db") as db:  # doctest: +SKIP
        ...     orders = db.create_table("orders", [("id", "int64", "not null")], primary_key="id")

    Raises:
        DatabaseLockedError: another process has the database open for writing.
        CorruptCatalogError: the catalog is damaged.
    """
    return Database(os.fspath(path), readonly=readonly, pool_size=pool_size, page_size=page_size, replacer=replacer)


class Database:
    """An open database directory. Use :func:`connect`; close it (or use ``with``) when done."""

    def __init__(self, path: str, *, readonly: bool, pool_size: int, page_size: int, replacer: str) -> None:
        self.path = os.path.abspath(path)
        self.readonly = readonly
        self._closed = True
        self._lock = threading.RLock()
        if replacer not in REPLACER_NAMES:
            raise ValueError(f"unknown replacement policy {replacer!r}; choose one of {', '.join(REPLACER_NAMES)}")
        if readonly and not os.path.isdir(self.path):
            raise NotFoundError(f"{self.path}: no database here (open it without readonly to create one)")
        os.makedirs(self.path, exist_ok=True)
        self._lock_fd = _take_lock(self.path, readonly)
        try:
            self._catalog = Catalog.load_or_create(self.path, readonly=readonly)
            page_size = int(self._catalog.data.get("page_size", page_size))
            validate_page_size(page_size)
            if "page_size" not in self._catalog.data and not readonly:
                draft = self._catalog.draft()
                draft["page_size"] = page_size
                self._catalog.commit(draft)
            self.page_size = page_size
            frames = max(16, int(pool_size) // page_size)
            self._pool = BufferPool(frames, page_size, replacer=replacer)
            self._next_file_id = int(self._catalog.data["next_file_id"])
            self._pending_removals: list[str] = []
            if not readonly:
                self._remove_orphans()
            self._tables: dict[str, Table] = {}
            self._closed = False
            for name, entry in self._catalog.data["tables"].items():
                self._tables[name] = Table(self, name, entry)
        except BaseException:
            self._release()
            raise
        log.info("opened database %s (%d tables, %s)", self.path, len(self._tables), "read-only" if readonly else "read-write")

    # -- tables ----------------------------------------------------------

    def create_table(
        self,
        name: str,
        columns: Iterable[Any],
        primary_key: str | Sequence[str] | None = None,
        layout: str = "nsm",
        **options: Any,
    ) -> Table:
        """Create a table and return it.

        ``columns`` are ``(name, type)`` or ``(name, type, "not null")``
        tuples. ``layout`` is ``"nsm"`` (rows), ``"dsm"`` (columns) or
        ``"pax"`` (row groups of column chunks). Options:
        ``segment_rows`` (rows per segment, default 1,048,576),
        ``row_group_rows`` (rows per DSM chunk or PAX row group, default
        65,536), ``compression`` (``"auto"`` or an encoding name) and
        ``bloom_bits_per_key`` (default 10).

        Example:
            >>> db.create_table("orders", [("id", "int64", "not null"), ("total", "decimal(12,2)")],
            ...                 primary_key="id", layout="pax")  # doctest: +SKIP

        Raises:
            SchemaError: bad name, column, type, key or option, or the table exists.
        """
        with self._lock:
            self._check_writable()
            _validate_table_name(name)
            if name in self._tables:
                raise SchemaError(f"table {name!r} already exists")
            if layout not in LAYOUT_NAMES:
                raise SchemaError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUT_NAMES)}")
            unknown = set(options) - _TABLE_OPTIONS
            if unknown:
                raise SchemaError(f"unknown table option {sorted(unknown)[0]!r}; options are {', '.join(sorted(_TABLE_OPTIONS))}")
            _validate_options(options)
            schema = Schema.build(columns, primary_key)
            draft = self._catalog.draft()
            table_id = draft["next_table_id"]
            directory = f"t{table_id:06d}"
            os.makedirs(os.path.join(self.path, directory), exist_ok=True)
            fsync_directory(self.path)
            entry = {
                "id": table_id,
                "schema": schema.to_json(),
                "layout": layout,
                "options": options,
                "directory": directory,
                "segments": [],
            }
            draft["next_table_id"] = table_id + 1
            draft["tables"][name] = entry
            draft["next_file_id"] = self._next_file_id
            self._catalog.commit(draft)
            table = Table(self, name, entry)
            self._tables[name] = table
            log.info("created table %s (%s, %d columns)", name, layout, len(schema.columns))
            return table

    def load(self, table: str, path: str | os.PathLike, **options: Any):
        """Bulk load a CSV, TSV or TPC-H ``.tbl`` file into ``table`` (created if missing).

        Keyword options: ``layout``, ``primary_key``, ``delimiter``,
        ``header``, ``columns`` (``[(name, type), ...]``), ``progress`` (a
        callable given the rows of each batch) and table options for a new
        table (``compression``, ``segment_rows``, ...). The load is atomic.
        Returns a ``LoadResult`` with ``table``, ``rows`` and ``seconds``.

        Example:
            >>> db.load("lineitem", "seeds/lineitem.csv", primary_key="l_orderkey,l_linenumber")  # doctest: +SKIP

        Raises:
            LoadError: a bad row; the message names the file, line and column.
            DuplicateKeyError: a key repeats or exists already.
        """
        from .loader import load_file

        with self._lock:
            self._check_writable()
            return load_file(self, table, path, **options)

    def table(self, name: str) -> Table:
        """The table called ``name``.

        Raises:
            TableNotFoundError: no such table; the message lists the tables.
        """
        with self._lock:
            self._check_open()
            try:
                return self._tables[name]
            except KeyError:
                known = ", ".join(sorted(self._tables)) or "none"
                raise TableNotFoundError(f"no table {name!r} in {self.path} (tables: {known})") from None

    def table_names(self) -> list[str]:
        with self._lock:
            self._check_open()
            return sorted(self._tables)

    def drop_table(self, name: str) -> None:
        """Remove a table and its files."""
        with self._lock:
            self._check_writable()
            table = self.table(name)
            draft = self._catalog.draft()
            del draft["tables"][name]
            table._close()
            self._catalog.commit(draft)
            del self._tables[name]
            directory = table.directory
            for entry in os.listdir(directory):
                if valid_file_name(entry):
                    os.unlink(os.path.join(directory, entry))
            try:
                os.rmdir(directory)
            except OSError:
                log.warning("table directory %s kept: it holds files storagedb did not write", directory)

    def stats(self) -> dict[str, Any]:
        """Buffer-pool counters (``hits``, ``misses``, ``reads``, ``writes``, ``evictions``) and pool size."""
        with self._lock:
            self._check_open()
            out: dict[str, Any] = self._pool.stats.as_dict()
            out["hit_rate"] = self._pool.stats.hit_rate()
            out["pool_frames"] = self._pool.num_frames
            out["page_size"] = self.page_size
            return out

    # -- lifecycle -------------------------------------------------------

    def checkpoint(self) -> None:
        """Seal every open segment and write changed delete vectors, then commit the catalog."""
        with self._lock:
            self._check_writable()
            changed = False
            for table in self._tables.values():
                changed |= table._checkpoint()
            if changed:
                self._commit_tables()

    def close(self) -> None:
        """Checkpoint, close every file and release the lock. Closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            try:
                if not self.readonly:
                    self.checkpoint()
            finally:
                for table in self._tables.values():
                    table._close()
                self._closed = True
                self._release()
                log.info("closed database %s", self.path)

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._tables)} tables"
        return f"<storagedb.Database {self.path!r} {state}>"

    # -- internals -------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosedError(f"database {self.path} is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self.readonly:
            raise UnsupportedError(f"database {self.path} was opened read-only")

    def _new_file_id(self) -> int:
        self._check_writable()
        file_id = self._next_file_id
        self._next_file_id += 1
        return file_id

    def _commit_tables(self) -> None:
        """Commit every table's current segment list, then remove replaced files."""
        draft = self._catalog.draft()
        for name, table in self._tables.items():
            draft["tables"][name]["segments"] = table._catalog_segments()
        draft["next_file_id"] = self._next_file_id
        self._catalog.commit(draft)
        removals, self._pending_removals = self._pending_removals, []
        for path in removals:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def _remove_after_commit(self, path: str) -> None:
        self._pending_removals.append(path)

    def _remove_orphans(self) -> None:
        """Delete table files the catalog does not reference (a crash left them)."""
        listed: dict[str, set[str]] = {}
        for entry in self._catalog.data["tables"].values():
            files = listed.setdefault(entry["directory"], set())
            for segment in entry["segments"]:
                files.add(segment["file"])
                if segment.get("delete_vector"):
                    files.add(segment["delete_vector"])
        for directory in os.listdir(self.path):
            full = os.path.join(self.path, directory)
            if not valid_dir_name(directory) or not os.path.isdir(full):
                continue
            keep = listed.get(directory)
            for name in os.listdir(full):
                if valid_file_name(name) and (keep is None or name not in keep):
                    log.warning("removing %s: no table lists it (left by an interrupted write)", os.path.join(full, name))
                    os.unlink(os.path.join(full, name))
        temporary = os.path.join(self.path, "catalog.sdb.tmp")
        if os.path.exists(temporary):
            os.unlink(temporary)

    def _release(self) -> None:
        fd = getattr(self, "_lock_fd", None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            self._lock_fd = None


def _take_lock(path: str, readonly: bool) -> int:
    lock_path = os.path.join(path, LOCK_NAME)
    fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if readonly else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = "a writer" if readonly else "another process"
        raise DatabaseLockedError(
            f"database is locked: {holder} has {path} open; close it there first, "
            f"or open this one with readonly=True" + ("" if readonly else " if you only read")
        ) from None
    return fd


def _validate_table_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise SchemaError(f"table name must be a non-empty string, not {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise SchemaError(f"table name {name[:40]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise SchemaError(f"table name {name!r} contains a control character")


def _validate_options(options: dict[str, Any]) -> None:
    for key in ("segment_rows", "row_group_rows", "bloom_bits_per_key"):
        if key in options:
            value = options[key]
            low, high = {"segment_rows": (1, 1 << 31), "row_group_rows": (1, 1 << 24), "bloom_bits_per_key": (1, 64)}[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise SchemaError(f"option {key}={value!r} must be an integer from {low} to {high}")
    if "compression" in options and options["compression"] not in COMPRESSIONS:
        raise SchemaError(f"unknown compression {options['compression']!r}; choose one of {', '.join(COMPRESSIONS)}")
