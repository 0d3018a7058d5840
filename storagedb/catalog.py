"""The catalog: the tables of a database, their schemas and their files.

The catalog is one small file, ``catalog.sdb``, rewritten whole at every
change and committed atomically: the new contents go to ``catalog.sdb.tmp``,
which is fsynced, renamed over the old file, and the directory is fsynced.
A crash therefore leaves either the old catalog or the new one, never a mix.

Catalog file (16-byte header = 8 + 4 + 4, then the body):

======  ======  ========  ===================================================
OFFSET  SIZE    FIELD     MEANING
======  ======  ========  ===================================================
0       8       magic     ``b"SDBCATLG"``
8       4       length    bytes in the body
12      4       checksum  CRC32 of the body
16      length  body      UTF-8 JSON (see docs/file-format.md)
======  ======  ========  ===================================================

The body is JSON, read as data and never evaluated. Every file name in it is
checked against the patterns the engine generates before it is used. A
damaged catalog therefore cannot make storagedb touch a file outside the
database directory.
"""

from __future__ import annotations

import copy
import json
import os
import re
import struct
import zlib
from typing import Any

from .errors import CorruptCatalogError, StorageIOError
from .storage import fileio
from .storage.paged_file import fsync_directory

__all__ = ["Catalog", "CATALOG_NAME", "CATALOG_HEADER", "CATALOG_HEADER_SIZE", "valid_file_name", "valid_dir_name"]

CATALOG_NAME = "catalog.sdb"
CATALOG_HEADER = struct.Struct("<8sII")
CATALOG_HEADER_SIZE = 16  # 8 + 4 + 4
MAGIC = b"SDBCATLG"
CATALOG_FORMAT = 1
#: The catalog contains no row data, so a larger one is corrupt.
MAX_CATALOG_BYTES = 64 << 20

_FILE_NAME = re.compile(r"^(seg|open|del)-[0-9]{6,12}\.sdb$")
_DIR_NAME = re.compile(r"^t[0-9]{6,12}$")


def valid_file_name(name: Any) -> bool:
    """True for the segment, open-segment and delete-vector names the engine makes."""
    return isinstance(name, str) and bool(_FILE_NAME.match(name))


def valid_dir_name(name: Any) -> bool:
    return isinstance(name, str) and bool(_DIR_NAME.match(name))


def _empty() -> dict[str, Any]:
    return {"format": CATALOG_FORMAT, "next_table_id": 1, "next_file_id": 1, "checkpoint_lsn": 0, "tables": {}}


class Catalog:
    """The committed catalog of one database directory.

    ``data`` is the last committed state. Callers build a modified copy with
    :meth:`draft` and install it with :meth:`commit`.
    """

    def __init__(self, directory: str, data: dict[str, Any]) -> None:
        self.directory = directory
        self.path = os.path.join(directory, CATALOG_NAME)
        self.data = data

    @classmethod
    def load_or_create(cls, directory: str, *, readonly: bool = False) -> "Catalog":
        path = os.path.join(directory, CATALOG_NAME)
        if not os.path.exists(path):
            catalog = cls(directory, _empty())
            if not readonly:
                catalog.commit(catalog.data)
            return catalog
        return cls(directory, _read(path))

    def draft(self) -> dict[str, Any]:
        """Return a deep copy of the committed state, to modify and then commit."""
        return copy.deepcopy(self.data)

    def commit(self, data: dict[str, Any]) -> None:
        """Atomically replace the catalog file with ``data``.

        Raises:
            StorageIOError: the write, fsync or rename failed; the old
                catalog is still in place.
        """
        _validate(data, self.path)
        body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")
        header = CATALOG_HEADER.pack(MAGIC, len(body), zlib.crc32(body))
        temporary = self.path + ".tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                fileio.write_all(fd, header + body, temporary)
                fileio.fsync(fd, temporary)
            finally:
                os.close(fd)
            fileio.replace(temporary, self.path)
            fsync_directory(self.directory)
        except OSError as exc:
            raise StorageIOError(f"{self.path}: committing the catalog failed: {exc.strerror or exc}") from exc
        self.data = copy.deepcopy(data)


def _read(path: str) -> dict[str, Any]:
    with open(path, "rb") as handle:
        header = handle.read(CATALOG_HEADER_SIZE)
        if len(header) < CATALOG_HEADER_SIZE:
            raise CorruptCatalogError(f"{path}: catalog is truncated ({len(header)} bytes, the header needs 16)")
        magic, length, checksum = CATALOG_HEADER.unpack(header)
        if magic != MAGIC:
            raise CorruptCatalogError(f"{path}: not a storagedb catalog (magic {magic!r})")
        if length > MAX_CATALOG_BYTES:
            raise CorruptCatalogError(f"{path}: catalog declares {length} bytes, above the {MAX_CATALOG_BYTES} limit")
        body = handle.read(length + 1)
    if len(body) != length:
        raise CorruptCatalogError(f"{path}: catalog body is {len(body)} bytes, but its header declares {length}")
    if zlib.crc32(body) != checksum:
        raise CorruptCatalogError(
            f"{path}: catalog checksum mismatch (stored 0x{checksum:08x}, computed 0x{zlib.crc32(body):08x})"
        )
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptCatalogError(f"{path}: catalog does not parse: {exc}") from None
    _validate(data, path)
    return data


#: Table options and the values each may take.
TABLE_OPTIONS = {
    "segment_rows": (1, 1 << 31),
    "row_group_rows": (1, 1 << 22),
    "bloom_bits_per_key": (0, 64),
    "compression": None,
}
COMPRESSIONS = ("auto", "none", "plain", "dictionary", "rle", "bitpack", "delta", "for", "zstd", "lz4")
LAYOUTS = ("nsm", "dsm", "pax")


def option_problem(key: str, value: Any) -> str | None:
    """Why ``key=value`` is not a valid table option, or None if it is."""
    if key not in TABLE_OPTIONS:
        return f"unknown table option {key!r}; options are {', '.join(sorted(TABLE_OPTIONS))}"
    if key == "compression":
        if value not in COMPRESSIONS:
            return f"unknown compression {value!r}; choose one of {', '.join(COMPRESSIONS)}"
        return None
    low, high = TABLE_OPTIONS[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return f"option {key}={value!r} must be an integer from {low} to {high}"
    return None


def table_entry_problem(entry: Any) -> str | None:
    """Why a table's catalog entry (or CREATE_TABLE payload) is unusable, or None if it is sound."""
    from .errors import StorageDBError
    from .schema import Schema

    if not isinstance(entry, dict):
        return "the table definition is not an object"
    if not isinstance(entry.get("id"), int) or isinstance(entry.get("id"), bool) or entry["id"] < 1:
        return f"table id {entry.get('id')!r} is not a positive integer"
    if not valid_dir_name(entry.get("directory")):
        return f"invalid directory name {entry.get('directory')!r}"
    if entry.get("layout") not in LAYOUTS:
        return f"unknown layout {entry.get('layout')!r}"
    options = entry.get("options")
    if not isinstance(options, dict):
        return f"options {options!r} is not an object"
    for key, value in options.items():
        problem = option_problem(key, value)
        if problem:
            return problem
    try:
        Schema.from_json(entry.get("schema"))
    except (StorageDBError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"the schema is invalid ({type(exc).__name__}: {exc})"
    return None


def _validate(data: Any, path: str) -> None:
    """Check the catalog's shape, every value the engine reads from it, and every file name."""

    def fail(reason: str) -> None:
        raise CorruptCatalogError(f"{path}: catalog is invalid: {reason}")

    if not isinstance(data, dict) or data.get("format") != CATALOG_FORMAT:
        fail(f"format is {data.get('format') if isinstance(data, dict) else data!r}, expected {CATALOG_FORMAT}")
    for field in ("next_table_id", "next_file_id", "checkpoint_lsn"):
        if not isinstance(data.get(field), int) or isinstance(data.get(field), bool) or data[field] < 0:
            fail(f"{field} is {data.get(field)!r}")
    for field in ("log_generation", "log_salt"):
        value = data.get(field, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**64:
            fail(f"{field} is {value!r}")
    if "page_size" in data:
        size = data["page_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1024 or size > 32768 or size & (size - 1):
            fail(f"page_size is {size!r}")
    tables = data.get("tables")
    if not isinstance(tables, dict):
        fail("tables is not an object")
    for name, table in tables.items():
        problem = table_entry_problem(table)
        if problem:
            fail(f"table {name!r}: {problem}")
        segments = table.get("segments")
        if not isinstance(segments, list):
            fail(f"table {name!r} has no segment list")
        for segment in segments:
            if not isinstance(segment, dict) or not valid_file_name(segment.get("file")):
                fail(f"table {name!r} lists an invalid segment {segment!r}")
            vector = segment.get("delete_vector")
            if vector is not None and not valid_file_name(vector):
                fail(f"table {name!r} lists an invalid delete vector {vector!r}")
