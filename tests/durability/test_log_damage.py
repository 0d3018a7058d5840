"""The write-ahead log's own rules for damage, one case each.

* A record torn by a crash at the end of the log is cut with a warning;
  the transactions committed before it stay.
* A bad record followed by a record whose ``synced_lsn`` shows the log was
  already durable past it is damage in the middle: ``CorruptLogError``.
* Records of an earlier generation left in the file never count.
* A damaged header or a missing log raise ``CorruptLogError``.
* ``storagedb check`` reports a log damaged in the middle.
* A read-only open replays the log without writing any file.

The known log (``durability_known.build_log_database``) comes from a
process that died without a checkpoint, so it contains a record of every type.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import textwrap

import pytest
from durability_files import (
    LOG_NAME,
    LOG_RECORD_TYPES,
    copy_database,
    flip_byte,
    read_log_records,
)
from durability_harness import run_check
from durability_known import build_log_database

import storagedb
from storagedb import CorruptLogError

COMMIT = LOG_RECORD_TYPES["COMMIT"]


def connect(path):
    return storagedb.connect(path, pool_size=4 << 20)


@pytest.fixture(scope="module")
def known_log(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("log") / "db")
    build_log_database(path)
    return path


@pytest.fixture
def db_path(known_log, tmp_path):
    return copy_database(known_log, str(tmp_path / "db"))


def test_torn_tail_cut_with_warning(db_path, caplog):
    records = read_log_records(db_path)
    last = records[-1]
    assert last.type == COMMIT
    # The final INSERT and its COMMIT were being written when the process died: half of them reached the disk.
    insert = records[-2]
    with open(os.path.join(db_path, LOG_NAME), "r+b") as handle:
        handle.seek(insert.offset + insert.size // 2)
        handle.write(bytes(last.offset + last.size - insert.offset - insert.size // 2))
    with caplog.at_level(logging.WARNING, logger="storagedb"):
        with connect(db_path) as db:
            assert db.table("t").get(10_010) is None
            assert db.table("t").get(10_000) == {"id": 10_000, "v": -10_000, "s": "single"}
            assert db.table("u").get("k4999") == {"k": "k4999", "n": 4999}
    assert any("torn tail" in record.getMessage() for record in caplog.records)
    status, output = run_check(db_path)
    assert status == 0, output


def test_damage_before_durable_record_raises(db_path):
    records = read_log_records(db_path)
    damaged = records[2]
    assert any(later.synced_lsn > damaged.lsn for later in records[3:])
    flip_byte(os.path.join(db_path, LOG_NAME), damaged.offset + 45)
    with pytest.raises(CorruptLogError, match=rf"wal\.log: record at LSN {damaged.lsn} is corrupt.*damaged in the middle"):
        connect(db_path)


def test_damaged_log_header_raises(db_path):
    flip_byte(os.path.join(db_path, LOG_NAME), 13)  # inside the salt
    with pytest.raises(CorruptLogError, match="log header checksum mismatch"):
        connect(db_path)


def test_missing_log_raises(db_path):
    os.unlink(os.path.join(db_path, LOG_NAME))
    with pytest.raises(CorruptLogError, match="write-ahead log is missing"):
        connect(db_path)


def test_check_reports_damaged_log(db_path):
    records = read_log_records(db_path)
    flip_byte(os.path.join(db_path, LOG_NAME), records[2].offset + 45)
    status, output = run_check(db_path)
    assert status == 1, output
    assert "wal.log" in output


OLD_GENERATION = textwrap.dedent(
    """
    import os, sys
    import storagedb

    db = storagedb.connect(sys.argv[1], checkpoint_bytes=1 << 30, pool_size=4 << 20)
    t = db.create_table("t", [("id", "int64", "not null"), ("s", "text")], primary_key="id")
    for i in range(300):
        t.insert({"id": i, "s": "old generation " * 4})
    os._exit(0)
    """
)
NEW_GENERATION = textwrap.dedent(
    """
    import os, sys
    import storagedb

    db = storagedb.connect(sys.argv[1], checkpoint_bytes=1 << 30, pool_size=4 << 20)
    for i in range(1000, 1003):
        db.table("t").insert({"id": i, "s": "new"})
    os._exit(0)
    """
)


def test_earlier_generation_records_ignored(tmp_path):
    """Records of an earlier generation past the end of the current one (salt and LSN differ) never count."""
    db_path = str(tmp_path / "db")
    log_path = os.path.join(db_path, LOG_NAME)
    subprocess.run([sys.executable, "-c", OLD_GENERATION, db_path], check=True)
    old_records = read_log_records(db_path)
    with open(log_path, "rb") as handle:
        old_log = handle.read()
    subprocess.run([sys.executable, "-c", NEW_GENERATION, db_path], check=True)
    records = read_log_records(db_path)
    assert len(records) == 6  # three INSERT and COMMIT pairs

    # Put the old generation's bytes back behind the new records, as if the
    # checkpoint had not zeroed them.
    end = records[-1].offset + records[-1].size
    old_end = old_records[-1].offset + old_records[-1].size
    assert old_end > end
    with open(log_path, "r+b") as handle:
        handle.seek(end)
        handle.write(old_log[end:old_end])
    assert len(read_log_records(db_path)) == 6

    with connect(db_path) as db:
        table = db.table("t")
        assert table.row_count() == 303
        assert [table.get(i)["s"] for i in (1000, 1001, 1002)] == ["new", "new", "new"]
    status, output = run_check(db_path)
    assert status == 0, output


def _file_digests(path: str) -> dict[str, bytes]:
    out = {}
    for directory, _folders, files in os.walk(path):
        for name in files:
            if name != "LOCK":
                full = os.path.join(directory, name)
                with open(full, "rb") as handle:
                    out[os.path.relpath(full, path)] = hashlib.sha256(handle.read()).digest()
    return out


def test_readonly_open_replays_without_writing(db_path, tmp_path):
    """A read-only open of a crashed database shows the committed changes and changes no file."""
    before = _file_digests(db_path)
    with storagedb.connect(db_path, readonly=True, pool_size=4 << 20) as db:
        readonly_rows = {name: sorted(db.table(name).scan()) for name in db.table_names()}
    assert _file_digests(db_path) == before
    assert readonly_rows["t"][-1] == (10_010, 0, "after seal")
    with connect(db_path) as db:
        assert {name: sorted(db.table(name).scan()) for name in db.table_names()} == readonly_rows
