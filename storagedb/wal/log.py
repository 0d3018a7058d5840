"""The write-ahead log: a file of checksummed records, forced to disk at commit.

Every change to a table (row inserts, updates and deletes) and to the
catalog (tables created or dropped, segments added, sealed or replaced) is
appended here, with the id of its transaction, before the change can reach
a data file. A COMMIT record ends a transaction. A checkpoint folds
everything into the catalog and the segment files and starts a new
*generation* of the log, overwriting the same preallocated file.

File layout::

    block 0 (4096 bytes)   log header (below), zero-filled
    4096 ..                records, back to back, each padded to 8 bytes

Log header (36 bytes = 8 + 4 + 4 + 8 + 8 + 4):

======  ====  ===========  ==================================================
OFFSET  SIZE  FIELD        MEANING
======  ====  ===========  ==================================================
0       8     magic        ``b"SDBWALOG"``
8       4     version      1
12      4     salt         random per generation; seeds every record's CRC
16      8     generation   counts checkpoints; the catalog names the current
24      8     start_lsn    LSN of the first record of this generation
32      4     checksum     CRC32 of bytes 0..31
======  ====  ===========  ==================================================

Record header (40 bytes = 4 + 1 + 1 + 2 + 4 + 4 + 8 + 8 + 8), then the payload:

======  ====  ===========  ==================================================
OFFSET  SIZE  FIELD        MEANING
======  ====  ===========  ==================================================
0       4     checksum     CRC32 of bytes 4..39 and the payload, seeded with
                           the generation's salt
4       1     type         :class:`RecordType`
5       1     flags        0
6       2     reserved     0
8       4     length       payload bytes
12      4     reserved     0
16      8     lsn          the record's LSN: ``start_lsn`` plus its offset
                           from byte 4096
24      8     txn          transaction id
32      8     synced_lsn   the log was durable up to here when this record
                           was written
======  ====  ===========  ==================================================

Why each field: the salt makes records left in the file by an earlier
generation fail their checksum, so they never count. The LSN must equal the
record's position, which rejects a record found at the wrong place. And
``synced_lsn`` tells a torn tail from real damage: a crash can only tear
what was written after the last fsync, so if some valid later record says
the log was already durable past a bad record, that bad record is
corruption in the middle of the log, which raises
:class:`CorruptLogError`; otherwise it is a torn tail, which is truncated
with a warning.

Group commit: committers append under the database lock, then call
:meth:`WriteAheadLog.sync` without it. The first waiter writes everything
appended so far and calls fdatasync once; every committer whose record that
covered returns together.

Locks: ``_append_lock`` protects the pending buffer and ``_next_lsn``;
``_io_lock`` serialises writes to the file; ``_cond`` (with its own lock)
protects ``_durable_lsn`` and ``_syncing``.
"""

from __future__ import annotations

import enum
import logging
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import CorruptLogError, StorageIOError
from ..storage import fileio
from ..storage.paged_file import fsync_directory

__all__ = [
    "WriteAheadLog",
    "RecordType",
    "LogRecord",
    "LOG_NAME",
    "LOG_HEADER",
    "LOG_HEADER_SIZE",
    "RECORD_HEADER",
    "RECORD_HEADER_SIZE",
    "HEADER_BLOCK",
]

log = logging.getLogger(__name__)

LOG_NAME = "wal.log"
MAGIC = b"SDBWALOG"
VERSION = 1
HEADER_BLOCK = 4096
LOG_HEADER = struct.Struct("<8sIIQQI")
LOG_HEADER_SIZE = 36  # 8 + 4 + 4 + 8 + 8 + 4
RECORD_HEADER = struct.Struct("<IBBHIIQQQ")
RECORD_HEADER_SIZE = 40  # 4 + 1 + 1 + 2 + 4 + 4 + 8 + 8 + 8
_AFTER_CHECKSUM = struct.Struct("<BBHIIQQQ")
#: A record contains one row (at most 1 GiB) or one catalog change.
MAX_PAYLOAD = (1 << 30) + (1 << 16)
#: The log file grows in steps of this many zero bytes, written ahead of
#: time because overwriting allocated blocks syncs faster than appending.
PREALLOCATE_BYTES = 16 << 20


class RecordType(enum.IntEnum):
    """The ``type`` byte of a record. 0 is reserved."""

    INSERT = 1  # a row into a table's open segment
    DELETE_OPEN = 2  # a row of the open segment, by key
    UPDATE_OPEN = 3  # a row of the open segment, by key, to a new record
    DELETE_SEALED = 4  # a row of a sealed segment, by file and row id
    CREATE_TABLE = 5
    DROP_TABLE = 6
    ADD_SEGMENTS = 7  # sealed files written by a bulk load
    REPLACE_SEGMENTS = 8  # compaction output replacing older files
    SEAL = 9  # the open segment was written out as sealed files
    COMMIT = 10
    ABORT = 11


class LogRecord(NamedTuple):
    lsn: int
    txn: int
    type: int
    payload: bytes


@dataclass
class ReadResult:
    """Result of reading a log: its records, its end LSN and the bytes of a torn tail that was cut (0 if none)."""

    records: list[LogRecord]
    end_lsn: int
    torn_bytes: int


def _padded(size: int) -> int:
    return (size + 7) & ~7


def _record_checksum(salt: int, header_rest: bytes | memoryview, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(header_rest, salt))


class WriteAheadLog:
    """One open log file. Use :meth:`create` or :meth:`open`."""

    def __init__(self, path: str, fd: int, salt: int, generation: int, start_lsn: int, end_lsn: int) -> None:
        self.path = path
        self._fd = fd
        self.salt = salt
        self.generation = generation
        self.start_lsn = start_lsn
        self._next_lsn = end_lsn
        self._written_lsn = end_lsn
        self._durable_lsn = end_lsn
        self._pending = bytearray()
        self._allocated = os.fstat(fd).st_size
        self._append_lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._cond = threading.Condition()
        self._syncing = False
        self.closed = False
        self.syncs = 0

    # -- opening ---------------------------------------------------------

    @classmethod
    def create(cls, directory: str, generation: int, salt: int, start_lsn: int) -> "WriteAheadLog":
        """Create (or overwrite) the log file for a new generation, synced."""
        path = os.path.join(directory, LOG_NAME)
        existed = os.path.exists(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            wal = cls(path, fd, salt, generation, start_lsn, start_lsn)
            wal._write_header()
            wal._preallocate(HEADER_BLOCK + PREALLOCATE_BYTES)
            wal._fsync()
        except BaseException:
            os.close(fd)
            raise
        if not existed:
            fsync_directory(directory)
        return wal

    @classmethod
    def open(cls, directory: str, *, readonly: bool = False) -> tuple["WriteAheadLog", "LogHeader"]:
        """Open an existing log and read its header (records are read separately).

        Raises:
            CorruptLogError: the header is damaged.
        """
        path = os.path.join(directory, LOG_NAME)
        fd = os.open(path, os.O_RDONLY if readonly else os.O_RDWR)
        try:
            header = _read_header(fd, path)
            wal = cls(path, fd, header.salt, header.generation, header.start_lsn, header.start_lsn)
        except BaseException:
            os.close(fd)
            raise
        return wal, header

    # -- reading ---------------------------------------------------------

    def read_records(self) -> ReadResult:
        """Read every valid record of this generation and position the log after them.

        A torn tail is cut off (and reported in ``torn_bytes``); damage that
        a later durable record proves is in the middle raises.

        Raises:
            CorruptLogError: a bad record lies before data that was durable.
        """
        reader = _Window(self._fd, HEADER_BLOCK, os.fstat(self._fd).st_size - HEADER_BLOCK)
        records: list[LogRecord] = []
        offset = 0
        problem = ""
        while offset + RECORD_HEADER_SIZE <= reader.size:
            header_bytes = reader.read(offset, RECORD_HEADER_SIZE)
            checksum, record_type, _flags, _reserved, length, _reserved2, lsn, txn, _synced = RECORD_HEADER.unpack(
                header_bytes
            )
            expected_lsn = self.start_lsn + offset
            if lsn != expected_lsn:
                problem = f"expected LSN {expected_lsn}, found {lsn}"
                break
            if length > MAX_PAYLOAD or offset + RECORD_HEADER_SIZE + length > reader.size:
                problem = f"record length {length} runs past the end of the log"
                break
            payload = reader.read(offset + RECORD_HEADER_SIZE, length)
            if _record_checksum(self.salt, header_bytes[4:], payload) != checksum:
                problem = "checksum mismatch"
                break
            if record_type not in RecordType._value2member_map_:
                problem = f"unknown record type {record_type}"
                break
            records.append(LogRecord(lsn, txn, record_type, bytes(payload)))
            offset += _padded(RECORD_HEADER_SIZE + length)
        end_lsn = self.start_lsn + offset
        torn = 0
        if problem and reader.any_nonzero(offset):
            later = self._durable_record_after(reader, offset)
            if later is not None:
                raise CorruptLogError(
                    f"{self.path}: record at LSN {end_lsn} is corrupt ({problem}), but the record at LSN "
                    f"{later[0]} shows the log was durable up to {later[1]}; the log is damaged in the middle"
                )
            # Bytes whose LSN field does not match are zeros or records of an
            # earlier generation: the clean end of the log. A record of this
            # generation that fails its check is a write torn by a crash.
            if offset + RECORD_HEADER_SIZE <= reader.size:
                header = RECORD_HEADER.unpack(reader.read(offset, RECORD_HEADER_SIZE))
                if header[6] == end_lsn:
                    torn = _padded(RECORD_HEADER_SIZE + min(header[4], reader.size))
                    log.warning(
                        "%s: torn tail at LSN %d (%s); discarding the incomplete record written before a crash",
                        self.path,
                        end_lsn,
                        problem,
                    )
        self._next_lsn = self._written_lsn = self._durable_lsn = end_lsn
        return ReadResult(records, end_lsn, torn)

    def _durable_record_after(self, reader: "_Window", bad_offset: int) -> tuple[int, int] | None:
        """Find a valid record past ``bad_offset`` whose ``synced_lsn`` covers the bad one.

        Returns that record's ``(lsn, synced_lsn)``, or None if there is no such record.
        """
        bad_lsn = self.start_lsn + bad_offset
        for window_start, window in reader.windows(bad_offset + 8):
            words = np.frombuffer(window, dtype="<u8", count=len(window) // 8)
            # Candidate headers: 8-aligned offsets whose LSN field (16 bytes
            # in) equals the LSN that position would have.
            offsets = np.arange(0, len(window) - RECORD_HEADER_SIZE + 1, 8, dtype=np.int64)
            if not len(offsets):
                continue
            lsn_fields = words[(offsets + 16) // 8]
            expected = (self.start_lsn + window_start + offsets).astype(np.uint64)
            for relative in offsets[lsn_fields == expected].tolist():
                offset = window_start + relative
                header = reader.read(offset, RECORD_HEADER_SIZE)
                checksum, _type, _f, _r, length, _r2, lsn, _txn, synced = RECORD_HEADER.unpack(header)
                if length > MAX_PAYLOAD or offset + RECORD_HEADER_SIZE + length > reader.size:
                    continue
                payload = reader.read(offset + RECORD_HEADER_SIZE, length)
                if _record_checksum(self.salt, header[4:], payload) != checksum:
                    continue
                if synced > bad_lsn:
                    return lsn, synced
        return None

    # -- appending -------------------------------------------------------

    def append(self, record_type: int, txn: int, payload: bytes) -> int:
        """Add a record to the pending buffer and return its LSN (no I/O)."""
        length = len(payload)
        if length > MAX_PAYLOAD:
            raise StorageIOError(f"{self.path}: a log record of {length} bytes exceeds the {MAX_PAYLOAD}-byte limit")
        with self._append_lock:
            lsn = self._next_lsn
            rest = _AFTER_CHECKSUM.pack(record_type, 0, 0, length, 0, lsn, txn, self._durable_lsn)
            checksum = _record_checksum(self.salt, rest, payload)
            size = _padded(RECORD_HEADER_SIZE + length)
            pending = self._pending
            pending += struct.pack("<I", checksum)
            pending += rest
            pending += payload
            pending += bytes(size - RECORD_HEADER_SIZE - length)
            self._next_lsn = lsn + size
            return lsn

    @property
    def next_lsn(self) -> int:
        return self._next_lsn

    @property
    def durable_lsn(self) -> int:
        return self._durable_lsn

    def bytes_since_checkpoint(self) -> int:
        return self._next_lsn - self.start_lsn

    def write(self) -> int:
        """Hand every pending record to the operating system; returns the LSN written up to.

        Raises:
            StorageIOError: the write failed or was short (the disk may be full).
        """
        with self._io_lock:
            with self._append_lock:
                data = bytes(self._pending)
                self._pending.clear()
                start = self._written_lsn
                end = self._next_lsn
            if not data:
                return end
            offset = HEADER_BLOCK + (start - self.start_lsn)
            if offset + len(data) > self._allocated:
                self._preallocate(offset + len(data) + PREALLOCATE_BYTES)
            try:
                written = fileio.pwrite(self._fd, data, offset, self.path)
            except OSError as exc:
                raise StorageIOError(f"{self.path}: writing the log failed: {exc.strerror or exc}") from exc
            if written != len(data):
                raise StorageIOError(
                    f"{self.path}: short write to the log ({written} of {len(data)} bytes); the disk may be full"
                )
            self._written_lsn = end
            return end

    def sync(self, lsn: int | None = None) -> None:
        """Make the log durable up to ``lsn`` (default: everything appended).

        Concurrent callers share one fdatasync: the first writes and syncs
        for everyone whose records were appended by then.

        Raises:
            StorageIOError: the write or the fdatasync failed.
        """
        target = self._next_lsn if lsn is None else lsn
        with self._cond:
            while self._durable_lsn < target:
                if not self._syncing:
                    self._syncing = True
                    break
                self._cond.wait()
            else:
                return
        durable = None
        try:
            written = self.write()
            self._fsync()
            durable = written
        finally:
            with self._cond:
                self._syncing = False
                if durable is not None and durable > self._durable_lsn:
                    self._durable_lsn = durable
                self._cond.notify_all()

    def _fsync(self) -> None:
        try:
            fileio.fdatasync(self._fd, self.path)
        except OSError as exc:
            raise StorageIOError(f"{self.path}: fsync of the log failed: {exc.strerror or exc}") from exc
        self.syncs += 1

    # -- generations -----------------------------------------------------

    def reset(self, generation: int, salt: int, start_lsn: int) -> None:
        """Start a new generation at ``start_lsn``: zero the old records, rewrite the header, sync.

        Zeroing keeps old records from lying past the new generation's end,
        so reading the log stops at zeros and need not search old bytes.
        """
        with self._io_lock, self._append_lock:
            if self._pending:
                raise StorageIOError(f"{self.path}: cannot start a new log generation with unwritten records")
            used = self._written_lsn - self.start_lsn
            if used > 0:
                self._write_zeros(HEADER_BLOCK, used)
            self.generation = generation
            self.salt = salt
            self.start_lsn = start_lsn
            self._next_lsn = self._written_lsn = start_lsn
            self._write_header()
        self._fsync()
        with self._cond:
            self._durable_lsn = start_lsn

    def _write_header(self) -> None:
        body = LOG_HEADER.pack(MAGIC, VERSION, self.salt, self.generation, self.start_lsn, 0)[:-4]
        header = body + struct.pack("<I", zlib.crc32(body))
        block = header + bytes(HEADER_BLOCK - len(header))
        try:
            written = fileio.pwrite(self._fd, block, 0, self.path)
        except OSError as exc:
            raise StorageIOError(f"{self.path}: writing the log header failed: {exc.strerror or exc}") from exc
        if written != len(block):
            raise StorageIOError(f"{self.path}: short write of the log header; the disk may be full")

    def _write_zeros(self, offset: int, length: int) -> None:
        step = 1 << 20
        zeros = bytes(min(step, length))
        end = offset + length
        try:
            while offset < end:
                chunk = zeros[: min(step, end - offset)]
                if fileio.pwrite(self._fd, chunk, offset, self.path) != len(chunk):
                    raise OSError(28, "No space left on device", self.path)
                offset += len(chunk)
        except OSError as exc:
            raise StorageIOError(f"{self.path}: clearing the log failed: {exc.strerror or exc}") from exc

    def _preallocate(self, size: int) -> None:
        current = os.fstat(self._fd).st_size
        step = 1 << 20
        zeros = bytes(step)
        position = current
        try:
            while position < size:
                chunk = zeros[: min(step, size - position)]
                written = fileio.pwrite(self._fd, chunk, position, self.path)
                if written != len(chunk):
                    raise OSError(28, "No space left on device", self.path)
                position += written
        except OSError as exc:
            raise StorageIOError(f"{self.path}: growing the log failed: {exc.strerror or exc}") from exc
        self._allocated = max(self._allocated, position)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)


class _Window:
    """Reads a region of a file through one bounded buffer.

    Recovery reads the log front to back, so it keeps one window of about
    8 MiB instead of the whole file. A log of any size, or a damaged one
    that claims to be huge, therefore costs no more memory than that, plus
    one record's payload.
    """

    WINDOW_BYTES = 8 << 20

    def __init__(self, fd: int, base: int, size: int) -> None:
        self.fd = fd
        self.base = base
        self.size = max(0, size)
        self._start = 0
        self._buffer = b""

    def read(self, offset: int, length: int) -> memoryview:
        """``length`` bytes at ``offset`` (relative to the region); the caller checked the bounds."""
        end = offset + length
        if not (self._start <= offset and end <= self._start + len(self._buffer)):
            size = min(max(self.WINDOW_BYTES, length), self.size - offset)
            self._buffer = os.pread(self.fd, size, self.base + offset)
            self._start = offset
        start = offset - self._start
        return memoryview(self._buffer)[start : start + length]

    def windows(self, offset: int):
        """``(start, bytes)`` chunks from ``offset`` to the end, overlapping by one record header."""
        while offset < self.size:
            length = min(self.WINDOW_BYTES, self.size - offset)
            yield offset, os.pread(self.fd, length, self.base + offset)
            if offset + length >= self.size:
                return
            offset += length - RECORD_HEADER_SIZE

    def any_nonzero(self, offset: int) -> bool:
        return any(np.frombuffer(chunk, dtype=np.uint8).any() for _, chunk in self.windows(offset))


class LogHeader(NamedTuple):
    salt: int
    generation: int
    start_lsn: int


def _read_header(fd: int, path: str) -> LogHeader:
    data = os.pread(fd, LOG_HEADER_SIZE, 0)
    if len(data) < LOG_HEADER_SIZE:
        raise CorruptLogError(f"{path}: log header is truncated ({len(data)} of {LOG_HEADER_SIZE} bytes)")
    magic, version, salt, generation, start_lsn, checksum = LOG_HEADER.unpack(data)
    if magic != MAGIC:
        raise CorruptLogError(f"{path}: not a storagedb log (magic {magic!r})")
    if zlib.crc32(data[:-4]) != checksum:
        raise CorruptLogError(
            f"{path}: log header checksum mismatch (stored 0x{checksum:08x}, computed 0x{zlib.crc32(data[:-4]):08x})"
        )
    if version != VERSION:
        raise CorruptLogError(f"{path}: log format version {version} is not supported (expected {VERSION})")
    return LogHeader(salt, generation, start_lsn)
