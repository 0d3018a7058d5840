"""Forged fields behind valid checksums: the parsers' own checks, one field at a time.

A checksum only proves that bytes are as written. These tests write
plausible but invalid values (with checksums recomputed) into slotted
pages, the catalog's JSON and log records, and require each to be rejected
with a ``storagedb.StorageDBError``. Two seeded fuzz loops mutate catalog
JSON and log records the same way. Everything runs in the probe process
(``durability_probe.py``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct

import pytest
from durability_files import (
    LOG_NAME,
    LOG_RECORD_TYPES,
    copy_database,
    forge_log_record,
    pages_with_role,
    read_catalog,
    read_log_header,
    read_log_records,
    read_page,
    table_files,
    write_catalog,
    write_page,
)
from durability_known import LOOKUPS, build_log_database, build_segment_database
from durability_probe import Probe


@pytest.fixture(scope="module")
def probe():
    handle = Probe(headroom_mb=512, timeout=30.0)
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    root = tmp_path_factory.mktemp("forged")
    databases = {"nsm": str(root / "nsm"), "pax": str(root / "pax"), "log": str(root / "log")}
    build_segment_database(databases["nsm"], "nsm")
    build_segment_database(databases["pax"], "pax")
    build_log_database(databases["log"])
    return databases


def assert_storagedb_error(result: dict) -> None:
    detail = result.get("traceback") or result.get("message")
    assert result["status"] == "storagedb_error", f"{result['status']} {result.get('type')}: {detail}"


def assert_no_foreign_error(result: dict) -> None:
    """A result or storagedb's own error; never a hang, a crash or another exception."""
    detail = result.get("traceback") or result.get("message")
    assert result["status"] in ("ok", "storagedb_error"), f"{result['status']} {result.get('type')}: {detail}"


# -- slotted pages ---------------------------------------------------------------------------------


def _first_slotted_page(db_path: str) -> tuple[str, int]:
    segment = table_files(db_path, "t")[1][0]
    return segment, pages_with_role(segment, "slotted")[0]


def test_check_slot_count_past_page(probe, known, tmp_path):
    db_path = copy_database(known["nsm"], str(tmp_path / "db"))
    segment, page_no = _first_slotted_page(db_path)
    page = read_page(segment, page_no)
    struct.pack_into("<H", page, 24, 2000)  # 40 + 4 * 2000 bytes of slots do not fit 4096
    write_page(segment, page_no, page)
    result = probe.check(db_path)
    assert result["status"] == "ok", f"{result['status']} {result.get('type')}: {result.get('message')}"
    assert result["exit"] == 1
    assert f"page {page_no}" in result["output"]


def test_read_slot_count_past_page(probe, known, tmp_path):
    db_path = copy_database(known["nsm"], str(tmp_path / "db"))
    segment, page_no = _first_slotted_page(db_path)
    page = read_page(segment, page_no)
    struct.pack_into("<H", page, 24, 2000)
    write_page(segment, page_no, page)
    assert_storagedb_error(probe.read(db_path, LOOKUPS))


def test_read_overflow_flag_on_short_record(probe, known, tmp_path):
    db_path = copy_database(known["nsm"], str(tmp_path / "db"))
    segment, page_no = _first_slotted_page(db_path)
    page = read_page(segment, page_no)
    _offset, length = struct.unpack_from("<HH", page, 40)
    assert length != 12
    struct.pack_into("<H", page, 42, length | 0x8000)
    write_page(segment, page_no, page)
    assert_storagedb_error(probe.read(db_path, LOOKUPS))


# -- the catalog's JSON ----------------------------------------------------------------------------

def _set_top(field, value):
    return lambda catalog: catalog.update({field: value})


def _set_table(field, value):
    return lambda catalog: catalog["tables"]["t"].update({field: value})


def _drop_table_key(field):
    return lambda catalog: catalog["tables"]["t"].pop(field)


def _set_option(field, value):
    return lambda catalog: catalog["tables"]["t"]["options"].update({field: value})


#: Edits the catalog's checks already reject.
CHECKED_EDITS = [
    ("format 2", _set_top("format", 2)),
    ("next_file_id negative", _set_top("next_file_id", -1)),
    ("tables a list", _set_top("tables", [])),
    ("segments not a list", _set_table("segments", "seg-000001.sdb")),
    ("directory outside", _set_table("directory", "../t000001")),
]
#: Edits that reach code expecting well-formed fields.
UNCHECKED_EDITS = [
    ("page_size null", _set_top("page_size", None)),
    ("page_size 1000", _set_top("page_size", 1000)),
    ("log_salt text", _set_top("log_salt", "salt")),
    ("log_generation text", _set_top("log_generation", "one")),
    ("table without options", _drop_table_key("options")),
    ("table without id", _drop_table_key("id")),
    ("table without schema", _drop_table_key("schema")),
    ("schema a list", _set_table("schema", [1, 2])),
    ("row_group_rows text", _set_option("row_group_rows", "many")),
    ("layout unknown", _set_table("layout", "columnar")),
]


@pytest.mark.parametrize(
    "edit",
    [pytest.param(edit, id=name) for name, edit in CHECKED_EDITS]
    + [
        pytest.param(edit, id=name)
        for name, edit in UNCHECKED_EDITS
    ],
)
def test_catalog_field_rejected(probe, known, tmp_path, edit):
    db_path = copy_database(known["pax"], str(tmp_path / "db"))
    catalog = read_catalog(db_path)
    edit(catalog)
    write_catalog(db_path, catalog)
    assert_storagedb_error(probe.read(db_path, LOOKUPS))
    check = probe.check(db_path)
    assert check["status"] == "ok", f"storagedb check: {check['status']} {check.get('type')}: {check.get('message')}"
    assert check["exit"] == 1


def mutate_json(value, rng: random.Random):
    """Replace one value somewhere inside ``value`` (or delete a key) and return the result."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value))
        if rng.random() < 0.15:
            del value[key]
        else:
            value[key] = mutate_json(value[key], rng)
        return value
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        value[index] = mutate_json(value[index], rng)
        return value
    return rng.choice(
        [None, -1, 0, 1, 2**31, 2**63, 10**18, 1.5, "", "x", [], {}, [1, 2, 3], True, "int64", "text", "nsm",
         "seg-000001.sdb", "t000001"]
    )


def test_catalog_json_fuzz(probe, known, tmp_path):
    rng = random.Random("catalog json")
    failures = []
    for number in range(30):
        db_path = copy_database(known["pax"], str(tmp_path / f"case{number}"))
        catalog = mutate_json(read_catalog(db_path), rng)
        write_catalog(db_path, catalog)
        for result in (probe.check(db_path), probe.read(db_path, LOOKUPS)):
            if result["status"] not in ("ok", "storagedb_error"):
                failures.append(f"{json.dumps(catalog)[:200]}: {result['status']} {result.get('type')}")
        shutil.rmtree(db_path)
    assert not failures, "\n".join(failures)


# -- log records -----------------------------------------------------------------------------------


def rewrite_log_from(db_path: str, index: int, record_type: int, payload: bytes) -> None:
    """Replace record ``index`` and re-forge every later record at its new LSN, all with valid checksums."""
    header = read_log_header(db_path)
    records = read_log_records(db_path)
    first = records[index]
    end = records[-1].offset + records[-1].size
    replacement = [(record_type, first.txn, payload, first.synced_lsn)]
    replacement += [(r.type, r.txn, r.payload, r.synced_lsn) for r in records[index + 1 :]]
    blob = b""
    for rtype, txn, data, synced in replacement:
        lsn = header.start_lsn + first.offset + len(blob) - 4096
        blob += forge_log_record(header.salt, lsn, rtype, txn, data, synced_lsn=synced)
    blob += bytes(max(0, end - first.offset - len(blob)))
    with open(os.path.join(db_path, LOG_NAME), "r+b") as handle:
        handle.seek(first.offset)
        handle.write(blob)


def _mutated_payload(record, rng: random.Random) -> tuple[int, bytes]:
    payload = bytearray(record.payload)
    roll = rng.random()
    if roll < 0.15:
        return rng.randrange(0, 14), bytes(payload)
    if payload and roll < 0.6:
        for _ in range(rng.choice([1, 2, 4])):
            payload[rng.randrange(len(payload))] ^= rng.randrange(1, 256)
        return record.type, bytes(payload)
    if payload and roll < 0.8:
        return record.type, bytes(payload[: rng.randrange(len(payload))])
    if len(payload) >= 4:
        struct.pack_into("<I", payload, 0, rng.choice([0, 2, 3, 999, 2**32 - 1]))
    return record.type, bytes(payload)


CATALOG_RECORD_TYPES = {LOG_RECORD_TYPES[name] for name in ("CREATE_TABLE", "DROP_TABLE", "ADD_SEGMENTS", "SEAL")}


def test_log_row_record_fuzz(probe, known, tmp_path):
    """Row records (and a few retyped ones) with forged payloads: only storagedb's errors."""
    rng = random.Random("log rows")
    records = read_log_records(known["log"])
    candidates = [i for i, r in enumerate(records) if r.type not in CATALOG_RECORD_TYPES and r.type != 8]
    failures = []
    for number in range(30):
        index = rng.choice(candidates)
        record_type, payload = _mutated_payload(records[index], rng)
        db_path = copy_database(known["log"], str(tmp_path / f"case{number}"))
        rewrite_log_from(db_path, index, record_type, payload)
        result = probe.read(db_path, LOOKUPS)
        if result["status"] not in ("ok", "storagedb_error"):
            detail = result.get("traceback") or result.get("message")
            failures.append(f"record {index} type {records[index].type} -> {record_type}: {detail}")
        shutil.rmtree(db_path)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("missing", ["id", "schema", "layout"])
def test_log_create_table_entry_checked(probe, known, tmp_path, missing):
    db_path = copy_database(known["log"], str(tmp_path / "db"))
    records = read_log_records(db_path)
    index = next(i for i, r in enumerate(records) if r.type == LOG_RECORD_TYPES["CREATE_TABLE"])
    body = json.loads(records[index].payload[4:])
    del body["entry"][missing]
    rewrite_log_from(db_path, index, records[index].type, records[index].payload[:4] + json.dumps(body).encode())
    result = probe.read(db_path, LOOKUPS)
    assert_storagedb_error(result)
    assert result["type"] == "CorruptLogError"


def test_log_catalog_record_fuzz(probe, known, tmp_path):
    """Catalog records (add, seal, replace, drop) whose JSON names wrong things: only storagedb's errors."""
    rng = random.Random("log catalog records")
    records = read_log_records(known["log"])
    kinds = {LOG_RECORD_TYPES[name] for name in ("ADD_SEGMENTS", "SEAL", "REPLACE_SEGMENTS", "DROP_TABLE")}
    candidates = [i for i, r in enumerate(records) if r.type in kinds]
    assert len({records[i].type for i in candidates}) == 4
    failures = []
    for number in range(24):
        index = rng.choice(candidates)
        record = records[index]
        body = mutate_json(json.loads(record.payload[4:]), rng)
        db_path = copy_database(known["log"], str(tmp_path / f"case{number}"))
        rewrite_log_from(db_path, index, record.type, record.payload[:4] + json.dumps(body).encode())
        result = probe.read(db_path, LOOKUPS)
        if result["status"] not in ("ok", "storagedb_error"):
            detail = result.get("traceback") or result.get("message")
            failures.append(f"record {index} type {record.type} body {json.dumps(body)[:120]}: {detail}")
        shutil.rmtree(db_path)
    assert not failures, "\n".join(failures)


def test_forged_delete_vector_leaves_table_out(tmp_path):
    import storagedb
    from storagedb.inspect import check_database

    db_path = tmp_path / "db"
    with storagedb.connect(db_path) as db:
        damaged = db.create_table("t", [("k", "int64", "not null")], primary_key="k")
        damaged.insert_many([(i,) for i in range(5000)])
        db.checkpoint()
        damaged.delete(5)
        healthy = db.create_table("o", [("k", "int64", "not null")], primary_key="k")
        healthy.insert_many([(i,) for i in range(100)])
    _directory, _segments, vectors = table_files(str(db_path), "t")
    page = read_page(vectors[0], 1)
    assert struct.unpack_from("<Q", page, 24) == (5000,)  # the vector's row count
    struct.pack_into("<Q", page, 24, 5000 + 2**28)
    write_page(vectors[0], 1, page)  # with a valid checksum

    with storagedb.connect(db_path, readonly=True) as reader:
        assert reader.table_names() == ["o"]
        assert reader.table("o").row_count() == 100
        assert "delete vector covers 268440456 rows" in reader.unreadable_tables()["t"]
    problems, _checked = check_database(str(db_path))
    assert len(problems) == 1
    assert problems[0].startswith("table 't' cannot be read: ")
    with pytest.raises(storagedb.StorageDBError, match="delete vector covers"):
        storagedb.connect(db_path)
