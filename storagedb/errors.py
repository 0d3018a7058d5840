"""Exceptions raised by storagedb.

Every error the engine raises on purpose derives from :class:`StorageDBError`,
so ``except storagedb.StorageDBError`` catches them all. Errors caused by bad
input also derive from the matching built-in (``ValueError``, ``LookupError``),
so code that already handles those keeps working::

    StorageDBError
    ├── CorruptionError                  data on disk failed a check
    │   ├── CorruptPageError             page checksum or page structure
    │   ├── CorruptChunkError            encoded column chunk
    │   ├── CorruptLogError              write-ahead log record
    │   └── CorruptCatalogError          catalog file
    ├── FileFormatError                  a valid file this version cannot open
    │   ├── NotAStorageDBFileError       wrong magic number
    │   └── TruncatedFileError           file shorter than its header says
    ├── BufferPoolFullError              every frame is pinned
    ├── PageGuardError (RuntimeError)    a page guard used outside its block
    ├── DatabaseLockedError              another process has the database open
    ├── DatabaseClosedError              use after close()
    ├── TransactionError                 misuse of db.transaction()
    ├── StorageIOError                   the operating system reported an I/O failure
    ├── InvalidInputError (ValueError)   a user mistake
    │   ├── SchemaError                  bad column, type or table definition
    │   ├── InvalidValueError            a value that does not fit its column
    │   ├── ConstraintError              a row that breaks a constraint
    │   │   ├── DuplicateKeyError        primary key already present
    │   │   └── NotNullError             NULL in a NOT NULL column
    │   ├── PredicateError               a malformed ``where`` expression
    │   ├── LoadError                    bad input file, with file and line
    │   └── UnsupportedError             a valid request this version lacks
    └── NotFoundError (LookupError)
        └── TableNotFoundError

Messages name the file, page number, offset, column or CSV line involved, show
the expected and the found value where there are two, and say what to do next.
"""

from __future__ import annotations

#: The end of a message about damage that ``storagedb check`` would locate.
CHECK_HINT = "; run 'storagedb check'"

__all__ = [
    "StorageDBError",
    "CorruptionError",
    "CorruptPageError",
    "CorruptChunkError",
    "CorruptLogError",
    "CorruptCatalogError",
    "FileFormatError",
    "NotAStorageDBFileError",
    "TruncatedFileError",
    "BufferPoolFullError",
    "PageGuardError",
    "DatabaseLockedError",
    "DatabaseClosedError",
    "TransactionError",
    "StorageIOError",
    "InvalidInputError",
    "SchemaError",
    "InvalidValueError",
    "ConstraintError",
    "DuplicateKeyError",
    "NotNullError",
    "PredicateError",
    "LoadError",
    "UnsupportedError",
    "NotFoundError",
    "TableNotFoundError",
]


class StorageDBError(Exception):
    """Base class of every error storagedb raises on purpose."""


class CorruptionError(StorageDBError):
    """Bytes read from disk failed a checksum or a structural check."""


class CorruptPageError(CorruptionError):
    """A page failed its checksum or has an impossible structure.

    Attributes ``path`` and ``page_no`` name the page.
    """

    def __init__(self, message: str, *, path: str = "", page_no: int = -1) -> None:
        super().__init__(message)
        self.path = path
        self.page_no = page_no


class CorruptChunkError(CorruptionError):
    """An encoded column chunk is inconsistent (bad header, size or payload)."""


class CorruptLogError(CorruptionError):
    """A write-ahead log record in the middle of the log failed its checksum."""


class CorruptCatalogError(CorruptionError):
    """The catalog file failed its checksum or does not parse."""


class FileFormatError(StorageDBError):
    """A file cannot be opened by this version (format version, page size)."""


class NotAStorageDBFileError(FileFormatError):
    """The file does not start with storagedb's magic number."""


class TruncatedFileError(FileFormatError):
    """The file is shorter than its header says it is."""


class BufferPoolFullError(StorageDBError):
    """Every frame of the buffer pool is pinned, so no page can be brought in."""


class PageGuardError(StorageDBError, RuntimeError):
    """A page guard was used before entering or after leaving its ``with`` block."""


class DatabaseLockedError(StorageDBError):
    """Another process holds the database's write lock."""


class DatabaseClosedError(StorageDBError):
    """The database or table was used after ``close()``."""


class TransactionError(StorageDBError):
    """A transaction was misused (nested, or used from a second thread)."""


class StorageIOError(StorageDBError):
    """The operating system reported an I/O failure (full disk, failed fsync)."""


class InvalidInputError(StorageDBError, ValueError):
    """Base class of errors caused by what the caller passed in."""


class SchemaError(InvalidInputError):
    """A table, column or type definition is invalid, or names something unknown."""


class InvalidValueError(InvalidInputError):
    """A value is out of range for its column type or of the wrong type."""


class ConstraintError(InvalidInputError):
    """A row breaks a constraint of its table."""


class DuplicateKeyError(ConstraintError):
    """A row's primary key is already present in the table."""


class NotNullError(ConstraintError):
    """NULL was given for a column declared NOT NULL."""


class PredicateError(InvalidInputError):
    """A ``where`` expression is malformed or names an unknown column."""


class LoadError(InvalidInputError):
    """An input file has a bad row; the message names the file and line."""


class UnsupportedError(InvalidInputError):
    """The request is valid but this version of storagedb does not support it."""


class NotFoundError(StorageDBError, LookupError):
    """Something that was asked for by name does not exist."""


class TableNotFoundError(NotFoundError):
    """No table of that name exists in the database."""
