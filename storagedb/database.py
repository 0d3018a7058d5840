"""Databases: a directory of tables sharing one buffer pool and one log.

A database directory holds::

    LOCK                 the OS lock file (flock) that admits one writer
    catalog.sdb          the catalog as of the last checkpoint (``catalog.py``)
    wal.log              the write-ahead log since that checkpoint (``wal/log.py``)
    t000001/             one folder per table, named by table id, holding
        seg-000004.sdb   sealed segments,
        del-000009.sdb   their delete vectors,
        open-000011.sdb  and the open segment's scratch file

Durability: every change is logged, and a commit is durable once its log
records are on disk. With ``synchronous="full"``, every commit waits for an
fdatasync, which concurrent committers share. With ``"normal"``, the records
are handed to the operating system at every commit and synced only at
checkpoints and at commits that switch whole files. A process crash then
loses nothing, but a power loss or OS crash can lose the last row changes.

NOTE: a log cut short inside committed records (by truncation, not by a
crash) reads as a torn tail. The records past the cut are lost with only a
warning, because nothing in the file records how far it was once durable.

A checkpoint seals every open segment, writes changed delete vectors,
commits a new catalog and starts a new log generation. It runs when the log
passes ``checkpoint_bytes``, at ``close()`` and after recovery.

Opening recovers: the catalog's tables are opened, the committed
transactions in the log after the catalog's checkpoint are replayed, a torn
log tail is cut off, and a checkpoint then folds the result into files. Only
after that are files that nothing references removed (left by a crash
between writing a file and committing it).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import threading
from typing import Any, Iterable, Sequence

from .catalog import Catalog, option_problem, table_entry_problem, valid_dir_name, valid_file_name
from .errors import (
    CorruptionError,
    CorruptLogError,
    DatabaseClosedError,
    DatabaseLockedError,
    FileFormatError,
    NotFoundError,
    SchemaError,
    StorageDBError,
    StorageIOError,
    TableNotFoundError,
    TransactionError,
    UnsupportedError,
)
from .schema import MAX_NAME_LENGTH, Schema
from .segment import LAYOUT_NAMES
from .storage.buffer_pool import BufferPool
from .storage.page import DEFAULT_PAGE_SIZE, validate_page_size
from .storage.paged_file import fsync_directory
from .storage.replacer import REPLACER_NAMES
from .layout.columnar import DecodedChunkCache
from .table import Table
from .transaction import Transaction, TransactionBlock, WriteScope
from .wal import records as payloads
from .wal.log import LOG_NAME, RecordType, WriteAheadLog

__all__ = ["Database", "connect", "DEFAULT_POOL_BYTES", "DEFAULT_CHECKPOINT_BYTES"]

log = logging.getLogger(__name__)

#: Default buffer pool: 128 MiB (32,768 frames of 4 KiB).
DEFAULT_POOL_BYTES = 128 << 20
#: A checkpoint runs once the log has grown by this many bytes since the last one.
DEFAULT_CHECKPOINT_BYTES = 64 << 20
#: Decoded DSM and PAX chunks kept for point lookups (see layout/columnar.py).
DEFAULT_CHUNK_CACHE_BYTES = 128 << 20
LOCK_NAME = "LOCK"
SYNCHRONOUS_MODES = ("full", "normal")
#: Commits holding these records sync the log even with synchronous="normal".
#: They name whole files (a bulk load, a compaction, a seal) whose loss would
#: cost far more than one fsync, and a later durable record lets recovery
#: tell damage in the middle of the log from a torn tail.
_SYNCED_ALWAYS = frozenset(
    {
        RecordType.CREATE_TABLE,
        RecordType.DROP_TABLE,
        RecordType.ADD_SEGMENTS,
        RecordType.REPLACE_SEGMENTS,
        RecordType.SEAL,
    }
)


def connect(
    path: str | os.PathLike,
    *,
    readonly: bool = False,
    pool_size: int = DEFAULT_POOL_BYTES,
    page_size: int = DEFAULT_PAGE_SIZE,
    replacer: str = "lru-k",
    synchronous: str = "full",
    checkpoint_bytes: int = DEFAULT_CHECKPOINT_BYTES,
    chunk_cache_size: int = DEFAULT_CHUNK_CACHE_BYTES,
) -> "Database":
    """Open the database in directory ``path``, creating it if needed.

    Args:
        path: the database directory.
        readonly: open without the write lock; several readers may share a
            database, and a writer excludes them all. A read-only open
            leaves out a table whose files are damaged or missing, so the
            other tables stay readable: ``table()`` raises that table's
            error and ``unreadable_tables()`` lists it.
        pool_size: buffer-pool size in bytes (rounded down to whole pages).
        page_size: page size for a new database; an existing one keeps its own.
        replacer: buffer-pool replacement policy: ``"lru-k"``, ``"lru"`` or
            ``"clock"``.
        synchronous: ``"full"`` (default) makes each commit durable before
            it returns. ``"normal"`` syncs the log only at checkpoints and at
            commits that add, seal or replace whole segment files (bulk
            loads, compaction) or create or drop tables. It survives a
            process crash but may lose the last row changes to a power loss
            or OS crash.
        checkpoint_bytes: log size that triggers a checkpoint.
        chunk_cache_size: bytes of decoded DSM and PAX column chunks that
            point lookups keep between calls (default 128 MiB).

    Example:
        >>> with storagedb.connect("shop.db") as db:  # doctest: +SKIP
        ...     orders = db.create_table("orders", [("id", "int64", "not null")], primary_key="id")

    Raises:
        DatabaseLockedError: another process has the database open for writing.
        CorruptCatalogError, CorruptLogError: the catalog or the log is damaged.
    """
    return Database(
        os.fspath(path),
        readonly=readonly,
        pool_size=pool_size,
        page_size=page_size,
        replacer=replacer,
        synchronous=synchronous,
        checkpoint_bytes=checkpoint_bytes,
        chunk_cache_size=chunk_cache_size,
    )


class Database:
    """An open database directory. Use :func:`connect`; close it (or use ``with``) when done."""

    def __init__(
        self,
        path: str,
        *,
        readonly: bool,
        pool_size: int,
        page_size: int,
        replacer: str,
        synchronous: str = "full",
        checkpoint_bytes: int = DEFAULT_CHECKPOINT_BYTES,
        chunk_cache_size: int = DEFAULT_CHUNK_CACHE_BYTES,
    ) -> None:
        self.path = os.path.abspath(path)
        self.readonly = readonly
        self._closed = True
        self._lock = threading.RLock()

        if replacer not in REPLACER_NAMES:
            raise ValueError(f"unknown replacement policy {replacer!r}; choose one of {', '.join(REPLACER_NAMES)}")
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be 'full' or 'normal', not {synchronous!r}")
        if readonly and not os.path.isdir(self.path):
            raise NotFoundError(f"{self.path}: no database here (open it without readonly to create one)")

        self.synchronous = synchronous
        self.checkpoint_bytes = int(checkpoint_bytes)
        self._txn: Transaction | None = None
        self._next_txn_id = 1
        self._broken: str | None = None
        self._wal: WriteAheadLog | None = None
        self._scratch: str | None = None
        self._tables: dict[str, Table] = {}
        #: Tables a read-only open left out: name -> (table id, the error).
        self._unreadable: dict[str, tuple[int, BaseException]] = {}
        self._pending_removals: list[str] = []

        os.makedirs(self.path, exist_ok=True)
        self._lock_fd = _take_lock(self.path, readonly)
        try:
            self._catalog = Catalog.load_or_create(self.path, readonly=readonly)
            data = self._catalog.data
            page_size = int(data.get("page_size", page_size))
            validate_page_size(page_size)
            self.page_size = page_size
            self._pool = BufferPool(max(16, int(pool_size) // page_size), page_size, replacer=replacer)
            self._chunk_cache = DecodedChunkCache(chunk_cache_size)
            self._next_table_id = int(data["next_table_id"])
            self._next_file_id = max(int(data["next_file_id"]), self._highest_file_number() + 1)
            self._closed = False
            for name, entry in data["tables"].items():
                try:
                    self._tables[name] = Table(self, name, entry)
                except (CorruptionError, FileFormatError, OSError) as exc:
                    # A writer must not run with a table missing, because its
                    # next checkpoint would drop that table's logged changes.
                    if not readonly:
                        raise
                    self._unreadable[name] = (int(entry["id"]), exc)
                    log.info("%s: table %r is left out of this read-only open: %s", self.path, name, exc)

            replayed = self._recover()
            if not readonly:
                if replayed or data.get("log_generation", 0) == 0:
                    self._checkpoint_locked()
                self._remove_orphans()
            if self._wal is not None:
                self._pool.log_flusher = self._flush_log_for_page
        except BaseException:
            self._shutdown(checkpoint=False)
            raise

        log.info(
            "opened database %s (%d tables, %s)", self.path, len(self._tables), "read-only" if readonly else "read-write"
        )

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
        65,536), ``compression`` (``"auto"`` or an encoding
        name) and ``bloom_bits_per_key`` (default 10; 0 for no Bloom filter).

        Example:
            >>> db.create_table("orders", [("id", "int64", "not null"), ("total", "decimal(12,2)")],
            ...                 primary_key="id", layout="pax")  # doctest: +SKIP

        Raises:
            SchemaError: bad name, column, type, key or option, or the table exists.
        """
        with self._write() as txn:
            _validate_table_name(name)
            if name in self._tables:
                raise SchemaError(f"table {name!r} already exists")
            if layout not in LAYOUT_NAMES:
                raise SchemaError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUT_NAMES)}")
            for key, value in options.items():
                problem = option_problem(key, value)
                if problem:
                    raise SchemaError(problem)
            schema = Schema.build(columns, primary_key)
            table_id = self._next_table_id
            entry = {
                "id": table_id,
                "schema": schema.to_json(),
                "layout": layout,
                "options": options,
                "directory": f"t{table_id:06d}",
                "segments": [],
            }
            self._log(txn, RecordType.CREATE_TABLE, payloads.pack_catalog(table_id, {"name": name, "entry": entry}))
            table = self._apply_create_table(name, entry)
            txn.on_rollback(lambda: self._undo_create_table(name))
            log.info("created table %s (%s, %d columns)", name, layout, len(schema.columns))
            return table

    def _apply_create_table(self, name: str, entry: dict[str, Any]) -> Table:
        directory = os.path.join(self.path, entry["directory"])
        if not os.path.isdir(directory):
            os.makedirs(directory)
            fsync_directory(self.path)
        table = Table(self, name, entry)
        self._tables[name] = table
        self._next_table_id = max(self._next_table_id, table.table_id + 1)
        return table

    def _undo_create_table(self, name: str) -> None:
        table = self._tables.pop(name)
        table._close()
        try:
            os.rmdir(table.directory)
        except OSError:
            log.warning("kept table directory %s: it is not empty", table.directory)

    def drop_table(self, name: str) -> None:
        """Remove a table; its files are deleted at the next checkpoint.

        Raises:
            TableNotFoundError: no such table.
            TransactionError: called inside ``db.transaction()``.
        """
        with self._write() as txn:
            if txn.explicit:
                raise TransactionError("drop_table() cannot run inside a transaction")
            table = self.table(name)
            self._log(txn, RecordType.DROP_TABLE, payloads.pack_catalog(table.table_id, {"name": name}))
            self._apply_drop_table(name)

    def _apply_drop_table(self, name: str) -> None:
        table = self._tables.pop(name)
        table._close()
        for entry in os.listdir(table.directory):
            if valid_file_name(entry):
                self._remove_after_checkpoint(os.path.join(table.directory, entry))
        self._remove_after_checkpoint(table.directory)

    def load(self, table: str, path: str | os.PathLike, **options: Any):
        """Bulk load a CSV, TSV or TPC-H ``.tbl`` file into ``table`` (created if missing).

        Keyword options: ``layout``, ``primary_key``, ``delimiter``,
        ``header``, ``columns`` (``[(name, type), ...]``), ``progress`` (a
        callable given the rows of each batch) and table options for a new
        table (``compression``, ``segment_rows``, ...). The load, including
        creating the table, is one atomic transaction. Returns a
        ``LoadResult`` with ``table``, ``rows`` and ``seconds``.

        Example:
            >>> db.load("lineitem", "seeds/lineitem.csv", primary_key="l_orderkey,l_linenumber")  # doctest: +SKIP

        Raises:
            LoadError: a bad row; the message names the file, line and column.
            DuplicateKeyError: a key repeats or exists already.
        """
        from .loader import load_file

        with self._write():
            return load_file(self, table, path, **options)

    def table(self, name: str) -> Table:
        """Return the table called ``name``.

        Raises:
            TableNotFoundError: no such table. The message lists the tables.
        """
        with self._lock:
            self._check_open()
            try:
                return self._tables[name]
            except KeyError:
                if name in self._unreadable:
                    raise self._unreadable[name][1].with_traceback(None) from None
                known = ", ".join(sorted(self._tables)) or "none"
                raise TableNotFoundError(f"no table {name!r} in {self.path} (tables: {known})") from None

    def table_names(self) -> list[str]:
        """Return the sorted names of the tables this open can read (see ``readonly`` in :func:`connect`)."""
        with self._lock:
            self._check_open()
            return sorted(self._tables)

    def unreadable_tables(self) -> dict[str, str]:
        """Return the tables a read-only open left out because of damaged files, with each error message."""
        with self._lock:
            self._check_open()
            return {name: str(error) for name, (_id, error) in sorted(self._unreadable.items())}

    def stats(self) -> dict[str, Any]:
        """Buffer-pool counters (``hits``, ``misses``, ``reads``, ``writes``, ``evictions``) and more.

        Also ``hit_rate``, ``pool_frames``, ``page_size``, ``log_bytes``
        (log written since the last checkpoint) and ``log_syncs``.
        """
        with self._lock:
            self._check_open()
            out: dict[str, Any] = self._pool.stats.as_dict()
            out["hit_rate"] = self._pool.stats.hit_rate()
            out["pool_frames"] = self._pool.num_frames
            out["page_size"] = self.page_size
            out["log_bytes"] = self._wal.bytes_since_checkpoint() if self._wal else 0
            out["log_syncs"] = self._wal.syncs if self._wal else 0
            return out

    # -- transactions ----------------------------------------------------

    def transaction(self) -> TransactionBlock:
        """Return a context manager that commits its block's changes together, or rolls them back on an exception.

        Example:
            >>> with db.transaction():  # doctest: +SKIP
            ...     accounts.update(1, {"balance": 90})
            ...     accounts.update(2, {"balance": 110})

        Raises:
            TransactionError: a transaction is already open in this thread.
        """
        return TransactionBlock(self)

    def _write(self) -> WriteScope:
        return WriteScope(self)

    def _begin(self, explicit: bool) -> Transaction:
        txn = Transaction(self._next_txn_id, explicit)
        self._next_txn_id += 1
        self._txn = txn
        return txn

    def _log(self, txn: Transaction, record_type: int, payload: bytes) -> int:
        """Append one record of ``txn`` to the log; returns its LSN."""
        lsn = self._wal.append(record_type, txn.id, payload)
        txn.records += 1
        if record_type in _SYNCED_ALWAYS:
            txn.force_sync = True
        return lsn

    def _commit(self, txn: Transaction) -> int | None:
        """Append the COMMIT record and hand the log to the OS; the LSN to wait for, if any."""
        self._txn = None
        if not txn.records:
            return None
        lsn = self._wal.append(RecordType.COMMIT, txn.id, b"")
        try:
            self._wal.write()
        except StorageIOError as exc:
            self._break(exc)
            raise
        return lsn if self.synchronous == "full" or txn.force_sync else None

    def _wait_durable(self, lsn: int) -> None:
        try:
            self._wal.sync(lsn)
        except StorageIOError as exc:
            self._break(exc)
            raise

    def _rollback(self, txn: Transaction) -> None:
        self._txn = None
        try:
            for action in reversed(txn.undo):
                action()
        except StorageDBError as exc:
            self._break(exc)
            raise
        except OSError as exc:
            self._break(exc)
            raise StorageIOError(f"rolling back the transaction failed: {exc}") from exc

    def _after_commit(self, txn: Transaction) -> None:
        """Seal open segments that outgrew their size; checkpoint when the log is large."""
        if not txn.to_seal and (self._wal is None or self._wal.bytes_since_checkpoint() < self.checkpoint_bytes):
            return
        with self._lock:
            if self._txn is not None or self._closed or self._broken:
                return
            for table in txn.to_seal:
                if not table._closed and table._open is not None and table._open.rows >= table._segment_rows:
                    table.seal()
            if self._wal.bytes_since_checkpoint() >= self.checkpoint_bytes:
                self._checkpoint_locked()

    def _flush_log_for_page(self, lsn: int) -> None:
        """Make the log durable up to ``lsn`` before a page with that LSN is written (the write-ahead rule)."""
        if lsn >= self._wal.durable_lsn:
            self._wait_durable(lsn + 1)

    # -- checkpoints and recovery ----------------------------------------

    def checkpoint(self) -> None:
        """Fold the log into the catalog and segment files, and start a new log generation.

        Raises:
            TransactionError: called inside ``db.transaction()``.
        """
        with self._lock:
            self._check_writable()
            if self._txn is not None:
                raise TransactionError("checkpoint() cannot run inside a transaction")
            self._checkpoint_locked()

    def _checkpoint_locked(self) -> None:
        try:
            for table in self._tables.values():
                table._checkpoint_files()
            generation = (self._wal.generation if self._wal else 0) + 1
            salt = int.from_bytes(os.urandom(4), "little")
            if self._wal is None:
                # A new database: the log must exist before a catalog names
                # it, or a failure in between would leave a directory that
                # cannot be opened.
                start = int(self._catalog.data.get("checkpoint_lsn", 0))
                self._wal = WriteAheadLog.create(self.path, generation, salt, start)
                self._catalog.commit(self._catalog_data(start, generation, salt))
            else:
                self._wal.sync()
                start = self._wal.next_lsn
                self._catalog.commit(self._catalog_data(start, generation, salt))
                self._wal.reset(generation, salt, start)
        except (StorageDBError, OSError) as exc:
            self._break(exc)
            raise
        self._remove_pending()
        log.info("checkpoint: log generation %d starts at LSN %d", generation, start)

    def _catalog_data(self, checkpoint_lsn: int, generation: int, salt: int) -> dict[str, Any]:
        return {
            "format": 1,
            "page_size": self.page_size,
            "next_table_id": self._next_table_id,
            "next_file_id": self._next_file_id,
            "checkpoint_lsn": checkpoint_lsn,
            "log_generation": generation,
            "log_salt": salt,
            "tables": {name: table._catalog_entry() for name, table in self._tables.items()},
        }

    def _recover(self) -> int:
        """Open the log and replay the committed transactions after the checkpoint; returns records replayed."""
        data = self._catalog.data
        generation = int(data.get("log_generation", 0))
        log_path = os.path.join(self.path, LOG_NAME)
        if generation == 0 and not data["tables"] and os.path.exists(log_path) and not self.readonly:
            # The catalog predates its first checkpoint, so it names no log
            # and contains no table. A log here is left from a creation that
            # failed part-way, and the first checkpoint writes a new one.
            os.unlink(log_path)

        if not os.path.exists(log_path):
            if generation:
                raise CorruptLogError(
                    f"{os.path.join(self.path, LOG_NAME)}: the write-ahead log is missing, "
                    f"so committed changes since the last checkpoint would be lost"
                )
            return 0

        wal, header = WriteAheadLog.open(self.path, readonly=self.readonly)
        self._wal = wal
        if header.generation < generation:
            # A crash after the checkpoint's catalog commit, before the log
            # reset: every record in the file is already in the catalog.
            if not self.readonly:
                wal.reset(generation, int(data["log_salt"]), int(data["checkpoint_lsn"]))
            return 0
        if header.generation != generation or header.salt != int(data.get("log_salt", -1)):
            raise CorruptLogError(
                f"{wal.path}: log generation {header.generation} does not match the catalog's {generation}"
            )
        if header.start_lsn != int(data["checkpoint_lsn"]):
            raise CorruptLogError(
                f"{wal.path}: log starts at LSN {header.start_lsn}, the catalog's checkpoint is {data['checkpoint_lsn']}"
            )

        result = wal.read_records()
        committed = {record.txn for record in result.records if record.type == RecordType.COMMIT}
        replayed = 0
        if self.readonly and result.records:
            self._scratch = tempfile.mkdtemp(prefix="storagedb-replay-")
        by_id = {table.table_id: table for table in self._tables.values()}
        for record in result.records:
            self._next_txn_id = max(self._next_txn_id, record.txn + 1)
            if record.txn not in committed or record.type in (RecordType.COMMIT, RecordType.ABORT):
                continue
            self._replay(record, by_id)
            replayed += 1

        if replayed or result.torn_bytes:
            log.warning(
                "%s: recovered %d log records of %d committed transactions", self.path, replayed, len(committed)
            )
        return replayed or (1 if result.torn_bytes else 0)

    def _replay(self, record, by_id: dict[int, Table]) -> None:
        table_id = payloads.table_of(record.payload)
        if record.type == RecordType.CREATE_TABLE:
            _, data = payloads.unpack_catalog(record.payload)
            name, entry = data.get("name"), data.get("entry")
            problem = "the name is not a string" if not isinstance(name, str) else table_entry_problem(entry)
            if problem is None and entry.get("id") != table_id:
                problem = f"its id {entry.get('id')!r} differs from the record's table id {table_id}"
            if problem:
                raise CorruptLogError(f"log record at LSN {record.lsn} contains an invalid table definition: {problem}")
            by_id[table_id] = self._apply_create_table(name, entry)
            return
        if any(table_id == left_out for left_out, _ in self._unreadable.values()):
            return  # a table this read-only open could not read
        table = by_id.get(table_id)
        if table is None or table._closed:
            raise CorruptLogError(f"log record at LSN {record.lsn} names table id {table_id}, which does not exist")
        if record.type == RecordType.DROP_TABLE:
            self._apply_drop_table(table.name)
            return
        table._replay(record.type, record.payload, record.lsn)
        for segment in table._segments:
            self._next_file_id = max(self._next_file_id, segment.number + 1)

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        """Checkpoint, close every file and release the lock. Closing twice is harmless.

        Raises:
            TransactionError: a transaction is still open.
        """
        with self._lock:
            if self._closed:
                return
            if self._txn is not None and self._txn.explicit:
                raise TransactionError("close() inside a transaction; leave the 'with db.transaction()' block first")
            self._shutdown(checkpoint=not self.readonly and self._broken is None)
            log.info("closed database %s", self.path)

    def _shutdown(self, checkpoint: bool) -> None:
        try:
            if checkpoint and not self._closed:
                self._checkpoint_locked()
        finally:
            for table in self._tables.values():
                table._close()
            if self._wal is not None:
                self._wal.close()
            self._closed = True
            # Tables and the database refer to each other; dropping these
            # references frees the pool and caches without the garbage collector.
            self._tables = {}
            self._chunk_cache = None
            self._pool = None
            if self._scratch:
                shutil.rmtree(self._scratch, ignore_errors=True)
            self._release()

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
        if self._broken:
            raise StorageIOError(
                f"database {self.path} stopped after an I/O error ({self._broken}); "
                f"close it and open it again to recover from the log"
            )

    def _break(self, exc: BaseException) -> None:
        """Refuse further changes after a failed log or checkpoint write."""
        if self._broken is None:
            self._broken = str(exc)
            log.error("database %s stopped after an I/O error: %s", self.path, exc)

    def _scratch_directory(self) -> str | None:
        return self._scratch

    def _new_file_id(self) -> int:
        file_id = self._next_file_id
        self._next_file_id += 1
        return file_id

    def _remove_after_checkpoint(self, path: str) -> None:
        self._pending_removals.append(path)

    def _remove_pending(self) -> None:
        removals, self._pending_removals = self._pending_removals, []
        for path in removals:
            try:
                if os.path.isdir(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)

    def _highest_file_number(self) -> int:
        highest = 0
        for directory in os.listdir(self.path):
            full = os.path.join(self.path, directory)
            if valid_dir_name(directory) and os.path.isdir(full):
                for name in os.listdir(full):
                    if valid_file_name(name):
                        highest = max(highest, int(name.split("-")[1].split(".")[0]))
        return highest

    def _remove_orphans(self) -> None:
        """Delete table files and folders that no table references (a crash left them)."""
        listed: dict[str, set[str]] = {}
        for table in self._tables.values():
            files = listed.setdefault(os.path.basename(table.directory), set())
            for segment in table._segments:
                files.add(segment.name)
                vector = table._vector_files.get(segment.name)
                if vector:
                    files.add(vector)
            if table._open is not None:
                files.add(table._open.name)
        for directory in os.listdir(self.path):
            full = os.path.join(self.path, directory)
            if not valid_dir_name(directory) or not os.path.isdir(full):
                continue
            keep = listed.get(directory)
            for name in os.listdir(full):
                if valid_file_name(name) and (keep is None or name not in keep):
                    if name.startswith("open-"):
                        log.info("removing %s: scratch file of an earlier session", os.path.join(full, name))
                    else:
                        log.warning(
                            "removing %s: no table lists it (left by an interrupted write)", os.path.join(full, name)
                        )
                    os.unlink(os.path.join(full, name))
            if keep is None and not os.listdir(full):
                os.rmdir(full)
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
        # A shared lock can still be taken only when readers alone hold the
        # lock, and only then would readonly=True get in.
        readers_only = not readonly and _lock_is_shareable(fd)
        os.close(fd)
        if readers_only:
            raise DatabaseLockedError(
                f"database is locked: another process reads {path}; close it there first, "
                "or open this one with readonly=True if you only read"
            ) from None
        raise DatabaseLockedError(
            f"database is locked: a writer has {path} open; close it there first"
        ) from None
    return fd


def _lock_is_shareable(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


def _validate_table_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise SchemaError(f"table name must be a non-empty string, not {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise SchemaError(f"table name {name[:40]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise SchemaError(f"table name {name!r} contains a control character")
