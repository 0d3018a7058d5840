"""Run-length encoding: each run of equal values stored once with its length.

A *run* is a maximal sequence of consecutive equal non-null values (NULLs are
not in the payload, so a NULL between two equal values does not split their
run). Floats are compared by bit pattern: -0.0 and +0.0 start different runs
and a NaN joins a run of the same NaN.

Run lengths are counted in a u16 counter: a run longer than 65,535 values is
stored as several runs of the same value, all but the last 65,535 long. Each
length is stored minus one, bit-packed, so chunks whose runs are all one value
long pack their lengths in width 0.

Payload
-------

======  ======================  ==========  ===================================
OFFSET  SIZE                    FIELD       MEANING
======  ======================  ==========  ===================================
0       4                       run_count   u32 r, the number of stored runs
4       1 + ceil(r x lw / 8)    lengths     packed block of r values ``length
                                            - 1``; width lw at most 16
...     rest of the payload     run_values  the r run values: a plain payload
                                            of the chunk's kind, or, for the
                                            codes of a dictionary chunk, a
                                            packed block of r codes
======  ======================  ==========  ===================================

The lengths add up to the number of non-null values, and ``r`` is at most
that number.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np

from ..errors import CorruptChunkError
from . import bitpack, plain
from .kinds import Kind
from .reader import PayloadReader

__all__ = [
    "MAX_RUN_LENGTH",
    "HEADER",
    "Runs",
    "find_runs",
    "split_runs",
    "encoded_size",
    "encode",
    "encode_codes",
    "decode",
    "decode_runs",
    "decode_code_runs",
]

#: u16 run-length counter: a longer run is stored as several runs.
MAX_RUN_LENGTH = 65_535
_LENGTH_WIDTH_LIMIT = bitpack.bit_width(MAX_RUN_LENGTH - 1)

# Run-length payload header: run_count (4) = 4 bytes.
HEADER = struct.Struct("<I")


class Runs(NamedTuple):
    """Maximal runs of an array: where each starts and how long it is."""

    starts: np.ndarray  # int64 index of each run's first value
    lengths: np.ndarray  # int64, each at least 1

    @property
    def stored_count(self) -> int:
        """Runs after splitting those longer than MAX_RUN_LENGTH."""
        if self.max_length <= MAX_RUN_LENGTH:
            return len(self.lengths)
        return len(self.lengths) + int(((self.lengths - 1) // MAX_RUN_LENGTH).sum())

    @property
    def max_length(self) -> int:
        return int(self.lengths.max()) if len(self.lengths) else 0

    @property
    def max_stored_length(self) -> int:
        return min(self.max_length, MAX_RUN_LENGTH)


def find_runs(keys: np.ndarray) -> Runs:
    """Find the maximal runs of ``keys``.

    ``keys`` must compare with ``!=`` the way values should: integers as
    they are, floats as bit patterns, text and blob as an object array.
    """
    count = len(keys)
    if count == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Runs(empty, empty)
    change = np.asarray(keys[1:] != keys[:-1], dtype=bool)
    starts = np.zeros(np.count_nonzero(change) + 1, dtype=np.int64)
    starts[1:] = np.flatnonzero(change) + 1
    lengths = np.diff(starts, append=count)
    return Runs(starts, lengths)


def split_runs(runs: Runs) -> tuple[np.ndarray, np.ndarray]:
    """Split runs longer than MAX_RUN_LENGTH.

    Returns the index of the maximal run each stored run belongs to, and the
    stored lengths.
    """
    pieces = (runs.lengths + MAX_RUN_LENGTH - 1) // MAX_RUN_LENGTH
    owner = np.arange(len(runs.lengths))
    if len(pieces) == 0 or int(pieces.max()) <= 1:
        return owner, runs.lengths
    owner = np.repeat(owner, pieces)
    first_piece = np.cumsum(pieces) - pieces
    piece_index = np.arange(len(owner)) - np.repeat(first_piece, pieces)
    lengths = np.minimum(runs.lengths[owner] - piece_index * MAX_RUN_LENGTH, MAX_RUN_LENGTH)
    return owner, lengths


def encoded_size(runs: Runs, run_values_size: int) -> int:
    """Return the payload size from the run structure and the run values' size."""
    stored = runs.stored_count
    width = bitpack.bit_width(max(runs.max_stored_length - 1, 0))
    return HEADER.size + bitpack.block_size(stored, width) + run_values_size


def _write(lengths: np.ndarray, run_values_payload: bytes) -> bytes:
    stored = (lengths - 1).astype(np.uint64)
    return b"".join((HEADER.pack(len(lengths)), bitpack.write_block(stored), run_values_payload))


def encode(values: np.ndarray, kind: Kind, runs: Runs) -> bytes:
    """Encode ``values`` whose maximal runs are ``runs``."""
    owner, lengths = split_runs(runs)
    run_values = values[runs.starts[owner]]
    return _write(lengths, plain.encode(run_values, kind))


def encode_codes(codes: np.ndarray, runs: Runs) -> bytes:
    """Encode dictionary codes, the run values bit-packed."""
    owner, lengths = split_runs(runs)
    run_codes = codes[runs.starts[owner]].astype(np.uint64)
    return _write(lengths, bitpack.write_block(run_codes))


def _read_lengths(reader: PayloadReader, count: int) -> np.ndarray:
    (run_count,) = reader.unpack(HEADER, "run count")
    if run_count > count or (count > 0 and run_count == 0):
        raise CorruptChunkError(f"run-length payload declares {run_count} runs for {count} values")
    stored = bitpack.read_block(reader, run_count, "run lengths", max_width=_LENGTH_WIDTH_LIMIT)
    if run_count and int(stored.max()) >= MAX_RUN_LENGTH:
        raise CorruptChunkError(
            f"run length {int(stored.max()) + 1} exceeds the limit of {MAX_RUN_LENGTH}"
        )
    lengths = stored.astype(np.int64) + 1
    total = int(lengths.sum())
    if total != count:
        raise CorruptChunkError(f"run lengths add up to {total}, expected {count} values")
    return lengths


def decode_runs(view: memoryview, count: int, kind: Kind) -> tuple[np.ndarray, np.ndarray]:
    """Decode the stored runs of ``count`` values as (run values, int64 lengths).

    Raises:
        CorruptChunkError: the run count, a length or the run values do not
            fit ``count`` or the payload size.
    """
    reader = PayloadReader(view, "run-length payload")
    lengths = _read_lengths(reader, count)
    run_values = plain.decode(reader.take_rest(), len(lengths), kind)
    return run_values, lengths


def decode(view: memoryview, count: int, kind: Kind) -> np.ndarray:
    """Decode a run-length payload of ``count`` values."""
    run_values, lengths = decode_runs(view, count, kind)
    return np.repeat(run_values, lengths)


def decode_code_runs(view: memoryview, count: int, entry_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode the runs of dictionary codes as (uint64 codes, int64 lengths).

    The caller checks that every code is below ``entry_count``; this only
    rejects widths that could not hold such a code.

    Raises:
        CorruptChunkError: as :func:`decode_runs`.
    """
    reader = PayloadReader(view, "run-length codes payload")
    lengths = _read_lengths(reader, count)
    max_width = bitpack.bit_width(max(entry_count - 1, 0))
    codes = bitpack.read_block(reader, len(lengths), "run codes", max_width=max_width)
    reader.expect_end()
    return codes, lengths
