"""Read, damage and forge storagedb files the way a hostile or broken disk would.

The tests build databases through the public API, then use these helpers to
look inside the files and change chosen bytes. The formats are coded here
from their documentation (docs/file-format.md and the module docstrings),
not imported from the engine, so a reader that drifts from its documented
format shows up as a failure.

All integers are little-endian.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from dataclasses import dataclass

PAGE_SIZE = 4096
#: Common page header: checksum, page_type, flags, reserved, lsn, page_no, reserved.
PAGE_HEADER = struct.Struct("<IBBHQII")
PAGE_HEADER_SIZE = 24  # 4 + 1 + 1 + 2 + 8 + 4 + 4
#: File header fields after the common header of page 0.
FILE_HEADER = struct.Struct("<8sHHIIIII8x")
FILE_HEADER_OFFSET = PAGE_HEADER_SIZE
PAGE_TYPE_NAMES = {1: "file header", 2: "free", 3: "slotted", 4: "overflow", 5: "run"}

CATALOG_NAME = "catalog.sdb"
CATALOG_HEADER = struct.Struct("<8sII")  # magic, body length, CRC32 of the body
CATALOG_MAGIC = b"SDBCATLG"

LOG_NAME = "wal.log"
LOG_HEADER_BLOCK = 4096
LOG_HEADER = struct.Struct("<8sIIQQI")  # magic, version, salt, generation, start_lsn, crc
LOG_RECORD_HEADER = struct.Struct("<IBBHIIQQQ")  # crc, type, flags, reserved, length, reserved, lsn, txn, synced_lsn
LOG_RECORD_HEADER_SIZE = 40
LOG_RECORD_TYPES = {
    "INSERT": 1,
    "DELETE_OPEN": 2,
    "UPDATE_OPEN": 3,
    "DELETE_SEALED": 4,
    "CREATE_TABLE": 5,
    "DROP_TABLE": 6,
    "ADD_SEGMENTS": 7,
    "REPLACE_SEGMENTS": 8,
    "SEAL": 9,
    "COMMIT": 10,
    "ABORT": 11,
}


def copy_database(source: str, target: str) -> str:
    """Copy a closed database directory (without its LOCK file) to ``target``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("LOCK"))
    return target


def flip_byte(path: str, offset: int, mask: int = 0xFF) -> None:
    """XOR the byte at ``offset`` of ``path`` with ``mask``."""
    with open(path, "r+b") as handle:
        handle.seek(offset)
        value = handle.read(1)[0]
        handle.seek(offset)
        handle.write(bytes([value ^ mask]))


def truncate_file(path: str, length: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(length)


# -- catalog ------------------------------------------------------------------


def read_catalog(db_path: str) -> dict:
    """The catalog's JSON body, after checking its header and CRC."""
    with open(os.path.join(db_path, CATALOG_NAME), "rb") as handle:
        data = handle.read()
    magic, length, checksum = CATALOG_HEADER.unpack_from(data, 0)
    body = data[CATALOG_HEADER.size : CATALOG_HEADER.size + length]
    if magic != CATALOG_MAGIC or len(body) != length or zlib.crc32(body) != checksum:
        raise ValueError(f"{db_path}: catalog header or checksum does not match its body")
    return json.loads(body)


def write_catalog(db_path: str, data: dict, *, length: int | None = None) -> None:
    """Write ``data`` as the catalog with a correct CRC, as a forger would.

    ``length`` replaces the body length stored in the header.
    """
    body = json.dumps(data).encode("utf-8")
    header = CATALOG_HEADER.pack(CATALOG_MAGIC, len(body) if length is None else length, zlib.crc32(body))
    with open(os.path.join(db_path, CATALOG_NAME), "wb") as handle:
        handle.write(header + body)


def listed_files(db_path: str) -> dict[str, set[str]]:
    """Table directory -> the segment and delete-vector files the catalog lists."""
    listed: dict[str, set[str]] = {}
    for entry in read_catalog(db_path)["tables"].values():
        files = listed.setdefault(entry["directory"], set())
        for segment in entry["segments"]:
            files.add(segment["file"])
            if segment.get("delete_vector"):
                files.add(segment["delete_vector"])
    return listed


def stray_files(db_path: str) -> list[str]:
    """Files and folders of a closed database that its catalog does not account for."""
    listed = listed_files(db_path)
    stray = []
    for name in sorted(os.listdir(db_path)):
        full = os.path.join(db_path, name)
        if name in ("LOCK", CATALOG_NAME, LOG_NAME):
            continue
        if not os.path.isdir(full) or name not in listed:
            stray.append(name)
            continue
        stray.extend(f"{name}/{inner}" for inner in sorted(os.listdir(full)) if inner not in listed[name])
    return stray


# -- write-ahead log ----------------------------------------------------------


@dataclass
class LogHeader:
    salt: int
    generation: int
    start_lsn: int


@dataclass
class LogRecord:
    offset: int  # byte offset in wal.log
    size: int  # header, payload and padding to 8 bytes
    type: int
    length: int
    lsn: int
    txn: int
    synced_lsn: int
    payload: bytes


def read_log_header(db_path: str) -> LogHeader:
    with open(os.path.join(db_path, LOG_NAME), "rb") as handle:
        raw = handle.read(LOG_HEADER.size)
    _magic, _version, salt, generation, start_lsn, _checksum = LOG_HEADER.unpack(raw)
    return LogHeader(salt, generation, start_lsn)


def _record_crc(salt: int, header_rest: bytes, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(header_rest, salt))


def read_log_records(db_path: str) -> list[LogRecord]:
    """Every valid record of the current generation, in order."""
    header = read_log_header(db_path)
    with open(os.path.join(db_path, LOG_NAME), "rb") as handle:
        data = handle.read()
    records = []
    offset = LOG_HEADER_BLOCK
    while offset + LOG_RECORD_HEADER_SIZE <= len(data):
        crc, rtype, _flags, _r, length, _r2, lsn, txn, synced = LOG_RECORD_HEADER.unpack_from(data, offset)
        if lsn != header.start_lsn + offset - LOG_HEADER_BLOCK or offset + LOG_RECORD_HEADER_SIZE + length > len(data):
            break
        payload = data[offset + LOG_RECORD_HEADER_SIZE : offset + LOG_RECORD_HEADER_SIZE + length]
        if _record_crc(header.salt, data[offset + 4 : offset + LOG_RECORD_HEADER_SIZE], payload) != crc:
            break
        size = (LOG_RECORD_HEADER_SIZE + length + 7) & ~7
        records.append(LogRecord(offset, size, rtype, length, lsn, txn, synced, payload))
        offset += size
    return records


def forge_log_record(
    salt: int, lsn: int, record_type: int, txn: int, payload: bytes, *, length: int | None = None, synced_lsn: int = 0
) -> bytes:
    """One record with a valid CRC; ``length`` overrides the stored payload length."""
    stored_length = len(payload) if length is None else length
    rest = LOG_RECORD_HEADER.pack(0, record_type, 0, 0, stored_length, 0, lsn, txn, synced_lsn)[4:]
    crc = _record_crc(salt, rest, payload)
    record = struct.pack("<I", crc) + rest + payload
    return record + bytes(-len(record) % 8)


def append_log_records(db_path: str, records: list[tuple[int, int, bytes]]) -> None:
    """Append ``(type, txn, payload)`` records after the last valid one, each with a valid CRC."""
    header = read_log_header(db_path)
    existing = read_log_records(db_path)
    offset = existing[-1].offset + existing[-1].size if existing else LOG_HEADER_BLOCK
    blob = b""
    for record_type, txn, payload in records:
        lsn = header.start_lsn + offset + len(blob) - LOG_HEADER_BLOCK
        blob += forge_log_record(header.salt, lsn, record_type, txn, payload)
    with open(os.path.join(db_path, LOG_NAME), "r+b") as handle:
        handle.seek(offset)
        handle.write(blob)


def catalog_payload(table_id: int, data: dict) -> bytes:
    """A catalog-change log payload: u32 table id, then JSON."""
    return struct.pack("<I", table_id) + json.dumps(data).encode("utf-8")


# -- paged files --------------------------------------------------------------


def read_page(path: str, page_no: int) -> bytearray:
    with open(path, "rb") as handle:
        handle.seek(page_no * PAGE_SIZE)
        return bytearray(handle.read(PAGE_SIZE))


def write_page(path: str, page_no: int, page: bytes | bytearray, *, restamp: bool = True) -> None:
    """Write a page image back; with ``restamp`` its CRC is recomputed so it passes the page check."""
    page = bytearray(page)
    if restamp:
        struct.pack_into("<I", page, 0, zlib.crc32(page[4:]))
    with open(path, "r+b") as handle:
        handle.seek(page_no * PAGE_SIZE)
        handle.write(page)


def restamp_page(path: str, page_no: int) -> None:
    """Recompute the CRC of a page after its bytes were changed."""
    write_page(path, page_no, read_page(path, page_no))


def file_header(path: str) -> dict:
    names = ("magic", "format_version", "file_kind", "page_size", "page_count", "free_head", "free_count", "root_page")
    return dict(zip(names, FILE_HEADER.unpack_from(read_page(path, 0), FILE_HEADER_OFFSET)))


def read_run_bytes(path: str, first_page: int, length: int) -> bytes:
    """The byte string stored in the page run starting at ``first_page``."""
    capacity = PAGE_SIZE - PAGE_HEADER_SIZE
    out = b""
    page_no = first_page
    while len(out) < length:
        out += bytes(read_page(path, page_no)[PAGE_HEADER_SIZE:])
        page_no += 1
    return out[:length]


def segment_descriptor(path: str) -> dict:
    """The JSON descriptor of a sealed segment (u32 length + JSON at ``root_page``)."""
    root = file_header(path)["root_page"]
    (length,) = struct.unpack("<I", read_run_bytes(path, root, 4))
    return json.loads(read_run_bytes(path, root, 4 + length)[4:])


def page_roles(path: str) -> dict[int, str]:
    """What each page of a sealed segment or delete-vector file holds.

    Roles: ``file header``, ``slotted``, ``overflow``, ``zones``, ``fences``,
    ``bloom``, ``directory`` (a layout's chunk or page directory),
    ``descriptor``, ``chunk`` (column chunk runs), ``delete vector``.
    """
    header = file_header(path)
    roles = {0: "file header"}
    types = {n: read_page(path, n)[4] for n in range(1, header["page_count"])}
    if header["file_kind"] == 4:
        roles.update({n: "delete vector" for n in types})
        return roles
    descriptor = segment_descriptor(path)
    runs = {name: ref for name, ref in descriptor["runs"].items()}
    directory = descriptor["layout_info"].get("directory")
    if directory:
        runs["directory"] = directory
    for page_no, page_type in types.items():
        if page_type != 5:
            roles[page_no] = PAGE_TYPE_NAMES.get(page_type, f"type {page_type}")
            continue
        roles[page_no] = "chunk"
        for name, (first, count, _length) in runs.items():
            if first <= page_no < first + count:
                roles[page_no] = name
        if page_no >= header["root_page"]:
            roles[page_no] = "descriptor"
    return roles


def pages_with_role(path: str, role: str) -> list[int]:
    return [page_no for page_no, name in page_roles(path).items() if name == role]


def table_files(db_path: str, table_name: str) -> tuple[str, list[str], list[str]]:
    """A table's directory, its sealed segment paths and its delete-vector paths."""
    entry = read_catalog(db_path)["tables"][table_name]
    directory = os.path.join(db_path, entry["directory"])
    segments = [os.path.join(directory, s["file"]) for s in entry["segments"]]
    vectors = [os.path.join(directory, s["delete_vector"]) for s in entry["segments"] if s.get("delete_vector")]
    return directory, segments, vectors


def write_run_bytes(path: str, first_page: int, data: bytes) -> None:
    """Overwrite the start of a page run with ``data`` and re-stamp the pages it touches."""
    capacity = PAGE_SIZE - PAGE_HEADER_SIZE
    for index in range(0, len(data), capacity):
        page_no = first_page + index // capacity
        page = read_page(path, page_no)
        piece = data[index : index + capacity]
        page[PAGE_HEADER_SIZE : PAGE_HEADER_SIZE + len(piece)] = piece
        write_page(path, page_no, page)


def rewrite_descriptor(path: str, change) -> None:
    """Apply ``change(descriptor)`` to a sealed segment's descriptor and store it with valid checksums.

    The new JSON must fit the pages from ``root_page`` to the end of the file.
    """
    header = file_header(path)
    root = header["root_page"]
    (length,) = struct.unpack("<I", read_run_bytes(path, root, 4))
    descriptor = json.loads(read_run_bytes(path, root, 4 + length)[4:])
    change(descriptor)
    body = json.dumps(descriptor, separators=(",", ":")).encode()
    room = (header["page_count"] - root) * (PAGE_SIZE - PAGE_HEADER_SIZE)
    if 4 + len(body) > room:
        raise ValueError(f"the changed descriptor takes {4 + len(body)} bytes, its pages hold {room}")
    write_run_bytes(path, root, struct.pack("<I", len(body)) + body)


#: Column chunk header fields (see storagedb/encoding/header.py): offsets in the chunk.
CHUNK_COMPRESSION = 4
CHUNK_ROW_COUNT = 8
CHUNK_PAYLOAD_SIZE = 20
CHUNK_STORED_PAYLOAD_SIZE = 24
CHUNK_KINDS = {"int64": 4, "float64": 6, "text": 8}
CHUNK_COMPRESSIONS = {"none": 0, "zstd": 1, "lz4": 2}


def chunk_pages(path: str, kind: str, compression: str) -> list[int]:
    """Pages of a DSM or PAX segment where a column chunk of ``kind`` and ``compression`` starts."""
    found = []
    for page_no, role in page_roles(path).items():
        if role != "chunk":
            continue
        body = read_page(path, page_no)[PAGE_HEADER_SIZE:]
        if body[0] == 1 and body[1] == CHUNK_KINDS[kind] and body[CHUNK_COMPRESSION] == CHUNK_COMPRESSIONS[compression]:
            found.append(page_no)
    return found
