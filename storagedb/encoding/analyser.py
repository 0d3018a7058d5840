"""Choosing the smallest encoding of a column chunk from cheap statistics.

The analyser never encodes every candidate. It computes a few statistics of
the non-null values once, each on first use, and derives every candidate's
payload size from them arithmetically:

==================  ===========================================================
candidate           size from
==================  ===========================================================
plain               value count x itemsize; for text and blob, 4 bytes per
                    value plus the UTF-8 (or blob) bytes
for                 minimum and maximum: ``bit_width(max - min)``
bitpack             minimum and maximum, zigzag-mapped
delta               smallest and largest difference between neighbours
rle                 run count and longest run (split at 65,535), plus the run
                    values' plain size
dictionary          distinct count, entry sizes, and the cheaper of bit-packed
                    or run-length codes (the codes' runs are the values' runs)
==================  ===========================================================

Only the winner is encoded; ``encode_chunk`` then tries zstd on its payload.
On a tie the earlier candidate in :data:`PREFERENCE` wins; simpler
decoders come first.

Counting distinct values is the one step that can cost more than a pass over
the values. Integers whose range is small (below 4 times the value count, or
below 4,096) are counted with a presence bitmap, and sorted integers have as
many distinct values as runs. For the rest (wide-range integers, floats,
text and blob) the distinct count is first *estimated* from an evenly spaced
sample of 1,024 values with the Chao1 estimator. The exact dictionary is
only built when the estimated size could beat the best size so far.
Run-length candidates for floats, text and blob are likewise skipped when
fewer than 10% of sampled neighbours are equal.

NOTE: both skips rest on estimates. A chunk whose sample misses its repeats
may lose a dictionary or run-length encoding that would have been smaller.

Measured on a 2-core VM (Python 3.11, numpy 2.4) with 65,536-row chunks of
TPC-H lineitem columns and of random int64: analysing and encoding one int64
chunk takes 0.3 to 1.1 ms, and trying zstd adds up to 0.4 ms. Text is slower
because every value is a Python object: 2 to 15 ms per chunk for plain and
7 to 35 ms when a dictionary is built (``benchmarks/encoding_bench.py``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import bitpack, delta, dictionary, frame_of_reference, plain, rle
from .kinds import Kind, float_bit_patterns

__all__ = ["PREFERENCE", "ChunkStats", "Choice", "candidate_sizes", "choose", "plan_forced"]

#: Tie-break order: of candidates with equal sizes, the first listed wins.
#: Simpler decoders come first.
PREFERENCE = (
    "plain",
    "for",
    "bitpack",
    "dictionary+bitpack",
    "delta",
    "dictionary+rle",
    "rle",
)

_SAMPLE_SIZE = 1024
# Run-length encoding is not sized when fewer sampled neighbours are equal.
_MIN_EQUAL_NEIGHBOURS = 0.10


@dataclass(frozen=True, slots=True)
class Choice:
    """An encoding (``"dictionary"``, ``"rle"`` ...) and its expected payload size."""

    encoding: str
    code_encoding: str | None  # "bitpack" or "rle" for a dictionary, else None
    size: int  # -1 when not computed


class ChunkStats:
    """Statistics of a chunk's non-null values, each computed on first use.

    ``values`` is not modified and must not be modified while this object is
    in use.
    """

    def __init__(self, values: np.ndarray, kind: Kind) -> None:
        self.values = values
        self.kind = kind
        self.count = len(values)

    # -- integers ----------------------------------------------------------

    @cached_property
    def int_values(self) -> np.ndarray:
        """The values as a contiguous int64 array (integer kinds)."""
        return np.ascontiguousarray(self.values, dtype=np.int64)

    @cached_property
    def bounds(self) -> tuple[int, int]:
        """Minimum and maximum as Python ints; (0, 0) without values."""
        if self.count == 0:
            return 0, 0
        return int(self.int_values.min()), int(self.int_values.max())

    @cached_property
    def deltas(self) -> np.ndarray:
        return delta.deltas(self.int_values)

    @cached_property
    def delta_bounds(self) -> tuple[int, int]:
        if len(self.deltas) == 0:
            return 0, 0
        return int(self.deltas.min()), int(self.deltas.max())

    @cached_property
    def is_sorted(self) -> bool:
        values = self.int_values
        return bool(np.all(values[1:] >= values[:-1]))

    # -- runs --------------------------------------------------------------

    @cached_property
    def run_keys(self) -> np.ndarray:
        """Values compared for runs: integers as is, floats by bit pattern."""
        if self.kind.is_float:
            return float_bit_patterns(self.values, self.kind)
        if self.kind.is_variable:
            return np.asarray(self.values, dtype=object)
        return self.values

    @cached_property
    def run_count(self) -> int:
        """Number of maximal runs, before splitting long ones."""
        if self.count == 0:
            return 0
        if self.kind.is_integer:
            return int(np.count_nonzero(self.deltas)) + 1
        return len(self.runs.lengths)

    @cached_property
    def runs(self) -> rle.Runs:
        if "dictionary" in self.__dict__:
            # The codes' runs are the values' runs, and integer codes compare fast.
            return rle.find_runs(self.dictionary.codes)
        return rle.find_runs(self.run_keys)

    # -- text and blob -----------------------------------------------------

    @cached_property
    def variable(self) -> plain.VariableValues:
        """The values split into bytes and end offsets (text and blob)."""
        return plain.split_variable(self.values, self.kind)

    @cached_property
    def value_sizes(self) -> np.ndarray:
        """Bytes of each text or blob value."""
        return np.diff(self.variable.ends, prepend=0)

    @cached_property
    def plain_size(self) -> int:
        if self.kind.is_variable:
            return self.variable.plain_size
        return plain.encoded_size(self.count, self.kind)

    def plain_size_of(self, positions: np.ndarray) -> int:
        """Plain size of the values at ``positions``."""
        if self.kind.is_variable:
            return plain.OFFSET_DTYPE.itemsize * len(positions) + int(self.value_sizes[positions].sum())
        return len(positions) * self.kind.itemsize

    # -- dictionary --------------------------------------------------------

    @cached_property
    def dictionary(self) -> dictionary.Dictionary:
        if self.kind.is_integer:
            low, high = self.bounds
            if self.has_small_range:
                return dictionary.build_integer(self.int_values, low, high, self.kind, self.presence)
            if self.is_sorted:
                return dictionary.build_sorted(self.values, self.runs, self.kind)
            return dictionary.build_integer(self.int_values, low, high, self.kind)
        return dictionary.build(self.values, self.kind)

    @cached_property
    def has_small_range(self) -> bool:
        """True when integer values are counted with a presence bitmap."""
        return dictionary.has_small_range(*self.bounds, self.count)

    @cached_property
    def presence(self) -> np.ndarray:
        return dictionary.presence_bitmap(self.int_values, *self.bounds)

    @cached_property
    def distinct_bound(self) -> int:
        """Exact distinct count where cheap (small range, sorted), else the estimate."""
        if "dictionary" in self.__dict__:
            return len(self.dictionary)
        if self.kind.is_integer:
            if self.has_small_range:
                return int(np.count_nonzero(self.presence))
            if self.is_sorted:
                return self.run_count
        return self.estimated_distinct

    @cached_property
    def sample(self) -> list:
        """About 1,024 evenly spaced values (all of them in a small chunk)."""
        step = max(self.count // _SAMPLE_SIZE, 1)
        return self.run_keys[::step].tolist()

    @cached_property
    def estimated_distinct(self) -> int:
        """Distinct values estimated from the sample with Chao1, at most ``count``.

        Exact when the chunk has no more than 1,024 values.
        """
        counts = Counter(self.sample)
        if len(self.sample) == self.count:
            return len(counts)
        frequency = Counter(counts.values())
        once, twice = frequency.get(1, 0), frequency.get(2, 0)
        if twice:
            unseen = once * once / (2 * twice)
        else:
            unseen = once * (once - 1) / 2
        return min(int(len(counts) + unseen), self.count)

    @cached_property
    def equal_neighbour_share(self) -> float:
        """Share of sampled positions whose value equals the next one."""
        if self.count < 2:
            return 0.0
        step = max(self.count // _SAMPLE_SIZE, 1)
        positions = np.arange(0, self.count - 1, step)
        keys = self.run_keys
        return float(np.count_nonzero(keys[positions] == keys[positions + 1])) / len(positions)


# -- sizes -------------------------------------------------------------------


def _rle_size(stats: ChunkStats) -> int:
    owner, _ = rle.split_runs(stats.runs)
    run_values_size = stats.plain_size_of(stats.runs.starts[owner])
    return rle.encoded_size(stats.runs, run_values_size)


def _dictionary_sizes(stats: ChunkStats) -> dict[str, int]:
    built = stats.dictionary
    header = dictionary.HEADER.size + len(built.entries_payload)
    codes = dictionary.codes_size(len(built), stats.count, stats.runs)
    return {f"dictionary+{name}": header + size for name, size in codes.items()}


def _dictionary_lower_size(stats: ChunkStats, distinct: int) -> int:
    """Return about the least a dictionary of ``distinct`` entries can take.

    Entries at their mean plain size, and codes either bit-packed or, at
    best, one packed code per run plus one bit per run length (run lengths
    need at least one bit unless every run is one value long).
    """
    if stats.kind.is_variable:
        mean_entry = stats.variable.plain_size / max(stats.count, 1)
    else:
        mean_entry = stats.kind.itemsize
    width = bitpack.bit_width(max(distinct - 1, 0))
    if stats.kind.is_integer:
        runs = stats.run_count
    else:
        runs = int(stats.count * (1 - stats.equal_neighbour_share)) + 1
    run_codes = bitpack.packed_size(runs, width) + (bitpack.packed_size(runs, 1) if runs < stats.count else 0)
    codes = min(bitpack.packed_size(stats.count, width), run_codes)
    return dictionary.HEADER.size + int(distinct * mean_entry) + codes


def candidate_sizes(stats: ChunkStats, max_dictionary_entries: int) -> dict[str, int]:
    """Return the payload size of each candidate worth sizing.

    Candidates that cannot win by the estimates described in the module
    docstring, and dictionaries above ``max_dictionary_entries``, are left
    out; ``plain`` is always present.
    """
    kind = stats.kind
    sizes = {"plain": stats.plain_size}
    if stats.count == 0:
        return sizes

    # Integer-only candidates come from the range and the deltas alone.
    if kind.is_integer:
        low, high = stats.bounds
        sizes["for"] = frame_of_reference.encoded_size(low, high, stats.count)
        sizes["bitpack"] = bitpack.encoded_size(low, high, stats.count, kind)
        sizes["delta"] = delta.encoded_size(*stats.delta_bounds, stats.count)

    # Run-length: for integers, a lower bound of itemsize bytes per run rules
    # most chunks out before any run is located. For the other kinds a sample
    # of neighbours decides.
    best = min(sizes.values())
    if kind.is_integer:
        worth_runs = stats.run_count * kind.itemsize < best
    else:
        worth_runs = stats.equal_neighbour_share >= _MIN_EQUAL_NEIGHBOURS
    if worth_runs:
        sizes["rle"] = _rle_size(stats)
        best = min(best, sizes["rle"])

    # Dictionary: exact when counting is cheap, else only after an estimate.
    if _dictionary_worth_sizing(stats, max_dictionary_entries, best):
        sizes.update(_dictionary_sizes(stats))
    return sizes


def _dictionary_worth_sizing(stats: ChunkStats, max_entries: int, best: int) -> bool:
    """Return whether to build the dictionary and size it exactly."""
    # Where distinct_bound is a Chao1 estimate it tends to be low, so an
    # estimated dictionary that already loses is unlikely to hide a winner.
    distinct = stats.distinct_bound
    if distinct > max_entries or _dictionary_lower_size(stats, distinct) >= best:
        return False
    return len(stats.dictionary) <= max_entries


def choose(stats: ChunkStats, max_dictionary_entries: int) -> Choice:
    """Pick the candidate with the smallest payload (ties by :data:`PREFERENCE`)."""
    sizes = candidate_sizes(stats, max_dictionary_entries)
    name = min(sizes, key=lambda candidate: (sizes[candidate], PREFERENCE.index(candidate)))
    encoding, _, code_encoding = name.partition("+")
    return Choice(encoding, code_encoding or None, sizes[name])


def plan_forced(stats: ChunkStats, encoding: str) -> Choice:
    """Return the choice for an encoding the caller forced.

    For ``"dictionary"`` this picks the smaller code encoding; the caller
    checks the entry limit. Sizes of the other encodings are not computed
    (reported as -1).
    """
    if encoding != "dictionary":
        return Choice(encoding, None, -1)
    sizes = _dictionary_sizes(stats)
    name = min(sizes, key=lambda candidate: (sizes[candidate], PREFERENCE.index(candidate)))
    return Choice("dictionary", name.partition("+")[2], sizes[name])
