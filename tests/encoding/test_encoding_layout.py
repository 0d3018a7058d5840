"""The documented byte layouts agree with the structs and the encoder.

The OFFSET / SIZE / FIELD tables in the module docstrings and in
docs/file-format.md are parsed, so a struct that changes without its
table (or the other way round) fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from storagedb.encoding import bitpack, delta, dictionary, encode_chunk, frame_of_reference, header, rle

DOC = Path(__file__).resolve().parents[2] / "docs" / "file-format.md"

# (module, struct, fields of the fixed part of its table)
LAYOUTS = [
    (header, header.HEADER, list(header.ChunkHeader._fields)),
    (bitpack, bitpack.WIDTH_HEADER, ["width"]),
    (rle, rle.HEADER, ["run_count"]),
    (dictionary, dictionary.HEADER, ["entry_count", "entries_size"]),
    (frame_of_reference, frame_of_reference.HEADER, ["reference"]),
    (delta, delta.HEADER, ["first", "min_delta"]),
]

_RST_ROW = re.compile(r"^(\d+)\s+(\S+)\s+([a-z_]+)\s")
_MD_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|")


def _fixed_rows(rows: list[tuple[str, str, str]]) -> list[tuple[int, int, str]]:
    """Leading rows whose offset and size are plain numbers."""
    fixed = []
    for offset, size, field in rows:
        if not (offset.isdigit() and size.isdigit()):
            break
        fixed.append((int(offset), int(size), field))
    return fixed


def _docstring_rows(module) -> list[tuple[str, str, str]]:
    return [match.groups() for line in module.__doc__.splitlines() if (match := _RST_ROW.match(line))]


def _markdown_tables() -> list[list[tuple[str, str, str]]]:
    tables, current = [], []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _MD_ROW.match(line)
        if match:
            if not set(match.group(1)) <= {"-"}:  # skip the |---| separator row
                current.append(match.groups())
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return [table[1:] for table in tables if table[0][:3] == ("OFFSET", "SIZE", "FIELD")]


def _check_rows(fixed: list[tuple[int, int, str]], size: int, fields: list[str]) -> None:
    assert [field for _, _, field in fixed] == fields
    assert sum(field_size for _, field_size, _ in fixed) == size
    running = 0
    for offset, field_size, field in fixed:
        assert offset == running, f"{field} documented at offset {offset}, expected {running}"
        running += field_size


@pytest.mark.parametrize(("module", "layout", "fields"), LAYOUTS, ids=lambda item: getattr(item, "__name__", None))
def test_struct_size_matches_docstring_table(module, layout, fields):
    _check_rows(_fixed_rows(_docstring_rows(module)), layout.size, fields)


@pytest.mark.parametrize(("module", "layout", "fields"), LAYOUTS, ids=lambda item: getattr(item, "__name__", None))
def test_struct_size_matches_format_document(module, layout, fields):
    candidates = [_fixed_rows(table) for table in _markdown_tables()]
    matching = [rows for rows in candidates if rows and rows[0][2] == fields[0]]
    assert len(matching) == 1, f"expected one table starting with {fields[0]} in {DOC.name}"
    _check_rows(matching[0], layout.size, fields)


def test_chunk_header_is_28_bytes():
    assert header.HEADER.size == 28


def test_worked_example_matches_encoder():
    text = DOC.read_text(encoding="utf-8")
    example = text.split("### Worked example: a dictionary chunk", 1)[1].split("```", 2)[1]
    documented = bytes.fromhex(" ".join(example.split()))

    encoded = encode_chunk(
        np.array(["N", "O", None, "N"], dtype=object),
        np.array([False, False, True, False]),
        "text",
        encoding="dictionary",
        compression="none",
    )

    assert encoded == documented
    assert len(encoded) == 49
