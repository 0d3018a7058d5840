"""Payloads of write-ahead log records.

Every payload starts with the table id (u32). Row payloads carry NSM
records (``record.py``): the whole row for INSERT, the key columns encoded
as a record of a key-only schema for DELETE_OPEN. Catalog payloads carry a
small JSON object after the table id.

======================  ======================================================
TYPE                    PAYLOAD AFTER THE TABLE ID
======================  ======================================================
INSERT                  the row's record
DELETE_OPEN             the key record
UPDATE_OPEN             u32 key length, the old key record, the new row record
DELETE_SEALED           u64 segment file number, u64 row id
CREATE_TABLE            JSON ``{"name": ..., "entry": {...catalog entry...}}``
DROP_TABLE              JSON ``{"name": ...}``
ADD_SEGMENTS            JSON ``{"files": [...]}``
REPLACE_SEGMENTS        JSON ``{"old": [...], "new": [...]}``
SEAL                    JSON ``{"files": [...]}``
COMMIT, ABORT           nothing (no table id either)
======================  ======================================================
"""

from __future__ import annotations

import json
import struct
from typing import Any

from ..errors import CorruptLogError

__all__ = [
    "pack_row",
    "unpack_row",
    "pack_update",
    "unpack_update",
    "pack_sealed_delete",
    "unpack_sealed_delete",
    "pack_catalog",
    "unpack_catalog",
    "table_of",
]

_TABLE = struct.Struct("<I")
_UPDATE = struct.Struct("<II")
_SEALED = struct.Struct("<IQQ")
#: A catalog change contains one table's definition and file names.
MAX_CATALOG_PAYLOAD = 16 << 20


def table_of(payload: bytes) -> int:
    if len(payload) < 4:
        raise CorruptLogError(f"log record payload of {len(payload)} bytes has no table id")
    return _TABLE.unpack_from(payload)[0]


def pack_row(table_id: int, record: bytes) -> bytes:
    return _TABLE.pack(table_id) + record


def unpack_row(payload: bytes) -> tuple[int, bytes]:
    return table_of(payload), payload[4:]


def pack_update(table_id: int, key_record: bytes, record: bytes) -> bytes:
    return _UPDATE.pack(table_id, len(key_record)) + key_record + record


def unpack_update(payload: bytes) -> tuple[int, bytes, bytes]:
    if len(payload) < _UPDATE.size:
        raise CorruptLogError("UPDATE_OPEN log record is truncated")
    table_id, key_length = _UPDATE.unpack_from(payload)
    if _UPDATE.size + key_length > len(payload):
        raise CorruptLogError(f"UPDATE_OPEN log record declares a {key_length}-byte key past its end")
    key = payload[_UPDATE.size : _UPDATE.size + key_length]
    return table_id, key, payload[_UPDATE.size + key_length :]


def pack_sealed_delete(table_id: int, file_number: int, row: int) -> bytes:
    return _SEALED.pack(table_id, file_number, row)


def unpack_sealed_delete(payload: bytes) -> tuple[int, int, int]:
    if len(payload) != _SEALED.size:
        raise CorruptLogError(f"DELETE_SEALED log record has {len(payload)} bytes, expected {_SEALED.size}")
    return _SEALED.unpack(payload)


def pack_catalog(table_id: int, data: dict[str, Any]) -> bytes:
    return _TABLE.pack(table_id) + json.dumps(data, separators=(",", ":")).encode("utf-8")


def unpack_catalog(payload: bytes) -> tuple[int, dict[str, Any]]:
    table_id = table_of(payload)
    if len(payload) > MAX_CATALOG_PAYLOAD:
        raise CorruptLogError(f"catalog log record of {len(payload)} bytes exceeds the limit")
    try:
        data = json.loads(payload[4:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptLogError(f"catalog log record does not parse: {exc}") from None
    if not isinstance(data, dict):
        raise CorruptLogError("catalog log record is not a JSON object")
    return table_id, data
