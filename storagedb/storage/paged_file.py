"""A file as an array of fixed-size pages, with a header page and a free list.

Page 0 is the file header. After the common page header it contains
(64 bytes in all = 24 + 8 + 2 + 2 + 4 + 4 + 4 + 4 + 4 + 8):

======  ====  ==============  ==============================================
OFFSET  SIZE  FIELD           MEANING
======  ====  ==============  ==============================================
0       24    common header   page_type = FILE_HEADER, page_no = 0
24      8     magic           ``b"STORAGDB"``
32      2     format_version  1; other versions are rejected
34      2     file_kind       what the file holds (:class:`FileKind`)
36      4     page_size       bytes per page, a power of two
40      4     page_count      pages in the file, page 0 included
44      4     free_head       first page of the free list; 0 = list empty
48      4     free_count      pages on the free list
52      4     root_page       page where the file kind's own metadata starts;
                              0 = none yet
56      8     reserved        0
======  ====  ==============  ==============================================

Page numbers are u32, so a file holds at most 2**32 - 1 pages (16 TiB at
4 KiB). A free page keeps the number of the next free page at offset 24 (u32).

This module does raw page I/O only. Callers go through the buffer pool,
which owns caching, the free list and write-back; the pool holds its latch
around every call here.
"""

from __future__ import annotations

import enum
import os
import struct
from typing import NamedTuple

from ..errors import (
    CHECK_HINT,
    CorruptPageError,
    FileFormatError,
    NotAStorageDBFileError,
    StorageIOError,
    TruncatedFileError,
)
from . import fileio
from .page import (
    PAGE_HEADER_SIZE,
    PageType,
    init_page,
    page_checksum,
    read_header,
    stamp_page,
    validate_page_size,
)

__all__ = ["PagedFile", "FileKind", "FILE_HEADER", "FILE_HEADER_SIZE", "MAGIC", "FORMAT_VERSION", "fsync_directory"]


MAGIC = b"STORAGDB"
FORMAT_VERSION = 1
FILE_HEADER = struct.Struct("<8sHHIIIII8x")
FILE_HEADER_SIZE = 64  # 24 + 8 + 2 + 2 + 4 + 4 + 4 + 4 + 4 + 8
FREE_NEXT = struct.Struct("<I")
MAX_PAGE_COUNT = 2**32 - 1


class FileKind(enum.IntEnum):
    """The ``file_kind`` field. 0 is reserved."""

    SCRATCH = 1  # tests and tools
    OPEN_SEGMENT = 2  # slotted pages that take inserts, updates and deletes
    SEALED_SEGMENT = 3  # immutable segment in one of the layouts
    DELETE_VECTOR = 4  # a sealed segment's deleted-row bitmap


class FileHeader(NamedTuple):
    magic: bytes
    format_version: int
    file_kind: int
    page_size: int
    page_count: int
    free_head: int
    free_count: int
    root_page: int


class PagedFile:
    """One open file of pages.

    Use :meth:`create` or :meth:`open`. The header fields are kept in memory
    and written back by :meth:`write_header`, which the buffer pool calls
    when it flushes the file.
    """

    def __init__(self, path: str, fd: int, header: FileHeader, *, readonly: bool) -> None:
        self.path = path
        self._fd = fd
        self.readonly = readonly
        self.kind = header.file_kind
        self.page_size = header.page_size
        self.page_count = header.page_count
        self.free_head = header.free_head
        self.free_count = header.free_count
        self.root_page = header.root_page
        self.header_dirty = False
        self.closed = False

    # -- opening ---------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike, kind: int, page_size: int = 4096) -> "PagedFile":
        """Create a new file holding only its header page, synced to disk.

        The directory entry is synced too, so the file survives a crash.

        Raises:
            FileExistsError: a file already exists at ``path``.
        """
        validate_page_size(page_size)
        path = os.fspath(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            header = FileHeader(MAGIC, FORMAT_VERSION, int(kind), page_size, 1, 0, 0, 0)
            self = cls(path, fd, header, readonly=False)
            self.write_header()
            self.sync()
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        fsync_directory(os.path.dirname(os.path.abspath(path)))
        return self

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        *,
        page_size: int | None = None,
        kind: int | None = None,
        readonly: bool = False,
    ) -> "PagedFile":
        """Open an existing file and check its header.

        Raises:
            NotAStorageDBFileError: the magic number is wrong.
            FileFormatError: unsupported format version, or a page size or
                file kind other than the one asked for.
            TruncatedFileError: the file is shorter than its header declares.
            CorruptPageError: the header page fails its checksum.
        """
        path = os.fspath(path)
        fd = os.open(path, os.O_RDONLY if readonly else os.O_RDWR)
        try:
            header = _read_file_header(fd, path)
            if page_size is not None and header.page_size != page_size:
                raise FileFormatError(
                    f"{path}: page size is {header.page_size} bytes but {page_size} was requested; "
                    f"open it with page_size={header.page_size}"
                )
            if kind is not None and header.file_kind != kind:
                raise FileFormatError(f"{path}: file kind is {header.file_kind}, expected {int(kind)}")
            size = os.fstat(fd).st_size
            expected = header.page_count * header.page_size
            # The header is written after the pages it counts, so a shorter
            # file lost its tail after the header was last written.
            if size < expected:
                raise TruncatedFileError(
                    f"{path}: file is truncated ({size} bytes, its header counts "
                    f"{header.page_count} pages = {expected} bytes)"
                )
            return cls(path, fd, header, readonly=readonly)
        except BaseException:
            os.close(fd)
            raise

    # -- page I/O ----------------------------------------------------------

    def read_into(self, page_no: int, frame: memoryview) -> None:
        """Read page ``page_no`` into ``frame`` and verify it.

        Raises:
            CorruptPageError: page number out of range, checksum mismatch or
                a page that claims another page number.
            TruncatedFileError: the file ends before the page does.
        """
        if not 0 < page_no < self.page_count:
            raise CorruptPageError(
                f"{self.path}: page {page_no} is out of range (the file has {self.page_count} pages)",
                path=self.path,
                page_no=page_no,
            )
        try:
            got = os.preadv(self._fd, [frame], page_no * self.page_size)
        except OSError as exc:
            raise StorageIOError(f"{self.path}: reading page {page_no} failed: {exc.strerror}") from exc
        if got != self.page_size:
            raise TruncatedFileError(
                f"{self.path}: page {page_no} is incomplete ({got} of {self.page_size} bytes); "
                f"the file is truncated"
            )
        verify_page(frame, page_no, self.path)

    def write_from(self, page_no: int, frame: memoryview) -> None:
        """Stamp the page number and checksum into ``frame`` and write it out."""
        if self.readonly:
            raise StorageIOError(f"{self.path}: opened read-only, cannot write page {page_no}")
        stamp_page(frame, page_no)
        self._pwrite(frame, page_no)

    def write_pages(self, first_page_no: int, images: memoryview, count: int) -> None:
        """Write ``count`` consecutive page images with one system call.

        ``images`` contains the pages back to back, and each is stamped first.
        """
        if self.readonly:
            raise StorageIOError(f"{self.path}: opened read-only, cannot write pages")
        size = self.page_size
        for index in range(count):
            stamp_page(images[index * size : (index + 1) * size], first_page_no + index)
        self._pwrite(images[: count * size], first_page_no)

    def _pwrite(self, data: memoryview, page_no: int) -> None:
        offset = page_no * self.page_size
        try:
            written = fileio.pwrite(self._fd, data, offset, self.path)
        except OSError as exc:
            raise StorageIOError(f"{self.path}: writing page {page_no} failed: {exc.strerror}") from exc
        if written != len(data):
            raise StorageIOError(
                f"{self.path}: short write at page {page_no} ({written} of {len(data)} bytes); "
                f"the disk may be full"
            )

    # -- header and durability -------------------------------------------

    def add_pages(self, count: int) -> int:
        """Grow ``page_count`` by ``count`` (no I/O) and return the first new page."""
        first = self.page_count
        if first + count > MAX_PAGE_COUNT:
            raise StorageIOError(f"{self.path}: file would exceed {MAX_PAGE_COUNT} pages")
        self.page_count = first + count
        self.header_dirty = True
        return first

    def write_header(self) -> None:
        frame = memoryview(bytearray(self.page_size))
        init_page(frame, PageType.FILE_HEADER, 0)
        FILE_HEADER.pack_into(
            frame,
            PAGE_HEADER_SIZE,
            MAGIC,
            FORMAT_VERSION,
            self.kind,
            self.page_size,
            self.page_count,
            self.free_head,
            self.free_count,
            self.root_page,
        )
        stamp_page(frame, 0)
        self._pwrite(frame, 0)
        self.header_dirty = False

    def sync(self) -> None:
        """fsync the file (its pages and header as written so far)."""
        try:
            fileio.fsync(self._fd, self.path)
        except OSError as exc:
            raise StorageIOError(f"{self.path}: fsync failed: {exc.strerror}") from exc

    def size_on_disk(self) -> int:
        return os.fstat(self._fd).st_size

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)

    def __repr__(self) -> str:
        return f"PagedFile({self.path!r}, kind={self.kind}, pages={self.page_count})"


def verify_page(frame: memoryview, page_no: int, path: str) -> None:
    """Check the checksum and the self page number of a page just read.

    Raises:
        CorruptPageError: naming the file, the page and both values.
    """
    header = read_header(frame)
    computed = page_checksum(frame)
    if header.checksum != computed:
        raise CorruptPageError(
            f"{path}: page {page_no} is corrupt: checksum mismatch "
            f"(stored 0x{header.checksum:08x}, computed 0x{computed:08x}){CHECK_HINT}",
            path=path,
            page_no=page_no,
        )
    if header.page_no != page_no:
        raise CorruptPageError(
            f"{path}: page {page_no} holds the contents of page {header.page_no}",
            path=path,
            page_no=page_no,
        )


def _read_file_header(fd: int, path: str) -> FileHeader:
    head = os.pread(fd, FILE_HEADER_SIZE, 0)
    magic_end = PAGE_HEADER_SIZE + len(MAGIC)
    if len(head) < magic_end or head[PAGE_HEADER_SIZE:magic_end] != MAGIC:
        found = head[PAGE_HEADER_SIZE:magic_end]
        raise NotAStorageDBFileError(
            f"{path}: not a storagedb file (magic {found!r} at offset {PAGE_HEADER_SIZE}, expected {MAGIC!r})"
        )

    if len(head) < FILE_HEADER_SIZE:
        raise TruncatedFileError(f"{path}: file is truncated ({len(head)} bytes, shorter than its header)")
    header = FileHeader(*FILE_HEADER.unpack_from(head, PAGE_HEADER_SIZE))
    if header.format_version != FORMAT_VERSION:
        raise FileFormatError(
            f"{path}: format version {header.format_version} is not supported "
            f"(this storagedb reads version {FORMAT_VERSION})"
        )

    try:
        validate_page_size(header.page_size)
    except ValueError:
        raise CorruptPageError(
            f"{path}: header page is corrupt: page size {header.page_size} is invalid", path=path, page_no=0
        ) from None

    page = os.pread(fd, header.page_size, 0)
    if len(page) != header.page_size:
        raise TruncatedFileError(
            f"{path}: file is truncated ({len(page)} bytes, its header page needs {header.page_size})"
        )
    verify_page(memoryview(page), 0, path)

    if header.page_count < 1 or header.free_head >= header.page_count or header.root_page >= header.page_count:
        raise CorruptPageError(
            f"{path}: header page is corrupt: page_count={header.page_count}, "
            f"free_head={header.free_head}, root_page={header.root_page}",
            path=path,
            page_no=0,
        )
    return header


def fsync_directory(path: str) -> None:
    """fsync a directory so that entries created or renamed in it are durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fileio.fsync(fd, path)
    except OSError as exc:
        raise StorageIOError(f"{path}: fsync of the directory failed: {exc.strerror}") from exc
    finally:
        os.close(fd)
