"""Sizes read from a file are checked before anything is allocated.

Each case forges one size field of an otherwise valid database (checksums
recomputed, so the field reaches its parser) and opens, scans and looks up
keys in a probe process whose address space may grow by only
``HEADROOM_MB`` after start-up. The database files here are a few hundred
kilobytes, so nothing legitimate needs more. The probe must report a
``storagedb.StorageDBError`` within ``MAX_SECONDS``: a MemoryError means
the engine tried to allocate what the file declared.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from durability_files import (
    LOG_HEADER_BLOCK,
    LOG_NAME,
    PAGE_HEADER_SIZE,
    chunk_pages,
    copy_database,
    file_header,
    forge_log_record,
    pages_with_role,
    read_log_header,
    read_page,
    rewrite_descriptor,
    table_files,
    write_page,
)
from durability_probe import Probe

import storagedb

HEADROOM_MB = 128
MAX_SECONDS = 5.0
LOOKUPS = [["t", 1], ["t", 4999], ["t", 9999]]


@pytest.fixture(scope="module")
def probe():
    handle = Probe(headroom_mb=HEADROOM_MB, timeout=60.0)
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """Small databases: 5,000 rows bulk loaded, a row bigger than a page, a deleted row."""
    root = tmp_path_factory.mktemp("limits")
    databases = {}
    for layout, compression in [("nsm", "auto"), ("dsm", "auto"), ("pax", "auto"), ("dsm", "lz4"), ("dsm", "zstd")]:
        path = str(root / f"{layout}-{compression}")
        with storagedb.connect(path, pool_size=4 << 20) as db:
            table = db.create_table(
                "t",
                [("id", "int64", "not null"), ("s", "text")],
                primary_key="id",
                layout=layout,
                compression=compression,
            )
            ids = np.arange(5000)
            table.insert_many({"id": ids, "s": np.array([f"value {i}" for i in ids], dtype=object)})
            table.insert({"id": 9999, "s": "Z" * 9000})
            db.checkpoint()
            table.delete(3)
        databases[(layout, compression)] = path
    return databases


def _open_damaged(probe, bases, tmp_path, layout: str, compression: str, damage) -> dict:
    db_path = copy_database(bases[(layout, compression)], str(tmp_path / "db"))
    damage(db_path)
    return probe.read(db_path, LOOKUPS)


def assert_rejected_quickly(result: dict) -> None:
    detail = result.get("traceback") or result.get("message")
    assert result["status"] == "storagedb_error", f"{result['status']} {result.get('type')}: {detail}"
    assert result["seconds"] < MAX_SECONDS


def _segment(db_path: str, index: int = 0) -> str:
    return table_files(db_path, "t")[1][index]


def _patch(path: str, page_no: int, offset: int, fmt: str, value: int) -> None:
    """Store ``value`` at ``offset`` of a page and re-stamp the page checksum."""
    page = read_page(path, page_no)
    struct.pack_into(fmt, page, offset, value)
    write_page(path, page_no, page)


# -- damage functions, one per size field ------------------------------------------------------


def catalog_length(value: int):
    def damage(db_path: str) -> None:
        path = os.path.join(db_path, "catalog.sdb")
        data = bytearray(open(path, "rb").read())
        struct.pack_into("<I", data, 8, value)
        open(path, "wb").write(bytes(data))

    return damage


def log_record_length(db_path: str) -> None:
    """A record claiming 4 GiB of payload, then a valid record proving the log was durable past it."""
    header = read_log_header(db_path)
    lsn = header.start_lsn
    bad = forge_log_record(header.salt, lsn, 10, 1, b"", length=0xFFFF_FFFF)
    good = forge_log_record(header.salt, lsn + 64, 10, 2, b"", synced_lsn=lsn + 64)
    with open(os.path.join(db_path, LOG_NAME), "r+b") as handle:
        handle.seek(LOG_HEADER_BLOCK)
        handle.write(bad + bytes(64 - len(bad)) + good)


def descriptor_length(value: int):
    def damage(db_path: str) -> None:
        segment = _segment(db_path)
        _patch(segment, file_header(segment)["root_page"], PAGE_HEADER_SIZE, "<I", value)

    return damage


def overflow_stub_size(value: int):
    def damage(db_path: str) -> None:
        for segment in table_files(db_path, "t")[1]:
            for page_no in pages_with_role(segment, "slotted"):
                page = read_page(segment, page_no)
                (slots,) = struct.unpack_from("<H", page, 24)
                for slot in range(slots):
                    offset, length = struct.unpack_from("<HH", page, 40 + 4 * slot)
                    if length & 0x8000:
                        _patch(segment, page_no, offset, "<Q", value)
                        return
        raise AssertionError("no overflow stub in the database")

    return damage


def chunk_field(compression: str, field_offset: int, value: int):
    def damage(db_path: str) -> None:
        for segment in table_files(db_path, "t")[1]:
            pages = chunk_pages(segment, "text", compression)
            if pages:
                _patch(segment, pages[0], PAGE_HEADER_SIZE + field_offset, "<I", value)
                return
        raise AssertionError(f"no {compression} text chunk in the database")

    return damage


def bloom_keys(db_path: str) -> None:
    """A Bloom header declaring 400 million keys, 500 MB of bits, consistent with itself."""
    segment = _segment(db_path)
    page_no = pages_with_role(segment, "bloom")[0]
    keys = 400_000_000
    page = read_page(segment, page_no)
    struct.pack_into("<II", page, PAGE_HEADER_SIZE + 8, keys * 10, keys)
    write_page(segment, page_no, page)


def array_group_count(db_path: str) -> None:
    segment = _segment(db_path)
    _patch(segment, pages_with_role(segment, "zones")[0], PAGE_HEADER_SIZE + 8, "<I", 0xFFFF_FFFF)


def delete_vector_rows(db_path: str) -> None:
    vector = table_files(db_path, "t")[2][0]
    _patch(vector, file_header(vector)["root_page"], PAGE_HEADER_SIZE, "<Q", 1 << 62)


def descriptor_rows(rows: int):
    def damage(db_path: str) -> None:
        rewrite_descriptor(_segment(db_path), lambda descriptor: descriptor.update(rows=rows))

    return damage


def run_reference_length(db_path: str) -> None:
    """The Bloom filter's run reference in the descriptor claims 1 GiB."""

    def change(descriptor: dict) -> None:
        first, _count, _length = descriptor["runs"]["bloom"]
        descriptor["runs"]["bloom"] = [first, -(-(1 << 30) // 4072), 1 << 30]

    rewrite_descriptor(_segment(db_path), change)


CASES = [
    ("catalog length 4 GiB", "nsm", "auto", catalog_length(0xFFFF_FFFF)),
    ("catalog length 64 MiB past the file", "nsm", "auto", catalog_length(64 << 20)),
    ("log record length 4 GiB", "nsm", "auto", log_record_length),
    ("descriptor length 4 GiB", "pax", "auto", descriptor_length(0xFFFF_FFF0)),
    ("descriptor length 15 MiB", "pax", "auto", descriptor_length(15 << 20)),
    ("overflow stub 1 TiB", "nsm", "auto", overflow_stub_size(1 << 40)),
    ("zstd chunk payload 250 MiB", "dsm", "zstd", chunk_field("zstd", 20, 250 << 20)),
    ("chunk row count 4 billion", "dsm", "zstd", chunk_field("zstd", 8, 0xFFFF_FFFF)),
    ("bloom filter 400 million keys", "pax", "auto", bloom_keys),
    ("array group count 4 billion", "dsm", "auto", array_group_count),
    ("delete vector rows 2**62", "pax", "auto", delete_vector_rows),
    ("nsm descriptor rows 10**12", "nsm", "auto", descriptor_rows(10**12)),
    ("run reference length 1 GiB", "nsm", "auto", run_reference_length),
]


@pytest.mark.parametrize("name, layout, compression, damage", CASES, ids=[case[0] for case in CASES])
def test_declared_size_rejected(probe, bases, tmp_path, name, layout, compression, damage):
    assert_rejected_quickly(_open_damaged(probe, bases, tmp_path, layout, compression, damage))


def test_clean_databases_open_under_limit(probe, bases, tmp_path):
    for (layout, compression), path in bases.items():
        result = probe.read(copy_database(path, str(tmp_path / f"{layout}-{compression}")), LOOKUPS)
        assert result["status"] == "ok", result
        assert result["dump"]["gets"][0] == {"id": 1, "s": "value 1"}


def test_overflow_stub_below_limit_rejected(probe, bases, tmp_path):
    result = _open_damaged(probe, bases, tmp_path, "nsm", "auto", overflow_stub_size((1 << 30) - 1))
    assert_rejected_quickly(result)


def test_lz4_chunk_payload_rejected(probe, bases, tmp_path):
    result = _open_damaged(probe, bases, tmp_path, "dsm", "lz4", chunk_field("lz4", 20, 250 << 20))
    assert_rejected_quickly(result)


@pytest.mark.parametrize("layout", ["dsm", "pax"])
def test_columnar_descriptor_rows_rejected(probe, bases, tmp_path, layout):
    assert_rejected_quickly(_open_damaged(probe, bases, tmp_path, layout, "auto", descriptor_rows(10**12)))


def test_large_log_file_opens(probe, bases, tmp_path):
    def grow(db_path: str) -> None:
        with open(os.path.join(db_path, LOG_NAME), "r+b") as handle:
            handle.truncate(3 << 30)

    result = _open_damaged(probe, bases, tmp_path, "nsm", "auto", grow)
    assert result["status"] == "ok", f"{result['status']} {result.get('type')}: {result.get('message')}"


REOPEN_UNDER_CAP = """
import resource, sys
import storagedb

def virtual_memory():
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))

limit = virtual_memory() + (512 << 20)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
for attempt in range(10):
    storagedb.connect(sys.argv[1]).close()
"""


def test_closed_database_frees_pool(bases, tmp_path):
    db_path = copy_database(bases[("nsm", "auto")], str(tmp_path / "db"))
    run = subprocess.run([sys.executable, "-c", REOPEN_UNDER_CAP, db_path], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
