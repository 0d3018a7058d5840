"""DelimitedReader: a CSV, TSV or .tbl file as batches of typed numpy columns."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ..errors import LoadError, SchemaError
from ..types import ColumnType, parse_type
from .convert import convert_column
from .infer import ColumnInference, Converted
from .spans import PAD, RANGE, ValueProblem
from .text import decode_values
from .tokenizer import CR, LF, FieldGrid, LayoutError, RowScan, RowScanner, build_grid

__all__ = ["DelimitedReader", "Batch", "CHUNK_BYTES"]

log = logging.getLogger(__name__)

#: Bytes tokenized and converted in one step. Chunks of 1-4 MiB were the
#: fastest on lineitem (2-core AMD EPYC VM): larger ones fall out of the CPU
#: caches and cost page faults for fresh arrays, smaller ones pay more
#: per-call overhead in numpy.
CHUNK_BYTES = 2 << 20

_EXTENSION_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".tbl": "|"}
_BOM = b"\xef\xbb\xbf"
_SHOWN_VALUE_CHARS = 60


@dataclass
class Batch:
    """Rows of a file as one storage-form numpy array per column.

    Arrays follow ``storagedb.types``: int8..int64, float32/float64, uint8
    for bool, int32 days for date, int64 microseconds (UTC) for timestamp,
    int64 scaled by ``10**scale`` for decimal, and object arrays of ``str``
    (text) or ``bytes`` (blob). A NULL is marked in ``nulls``, and its
    array slot contains 0, or None in an object array.
    """

    arrays: list[np.ndarray]
    nulls: list[np.ndarray | None]  # bool mask per column; None when the column has no NULL in this batch
    line_numbers: np.ndarray  # 1-based line on which each row starts
    row_count: int


@dataclass(frozen=True)
class _Chunk:
    """Complete rows read from the file, split into fields."""

    grid: FieldGrid
    first_line: int  # line number of the chunk's first byte
    size: int  # file bytes the chunk covers

    def line_numbers(self) -> np.ndarray:
        return self.first_line + self.grid.line_offsets.astype(np.int64)


class _ChunkSource:
    """Read a file from a row boundary as chunks of complete rows.

    A chunk's trailing partial row is carried over to the next chunk. A row
    longer than the requested size doubles the read until it is complete.
    """

    def __init__(self, path: str, file: BinaryIO, scanner: RowScanner, offset: int, line: int) -> None:
        self._path = path
        self._file = file
        self._scanner = scanner
        self._carry = b""
        self._at_eof = False
        file.seek(offset)
        self.offset = offset  # file offset of the next byte to return
        self.line = line  # line number of that byte

    def next(self, size: int) -> tuple[RowScan, int, int] | None:
        """Return the next chunk's scan, first line number and byte count; None at the end.

        Raises:
            LoadError: an unterminated quoted field or bad quoting.
        """
        want = max(size, 1)
        while True:
            padded, length = self._read(want)
            if length == 0:
                return None
            buf = padded[PAD:-PAD]
            try:
                scan = self._scanner.scan(padded)
            except LayoutError as error:
                raise _layout_error(self._path, buf, self.line, error) from None
            complete = scan is not None and (not self._at_eof or scan.consumed == length)
            if complete:
                break
            if self._at_eof:
                raise self._unterminated_quote(buf)
            # A row longer than `want`: read on.
            self._carry = buf.tobytes()
            want = 2 * max(want, length)

        first_line = self.line
        lf_count = scan.row_ends.size if scan.newlines is None else scan.newlines.size
        self.line += lf_count
        self.offset += scan.consumed
        self._carry = buf[scan.consumed :].tobytes()
        return scan, first_line, scan.consumed

    def _read(self, want: int) -> tuple[np.ndarray, int]:
        """Return the carried bytes plus up to ``want`` new ones, padded, and their count.

        At the end of the file a missing final LF is added, so that every
        chunk ends with a complete row.
        """
        carried = len(self._carry)
        capacity = carried + want
        padded = np.empty(PAD + capacity + 1 + PAD, dtype=np.uint8)
        padded[:PAD] = 0
        padded[PAD : PAD + carried] = np.frombuffer(self._carry, dtype=np.uint8)
        self._carry = b""
        filled = carried
        view = memoryview(padded)
        while not self._at_eof and filled < capacity:
            count = self._file.readinto(view[PAD + filled : PAD + capacity])
            if not count:
                self._at_eof = True
                break
            filled += count
        if self._at_eof and filled and padded[PAD + filled - 1] != LF:
            padded[PAD + filled] = LF
            filled += 1
        padded[PAD + filled : PAD + filled + PAD] = 0
        return padded[: PAD + filled + PAD], filled

    def _unterminated_quote(self, buf: np.ndarray) -> LoadError:
        """Describe the quote that no later quote closes."""
        quotes = np.flatnonzero(buf == ord('"'))
        position = int(quotes[-1]) if quotes.size % 2 else 0
        line = self.line + int(np.count_nonzero(buf[:position] == LF))
        before = int(buf[position - 1]) if position > 0 else LF
        if before not in (LF, self._scanner.delimiter, ord('"')):
            return LoadError(
                f"{self._path}:{line}: a quote inside an unquoted field; "
                "quote the whole field and double each quote inside it"
            )
        return LoadError(
            f"{self._path}:{line}: unterminated quoted field: the quote opened on this line is never closed; "
            "add the closing quote, or double a quote that is part of the value"
        )


def _layout_error(path: str, buf: np.ndarray, first_line: int, error: LayoutError) -> LoadError:
    line = first_line + int(np.count_nonzero(buf[: error.position] == LF))
    return LoadError(f"{path}:{line}: {error.reason}")


def _count(number: int, noun: str) -> str:
    """Return "1 field" or "3 fields"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _quote_value(raw: bytes) -> str:
    """Quote a value for an error message, shortened when long."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        quoted = repr(raw)
    else:
        quoted = repr(text)
    if len(quoted) > _SHOWN_VALUE_CHARS:
        quoted = quoted[: _SHOWN_VALUE_CHARS - 4] + "...'"
    return quoted


class DelimitedReader:
    """Read a delimited text file (CSV, TSV, .tbl) as batches of typed columns.

    The file is read in batches of about ``batch_bytes``, cut at a row
    boundary, so memory stays bounded for any file size. Parsing is
    vectorised with numpy; see the ``storagedb.csvio`` package docstring for
    the accepted syntax.

    Args:
        path: the file to read.
        delimiter: one ASCII character. By default it follows the extension:
            ``.csv`` comma, ``.tsv`` and ``.tab`` tab, ``.tbl`` ``|``.
        header: whether the first line names the columns. By default true,
            except for ``.tbl`` files, which have no header line.
        columns: the column names and types, as ``ColumnType`` or type names
            such as ``"decimal(15,2)"``. They replace the header's names,
            whose count must match. Without ``columns``, the types are
            inferred from the first batch and the names come from the header,
            or are ``column1`` to ``columnN`` without one.
        batch_bytes: about how many bytes of the file each batch covers.
            The first batch is also the sample for type inference.
        trailing_delimiter: whether every line ends with a delimiter, as in
            TPC-H ``.tbl`` files. By default true for ``.tbl`` only.

    After construction ``names`` and ``types`` are known. The constructor
    reads the header, and with inference the whole first batch, so errors in
    those raise from it.

    Example:
        >>> reader = DelimitedReader("lineitem.csv")              # doctest: +SKIP
        >>> reader.types[5].name                                   # doctest: +SKIP
        'decimal(18,2)'
        >>> sum(batch.row_count for batch in reader)              # doctest: +SKIP
        600572

    Raises:
        LoadError: the file cannot be read, the arguments do not fit it, or
            it contains a bad row (also raised while iterating). The message
            starts with ``<file>:<line>:`` and, for a bad value, names the
            column and quotes the value.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        delimiter: str | None = None,
        header: bool | None = None,
        columns: Sequence[tuple[str, ColumnType | str]] | None = None,
        batch_bytes: int = 64 << 20,
        trailing_delimiter: bool | None = None,
    ) -> None:
        self.path = os.fspath(path)
        extension = os.path.splitext(self.path)[1].lower()
        self.delimiter = self._choose_delimiter(delimiter, extension)
        self.header = header if header is not None else extension != ".tbl"
        self.trailing_delimiter = trailing_delimiter if trailing_delimiter is not None else extension == ".tbl"
        if batch_bytes < 1:
            raise LoadError(f"batch_bytes must be at least 1, got {batch_bytes}")
        self.batch_bytes = batch_bytes
        self._scanner = RowScanner(ord(self.delimiter))
        self.names: list[str] = []
        self.types: list[ColumnType] = []
        self._declared = self._parse_columns(columns)

        self._data_offset = 0
        self._data_line = 1
        self._field_count = 0
        # With inference: the converted first batch and where the second starts.
        self._pending: tuple[Batch, int, int] | None = None
        self._sample_lines = ""

        with self._open() as file:
            self._read_header(file)
            if self._declared is None:
                self._infer(file)

    # -- arguments --------------------------------------------------------

    def _choose_delimiter(self, delimiter: str | None, extension: str) -> str:
        if delimiter is None:
            if extension not in _EXTENSION_DELIMITERS:
                known = ", ".join(sorted(_EXTENSION_DELIMITERS))
                raise LoadError(
                    f"{self.path}: cannot tell the delimiter from the extension {extension or '(none)'!r}; "
                    f"pass a delimiter (known extensions: {known})"
                )
            return _EXTENSION_DELIMITERS[extension]
        if len(delimiter) != 1 or not delimiter.isascii() or delimiter in '"\r\n':
            raise LoadError(
                f"invalid delimiter {delimiter!r}: use one ASCII character other than a quote, CR or LF"
            )
        return delimiter

    def _parse_columns(self, columns: Sequence[tuple[str, ColumnType | str]] | None) -> list[ColumnType] | None:
        if columns is None:
            return None
        if not columns:
            raise LoadError(f"{self.path}: columns is empty; give at least one (name, type) pair")
        names = []
        types = []
        for name, ctype in columns:
            if isinstance(ctype, str):
                try:
                    ctype = parse_type(ctype)
                except SchemaError as error:
                    raise LoadError(f"column {name!r}: {error}") from None
            if name in names:
                raise LoadError(f"columns names column {name!r} twice; give each column its own name")
            names.append(name)
            types.append(ctype)
        self.names = names
        return types

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb")
        except OSError as error:
            raise LoadError(f"{self.path}: cannot open the file: {error.strerror}") from None

    # -- header -------------------------------------------------------------

    def _read_header(self, file: BinaryIO) -> None:
        """Find the field count, the names and where the data rows start."""
        bom = file.read(len(_BOM)) == _BOM
        start = len(_BOM) if bom else 0
        source = _ChunkSource(self.path, file, self._scanner, start, 1)
        first = source.next(CHUNK_BYTES)
        if first is None:
            self._read_empty_file()
            return
        scan, _, _ = first
        header_fields = int(scan.row_ends[0]) + 1
        header_grid = FieldGrid(
            padded=scan.padded,
            field_ends=scan.field_ends[:header_fields].reshape(-1, 1),
            row_starts=np.zeros(1, dtype=np.int64),
            line_offsets=np.zeros(1, dtype=np.int64),
            has_quotes=scan.has_quotes,
            has_escapes=scan.has_escapes,
        )
        trailing = 1 if self.trailing_delimiter else 0
        if trailing and header_grid.column(header_fields - 1).lengths[0] != 0:
            raise LoadError(
                f"{self.path}:1: the first line does not end with the delimiter {self.delimiter!r}; "
                "pass trailing_delimiter=False if lines do not end with one"
            )
        found_columns = header_fields - trailing

        if self._declared is not None:
            self.types = self._declared
            if self.header and found_columns != len(self._declared):
                names = [str(name) for name in self.names]
                listed = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
                raise LoadError(
                    f"{self.path}:1: the header has {found_columns} fields but {len(self._declared)} columns "
                    f"are expected ({listed}); give one field per column"
                )
        elif self.header:
            self.names = self._header_names(header_grid, found_columns)
        else:
            self.names = [f"column{index + 1}" for index in range(found_columns)]
        self._field_count = len(self.names) + trailing

        self._data_offset = start
        if self.header:
            header_end = int(scan.field_ends[header_fields - 1]) + 1
            buf = scan.padded[PAD:-PAD]
            # Only the byte before the header's LF may be a CR.
            if np.count_nonzero(buf[: max(header_end - 2, 0)] == CR):
                raise LoadError(
                    f"{self.path}:1: the header line contains a CR; lines must end with LF or CR LF, "
                    "so convert a file with CR line ends first"
                )
            newlines = 1 if scan.newlines is None else int(np.searchsorted(scan.newlines, header_end))
            self._data_offset = start + header_end
            self._data_line = 1 + newlines

    def _read_empty_file(self) -> None:
        if self.header:
            raise LoadError(f"{self.path}:1: the file is empty, but a header line was expected")
        if self._declared is None:
            raise LoadError(f"{self.path}: the file is empty, so its columns cannot be inferred; pass columns")
        self.types = self._declared
        self._field_count = len(self.names) + (1 if self.trailing_delimiter else 0)

    def _header_names(self, header_grid: FieldGrid, count: int) -> list[str]:
        names = []
        for index in range(count):
            try:
                name = decode_values(header_grid.column(index))[0]
            except ValueProblem:
                raise LoadError(f"{self.path}:1: column {index + 1} of the header is not valid UTF-8") from None
            if not name:
                raise LoadError(
                    f"{self.path}:1: column {index + 1} of the header has an empty name; "
                    "name it in the file or pass columns"
                )
            if name in names:
                raise LoadError(
                    f"{self.path}:1: the header names column {name!r} twice; "
                    "rename one in the file or pass columns"
                )
            names.append(name)
        return names

    # -- chunks ---------------------------------------------------------------

    def _next_chunk(self, source: _ChunkSource, size: int) -> _Chunk | None:
        scanned = source.next(size)
        if scanned is None:
            return None
        scan, first_line, consumed = scanned
        try:
            grid = build_grid(scan, self._field_count, skip_blank_lines=self._field_count > 1)
        except LayoutError as error:
            raise self._field_count_error(scan, first_line, error) from None
        if self.trailing_delimiter:
            extra = grid.column(self._field_count - 1).lengths != 0
            if extra.any():
                row = int(np.argmax(extra))
                line = first_line + int(grid.line_offsets[row])
                raise LoadError(
                    f"{self.path}:{line}: expected {_count(len(self.names), 'field')}, each followed by "
                    f"{self.delimiter!r}, but the line does not end with {self.delimiter!r}"
                )
        return _Chunk(grid, first_line, consumed)

    def _field_count_error(self, scan: RowScan, first_line: int, error: LayoutError) -> LoadError:
        buf = scan.padded[PAD:-PAD]
        line = first_line + int(np.count_nonzero(buf[: error.position] == LF))
        expected = len(self.names)
        found = error.found_fields
        if self.trailing_delimiter:
            delimiters = _count(found - 1, "delimiter")
            counts = f"expected {_count(expected, 'field')}, each followed by {self.delimiter!r}, found {delimiters}"
        else:
            counts = f"expected {_count(expected, 'field')}, found {found}"
        hint = "check the delimiter and the quoting of this line"
        if np.count_nonzero(buf == CR) > np.count_nonzero(buf == LF):
            hint = "lines must end with LF or CR LF, so convert a file with CR line ends first"
        return LoadError(f"{self.path}:{line}: {counts} (delimiter {self.delimiter!r}); {hint}")

    def _chunks(self, source: _ChunkSource) -> Iterator[_Chunk]:
        """Yield the chunks of the next batch: about ``batch_bytes`` of the file."""
        budget = self.batch_bytes
        while budget > 0:
            chunk = self._next_chunk(source, min(CHUNK_BYTES, budget))
            if chunk is None:
                return
            budget -= chunk.size
            if chunk.grid.row_count:
                yield chunk

    # -- conversion ---------------------------------------------------------

    def _value_error(self, chunk: _Chunk, column: int, problem: ValueProblem, inferring: bool = False) -> LoadError:
        spans = chunk.grid.column(column)
        line = chunk.first_line + int(chunk.grid.line_offsets[problem.row])
        value = _quote_value(spans.raw(problem.row))
        message = f"{self.path}:{line}: column {self.names[column]!r}: {problem.reason}: {value}"
        if inferring:
            if problem.kind == RANGE:
                message += (
                    "; the column's values look like this type, so if it is wrong, "
                    "declare the column's type with --columns"
                )
        elif self._declared is None and self.types[column].base != "text":
            message += (
                f"; the type {self.types[column].name} was inferred from {self._sample_lines}, "
                "so declare the column's type with --columns to load this file"
            )
        return LoadError(message)

    def _convert_chunk(self, chunk: _Chunk) -> list[Converted]:
        """Convert every column of a chunk; report the first bad value by line."""
        converted: list[Converted] = []
        problems: list[tuple[int, int, ValueProblem]] = []
        for column, ctype in enumerate(self.types):
            try:
                converted.append(convert_column(chunk.grid.column(column), ctype))
            except ValueProblem as problem:
                problems.append((int(chunk.grid.line_offsets[problem.row]), column, problem))
        if problems:
            _, column, problem = min(problems, key=lambda item: (item[0], item[1]))
            raise self._value_error(chunk, column, problem)
        return converted

    def _assemble(self, parts: list[list[Converted]], line_numbers: list[np.ndarray]) -> Batch:
        """Join the converted chunks of a batch into one array per column."""
        arrays = []
        nulls = []
        for column in range(len(self.types)):
            pieces = [part[column] for part in parts]
            arrays.append(pieces[0][0] if len(pieces) == 1 else np.concatenate([values for values, _ in pieces]))
            if all(mask is None for _, mask in pieces):
                nulls.append(None)
            else:
                masks = [np.zeros(len(values), dtype=bool) if mask is None else mask for values, mask in pieces]
                nulls.append(np.concatenate(masks))
        lines = np.concatenate(line_numbers)
        return Batch(arrays=arrays, nulls=nulls, line_numbers=lines, row_count=int(lines.size))

    # -- inference ------------------------------------------------------------

    def _infer(self, file: BinaryIO) -> None:
        """Infer the column types from the first batch, which is kept for iteration."""
        source = _ChunkSource(self.path, file, self._scanner, self._data_offset, self._data_line)
        chunks: list[_Chunk] = []
        inferences = [
            ColumnInference(lambda index, column=column: chunks[index].grid.column(column))
            for column in range(len(self.names))
        ]
        for chunk in self._chunks(source):
            chunks.append(chunk)
            problems = []
            for column, inference in enumerate(inferences):
                try:
                    inference.add(chunk.grid.column(column))
                except ValueProblem as problem:
                    line_offset = int(chunks[problem.chunk].grid.line_offsets[problem.row])
                    problems.append((problem.chunk, line_offset, column, problem))
            if problems:
                chunk_index, _, column, problem = min(problems, key=lambda item: item[:3])
                raise self._value_error(chunks[chunk_index], column, problem, inferring=True)
        if not chunks:
            self.types = [parse_type("text")] * len(self.names)
            return

        per_column = [inference.finish() for inference in inferences]
        self.types = [ctype for ctype, _ in per_column]
        parts = [[converted[index] for _, converted in per_column] for index in range(len(chunks))]
        batch = self._assemble(parts, [chunk.line_numbers() for chunk in chunks])
        self._pending = (batch, source.offset, source.line)
        self._sample_lines = f"lines {int(batch.line_numbers[0])}-{int(batch.line_numbers[-1])}"
        log.info(
            "%s: inferred column types from %d rows: %s",
            self.path,
            batch.row_count,
            ", ".join(f"{name} {ctype.name}" for name, ctype in zip(self.names, self.types)),
        )

    # -- iteration --------------------------------------------------------------

    def __iter__(self) -> Iterator[Batch]:
        """Yield the file's rows in batches.

        Raises:
            LoadError: a bad row, named by file, line and column.
        """
        offset, line = self._data_offset, self._data_line
        if self._pending is not None:
            batch, offset, line = self._pending
            self._pending = None
            yield batch
        with self._open() as file:
            source = _ChunkSource(self.path, file, self._scanner, offset, line)
            while True:
                parts = []
                line_numbers = []
                for chunk in self._chunks(source):
                    parts.append(self._convert_chunk(chunk))
                    line_numbers.append(chunk.line_numbers())
                if not parts:
                    return
                yield self._assemble(parts, line_numbers)
