"""Fault injection: the operating system fails an fsync, writes short or reports a full disk.

``FaultInjector`` makes one chosen call of the file I/O layer fail; every
other call reaches the real file system. For each failure point the tests
check that

* the caller gets a ``StorageIOError`` naming the file, never a bare
  ``OSError`` from deep inside;
* after a failed log write or checkpoint the database rejects further
  changes until it is reopened, and a failed bulk write leaves the table
  as it was;
* closing and reopening shows every change acknowledged before the
  failure, the failed change entirely or not at all, passes
  ``storagedb check`` and leaves no file the catalog does not list.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from durability_files import stray_files
from durability_harness import run_check

import storagedb
from storagedb import StorageIOError
from storagedb.storage.fileio import Fault, FaultInjector

COLUMNS = [("id", "int64", "not null"), ("value", "int64"), ("note", "text")]


def connect(path, **options):
    # A small buffer pool: allocating the default 128 MiB costs more than these tests' work.
    return storagedb.connect(path, pool_size=4 << 20, **options)


def row(i: int) -> dict:
    return {"id": i, "value": i * 10, "note": f"row {i}"}


def rows_of(ids) -> dict[int, tuple]:
    return {i: (i, i * 10, f"row {i}") for i in ids}


def setup_database(path, layout: str = "pax"):
    """A table with 20 single-row commits and one five-row transaction, all acknowledged."""
    db = connect(path)
    table = db.create_table("t", COLUMNS, primary_key="id", layout=layout)
    for i in range(20):
        table.insert(row(i))
    with db.transaction():
        for i in range(20, 25):
            table.insert(row(i))
    return db, table, rows_of(range(25))


def reopened_rows(path) -> dict[int, tuple]:
    with connect(path) as db:
        return {r[0]: r for r in db.table("t").scan()}


def assert_recovers(path, acknowledged: dict, failed: dict | None = None) -> dict:
    """Reopen: acknowledged rows are there; the failed change's rows all or none; check passes."""
    rows = reopened_rows(path)
    missing = {k: v for k, v in acknowledged.items() if rows.get(k) != v}
    assert not missing, f"acknowledged rows lost or changed: {sorted(missing)[:10]}"
    extra = {k: v for k, v in rows.items() if k not in acknowledged}
    if failed:
        assert extra in ({}, failed), f"the failed change is half present: {sorted(extra)[:10]}"
    else:
        assert not extra, f"rows nobody committed: {sorted(extra)[:10]}"
    status, output = run_check(str(path))
    assert status == 0, output
    assert stray_files(str(path)) == []
    return rows


def assert_rejects_writes(table) -> None:
    with pytest.raises(StorageIOError, match="close it and open it again"):
        table.insert(row(999))


# -- the write-ahead log -------------------------------------------------------------


def test_log_fsync_error_fails_commit(tmp_path):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    with FaultInjector(Fault("fsync", path_contains="wal.log")) as injector:
        with pytest.raises(StorageIOError, match="wal.log: fsync of the log failed"):
            table.insert(row(100))
    assert injector.fired == 1
    assert_rejects_writes(table)
    db.close()
    assert_recovers(path, acknowledged, failed=rows_of([100]))


def test_log_fsync_error_in_transaction(tmp_path):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    with FaultInjector(Fault("fsync", path_contains="wal.log")):
        with pytest.raises(StorageIOError):
            with db.transaction():
                for i in range(100, 110):
                    table.insert(row(i))
                table.delete(3)
    db.close()
    rows = reopened_rows(path)
    applied = 3 not in rows
    assert all((i in rows) == applied for i in range(100, 110)), "half of the failed transaction is present"
    if applied:
        del acknowledged[3]
    assert_recovers(path, acknowledged, failed=rows_of(range(100, 110)))


def test_log_short_write_fails_commit(tmp_path):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    with FaultInjector(Fault("write", kind="short", path_contains="wal.log")) as injector:
        with pytest.raises(StorageIOError, match="short write to the log"):
            with db.transaction():
                for i in range(100, 105):
                    table.insert(row(i))
    assert injector.fired == 1
    assert_rejects_writes(table)
    db.close()
    assert_recovers(path, acknowledged, failed=rows_of(range(100, 105)))


@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_log_full_disk_fails_commit(tmp_path, synchronous):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    db.close()
    db = connect(path, synchronous=synchronous)
    table = db.table("t")
    with FaultInjector(Fault("write", kind="full", path_contains="wal.log")):
        with pytest.raises(StorageIOError, match="No space left on device"):
            table.update(5, {"value": -5})
    assert_rejects_writes(table)
    db.close()
    rows = reopened_rows(path)
    assert rows[5] in (acknowledged[5], (5, -5, "row 5"))
    acknowledged[5] = rows[5]
    assert_recovers(path, acknowledged)


def test_log_growth_full_disk(tmp_path):
    """A row too big for the preallocated log makes it grow; a full disk then fails the commit."""
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    with FaultInjector(Fault("write", kind="full", path_contains="wal.log")):
        with pytest.raises(StorageIOError, match="growing the log failed"):
            table.insert({"id": 100, "value": 1, "note": "x" * (17 << 20)})
    assert_rejects_writes(table)
    db.close()
    rows = assert_recovers(path, acknowledged, failed={100: (100, 1, "x" * (17 << 20))})
    assert 100 not in rows


# -- bulk loads ----------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["nsm", "dsm", "pax"])
@pytest.mark.parametrize("operation, kind, after", [("write", "full", 3), ("fsync", "error", 0)], ids=["full", "fsync"])
def test_bulk_load_segment_write_fails(tmp_path, layout, operation, kind, after):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path, layout)
    db.close()
    db = connect(path)
    table = db.table("t")
    files_before = sorted(os.listdir(table.directory))
    ids = np.arange(1000, 41_000)
    arrays = {"id": ids, "value": ids * 10, "note": np.array([f"row {i}" for i in ids], dtype=object)}
    with FaultInjector(Fault(operation, kind=kind, after=after, path_contains="seg-")) as injector:
        with pytest.raises(StorageIOError, match=r"seg-\d+\.sdb"):
            table.insert_many(arrays)
    assert injector.fired == 1
    assert table.row_count() == len(acknowledged), "the failed load left rows behind"
    assert sorted(os.listdir(table.directory)) == files_before

    # A failed segment write is not a log failure: the database keeps working.
    table.insert(row(500))
    acknowledged.update(rows_of([500]))
    db.close()
    assert_recovers(path, acknowledged)


def test_csv_load_full_disk_leaves_no_table(tmp_path):
    path = tmp_path / "db"
    db, _table, acknowledged = setup_database(path)
    csv_path = tmp_path / "input.csv"
    csv_path.write_text("id,qty\n" + "".join(f"{i},{i % 7}\n" for i in range(30_000)))
    with FaultInjector(Fault("write", kind="full", after=2, path_contains="seg-")):
        with pytest.raises(StorageIOError):
            db.load("loaded", csv_path, primary_key="id", layout="dsm")
    assert "loaded" not in db.table_names()
    db.close()
    assert_recovers(path, acknowledged)
    with connect(path) as db:
        assert "loaded" not in db.table_names()


def test_compaction_segment_write_fails(tmp_path):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path, "dsm")
    ids = np.arange(1000, 21_000)
    table.insert_many({"id": ids, "value": ids * 10, "note": np.array([f"row {i}" for i in ids], dtype=object)})
    acknowledged.update(rows_of(ids.tolist()))
    db.checkpoint()
    for i in range(1000, 3000, 3):
        table.delete(i)
        del acknowledged[i]
    with FaultInjector(Fault("write", kind="full", after=1, path_contains="seg-")):
        with pytest.raises(StorageIOError):
            table.compact()
    assert table.row_count() == len(acknowledged)
    table.insert(row(500))
    acknowledged.update(rows_of([500]))
    db.close()
    assert_recovers(path, acknowledged)


# -- checkpoints: sealing, delete vectors, the catalog and the log reset -----------------------


@pytest.mark.parametrize(
    "operation, kind",
    [("write", "full"), ("write", "short"), ("fsync", "error"), ("replace", "error")],
    ids=["full", "short", "fsync", "rename"],
)
def test_catalog_commit_fails_at_checkpoint(tmp_path, operation, kind):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    with open(path / "catalog.sdb", "rb") as handle:
        before = handle.read()
    with FaultInjector(Fault(operation, kind=kind, path_contains="catalog.sdb")) as injector:
        with pytest.raises(StorageIOError, match="catalog.sdb: committing the catalog failed"):
            db.checkpoint()
    assert injector.fired == 1
    with open(path / "catalog.sdb", "rb") as handle:
        assert handle.read() == before, "a failed commit changed the catalog in place"
    assert_rejects_writes(table)
    db.close()
    assert_recovers(path, acknowledged)


def test_catalog_commit_fails_at_close(tmp_path):
    path = tmp_path / "db"
    db, _table, acknowledged = setup_database(path)
    with FaultInjector(Fault("write", kind="full", path_contains="catalog.sdb")):
        with pytest.raises(StorageIOError):
            db.close()
    assert_recovers(path, acknowledged)


@pytest.mark.parametrize("kind", ["full", "short", "error"])
def test_delete_vector_write_fails(tmp_path, kind):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    db.checkpoint()  # the rows now sit in a sealed segment
    for i in (3, 4, 17):
        assert table.delete(i)
        del acknowledged[i]
    table.update(8, {"value": -8})
    acknowledged[8] = (8, -8, "row 8")
    with FaultInjector(Fault("write", kind=kind, path_contains="del-")) as injector:
        with pytest.raises(StorageIOError, match=r"del-\d+\.sdb"):
            db.checkpoint()
    assert injector.fired == 1
    assert_rejects_writes(table)
    db.close()
    assert_recovers(path, acknowledged)


def test_delete_vector_fsync_fails(tmp_path):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    db.checkpoint()
    table.delete(2)
    del acknowledged[2]
    with FaultInjector(Fault("fsync", path_contains="del-")):
        with pytest.raises(StorageIOError):
            db.checkpoint()
    db.close()
    assert_recovers(path, acknowledged)


def test_seal_write_fails_at_checkpoint(tmp_path):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path, "nsm")
    with FaultInjector(Fault("write", kind="full", path_contains="seg-")):
        with pytest.raises(StorageIOError, match=r"seg-\d+\.sdb"):
            db.checkpoint()
    assert_rejects_writes(table)
    db.close()
    assert_recovers(path, acknowledged)


def test_log_reset_fails_after_catalog_commit(tmp_path):
    """The catalog names the new log generation, but the log header still has the old one."""
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    db.close()
    db = connect(path)
    table = db.table("t")
    table.insert(row(200))
    acknowledged.update(rows_of([200]))
    with FaultInjector(Fault("write", kind="error", path_contains="wal.log")) as injector:
        with pytest.raises(StorageIOError, match="wal.log"):
            db.checkpoint()
    assert injector.fired == 1
    assert_rejects_writes(table)
    db.close()
    assert_recovers(path, acknowledged)
    # The next generation works as usual.
    with connect(path) as db:
        db.table("t").insert(row(201))
    acknowledged.update(rows_of([201]))
    assert_recovers(path, acknowledged)


def test_reads_keep_working_after_log_failure(tmp_path):
    path = tmp_path / "db"
    db, table, acknowledged = setup_database(path)
    with FaultInjector(Fault("fsync", path_contains="wal.log")):
        with pytest.raises(StorageIOError):
            table.insert(row(100))
    assert table.get(7) == {"id": 7, "value": 70, "note": "row 7"}
    assert {r[0] for r in table.scan()} >= set(acknowledged)
    db.close()
