"""Vectorised GROUP BY aggregates over column batches, exact for decimals.

The table layer builds an :class:`AggregateSpec`, feeds each batch that
passed its ``where`` filter to an :class:`Accumulator` and reads one
:class:`AggregateResult`::

    spec = AggregateSpec.build(schema, group_by=["l_returnflag"],
                               aggregates={"n": ("count", "*"),
                                           "qty": ("sum", "l_quantity")})
    accumulator = spec.accumulator()
    for batch, length in batches:          # storage-form columns
        accumulator.add(batch, length)
    result = accumulator.result()          # result.names, result.rows

How a batch is reduced
----------------------
1. Each group column becomes integer *codes*, one per row, with NULL as the
   largest code. A :class:`~storagedb.batch.DictionaryColumn` already has
   codes. Other columns get them from a range table (integers spanning few
   values), from ``np.unique`` (other numbers), from code points (text whose
   values are all single characters) or from a ``dict`` of distinct values
   (other text and blobs).
2. The codes of all group columns are mixed into one integer per row, and
   the rows are sorted by it. When the mixed codes span at most 65,536
   values, they are uint8 or uint16, for which numpy's stable sort is a radix
   sort.
3. Every aggregate is reduced over the sorted rows, one segment per group,
   with ``np.add.reduceat``, ``np.minimum.reduceat`` and so on. Nothing
   loops in Python per row.
4. The batch leaves a *partial*: one row per group with the key values in
   storage form and the state of every aggregate. Partials pile up until
   the new ones have more than 2**20 rows and more rows than the last merged
   partial, and once more in :meth:`Accumulator.result`. Then they are
   concatenated and grouped again by steps 1 to 3. So a million groups cost
   a few re-reductions of arrays, not a Python dict per group.

Without GROUP BY every batch is one group, and an aggregate argument that
arrives as a :class:`~storagedb.batch.RunColumn` is reduced on its runs,
which are never expanded. Its count is the sum of the run lengths, its sum
is the sum of value x length, and min/max look at the run values.

State of an argument column, per group
--------------------------------------
=========  ===========================================  ======================
state      contents                                      merged across batches
=========  ===========================================  ======================
count      int64 number of non-NULL values               added
sum        integer-like types: three int64 limbs          limbs added, then the
           (``top * 2**64 + mid * 2**32 + low``, with     carries propagated
           ``low`` and ``mid`` in [0, 2**32));
           floats: a float64 sum                          added
min / max  a storage-form value; a placeholder when       min / max over the
           count is 0                                     groups with count > 0
=========  ===========================================  ======================

Exact integer sums
------------------
Integer and decimal values are int64. A batch whose values satisfy
``max(|v|) * rows < 2**63`` cannot overflow, so it is summed in int64 as is.
TPC-H Q1 over 600,000 rows stays more than 100 times below that bound even
for its largest column, the charge at 6 decimal places (below 1.2 * 10**11).
Otherwise each value
is split into a signed high half ``v >> 32`` (at most 2**31 in magnitude) and
an unsigned low half ``v & (2**32 - 1)``. The high halves are summed in int64
and the low halves in uint64, both exact for fewer than 2**32 rows per call
of :meth:`Accumulator.add` (:data:`MAX_ROWS_PER_BATCH`). The per-group sums
then become limbs. A group has at most one partial row per batch, and the
limb sums of a re-reduction stay exact while each group has fewer than 2**31
of them. Step 4 re-reduces after at most max(2**20, groups so far) new
partial rows, which keeps that bound for fewer than 2**31 groups.

Results
-------
========================  ====================================================
function and column type  Python result
========================  ====================================================
count(*), count(column)   int; NULLs are not counted by count(column)
sum of int8..int64        int, exact at any size
sum of decimal(p,s)       decimal.Decimal with exactly s digits after the point
sum of float32/float64    float: float64 sums within a batch in row order per
                          group (``np.add.reduceat``), added across batches,
                          so the last bits can differ from another engine's
avg of int8..int64        float: the exact sum divided by the count, correctly
                          rounded (Python int division)
avg of decimal(p,s)       decimal.Decimal with s + 6 digits after the point,
                          rounded half to even
avg of float32/float64    float: the float sum divided by the count
min, max                  the column's Python form (date, datetime, Decimal,
                          bool, str by code point, bytes by byte order);
                          floats: min skips NaN unless every value is NaN,
                          max is NaN if any value is NaN (NaN sorts last)
========================  ====================================================

sum, avg, min and max ignore NULLs and return None for a group with no
non-NULL value. Without GROUP BY the result always has one row, even for no
input. NULL group keys form one group of their own, and so do NaN keys.
Groups come out sorted by their keys, column by column, with NaN after every
number and NULL after every value. :meth:`AggregateResult.columns` returns
the same values as numpy arrays.
"""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batch import AnyColumn, ColumnData, DictionaryColumn, RunColumn, plain
from .errors import InvalidInputError, SchemaError, UnsupportedError
from .schema import Column, Schema
from .types import ColumnType

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "MAX_ROWS_PER_BATCH",
    "Accumulator",
    "AggregateCall",
    "AggregateResult",
    "AggregateSpec",
]

#: The aggregate functions, in the order error messages list them.
AGGREGATE_FUNCTIONS = ("count", "sum", "min", "max", "avg")

#: Rows one call of :meth:`Accumulator.add` may hold when its sums need the
#: split into 32-bit halves: below 2**32 rows, neither half's sum overflows.
MAX_ROWS_PER_BATCH = 2**32 - 1

#: Extra digits after the point of a decimal avg, beyond the column's scale.
AVG_EXTRA_DIGITS = 6

_LIMB_BITS = 32
_LIMB_MASK = (1 << _LIMB_BITS) - 1
_INT64_LIMIT = 1 << 63

# New partial rows that trigger a re-reduction. Far below the 2**31 rows up
# to which limb sums stay exact, and large enough that a query with a few
# groups per batch re-reduces only every few hundred thousand batches.
_MERGE_ROWS = 1 << 20

# Mixed codes spanning at most this many values fit uint16, so they are
# counted with np.bincount and sorted by numpy's radix sort, which its
# stable sort uses for integers of 16 bits or less.
_RADIX_SPAN = 1 << 16

# Integer key columns spanning at most this many values get codes from a
# lookup table instead of np.unique's sort.
_RANGE_TABLE_SPAN = 1 << 20

# Mixed int64 codes stay below this; past it they are renumbered densely first.
_MIXED_CODE_LIMIT = 1 << 62

_NUMERIC_SUM_TYPES = frozenset({"int8", "int16", "int32", "int64", "decimal", "float32", "float64"})


# -- the specification -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AggregateCall:
    """One output aggregate, ``function(column) AS name``.

    ``column`` and ``type`` are None for ``count(*)``.
    """

    name: str
    function: str
    column: str | None
    type: ColumnType | None


@dataclass(frozen=True, slots=True)
class _ArgumentPlan:
    """The states that one argument column needs, shared by its aggregates."""

    column: str
    type: ColumnType
    wants_sum: bool
    wants_min: bool
    wants_max: bool

    @property
    def exact_sum(self) -> bool:
        return self.type.is_integer_like


@dataclass(frozen=True)
class AggregateSpec:
    """A validated GROUP BY: the group columns and the aggregates to compute.

    Build one with :meth:`build`, then call :meth:`accumulator` once per
    query.
    """

    group_by: tuple[Column, ...]
    calls: tuple[AggregateCall, ...]

    @classmethod
    def build(
        cls,
        schema: Schema,
        group_by: str | Sequence[str] = (),
        aggregates: Mapping[str, tuple[str, str]] | None = None,
    ) -> AggregateSpec:
        """Validate group columns and aggregates against ``schema``.

        ``aggregates`` maps each output name to ``(function, column)``, where
        function is one of :data:`AGGREGATE_FUNCTIONS` (any case) and column
        is a column name, or ``"*"`` for ``count``.

        Example::

            AggregateSpec.build(schema, ["l_returnflag"],
                                {"n": ("count", "*"),
                                 "avg_price": ("avg", "l_extendedprice")})

        Raises:
            SchemaError: for any of these mistakes:

                * an unknown function or column;
                * a column named twice in ``group_by``, or two outputs with
                  one name;
                * ``*`` with a function other than count;
                * sum or avg of a text, blob, bool, date or timestamp column;
                * neither group columns nor aggregates.
        """
        names = [group_by] if isinstance(group_by, str) else list(group_by)
        group_columns = tuple(_group_column(schema, name) for name in names)
        if len(set(names)) != len(names):
            raise SchemaError(f"group_by names a column twice: {names!r}")

        aggregates = dict(aggregates or {})
        calls = tuple(_build_call(schema, name, spec) for name, spec in aggregates.items())
        if not group_columns and not calls:
            raise SchemaError("an aggregate query needs at least one group_by column or one aggregate")
        output_names = set(names)
        for call in calls:
            if call.name in output_names:
                raise SchemaError(
                    f"output name {call.name!r} is used twice; give the aggregate a name "
                    "that no group_by column or other aggregate has"
                )
            output_names.add(call.name)
        return cls(group_columns, calls)

    @property
    def names(self) -> list[str]:
        """Output column names: the group columns, then the aggregates."""
        return [column.name for column in self.group_by] + [call.name for call in self.calls]

    @property
    def input_columns(self) -> list[str]:
        """Columns every batch must contain, group columns first, each once."""
        names = [column.name for column in self.group_by]
        names += [call.column for call in self.calls if call.column is not None]
        return list(dict.fromkeys(names))

    @property
    def arguments(self) -> tuple[_ArgumentPlan, ...]:
        """The states to keep per argument column."""
        plans: dict[str, dict[str, Any]] = {}
        for call in self.calls:
            if call.column is None:
                continue
            assert call.type is not None
            plan = plans.setdefault(call.column, {"type": call.type, "sum": False, "min": False, "max": False})
            if call.function in ("sum", "avg"):
                plan["sum"] = True
            elif call.function in ("min", "max"):
                plan[call.function] = True
        return tuple(
            _ArgumentPlan(column, plan["type"], plan["sum"], plan["min"], plan["max"]) for column, plan in plans.items()
        )

    def accumulator(self) -> Accumulator:
        """Start an empty accumulator for this query."""
        return Accumulator(self)


def _group_column(schema: Schema, name: Any) -> Column:
    if not isinstance(name, str) or not schema.has_column(name):
        raise SchemaError(f"group_by names unknown column {name!r}; the table has columns {', '.join(schema.names)}")
    return schema.column(name)


def _build_call(schema: Schema, name: Any, spec: Any) -> AggregateCall:
    if not isinstance(name, str) or not name:
        raise SchemaError(f"aggregate output name must be a non-empty string, not {name!r}")
    if not (isinstance(spec, (tuple, list)) and len(spec) == 2 and all(isinstance(part, str) for part in spec)):
        raise SchemaError(
            f"aggregate {name!r} must be a (function, column) pair such as ('sum', 'price'), not {spec!r}"
        )
    function, column = spec[0].strip().lower(), spec[1]
    if function not in AGGREGATE_FUNCTIONS:
        raise SchemaError(
            f"aggregate {name!r} uses unknown function {spec[0]!r}; use one of {', '.join(AGGREGATE_FUNCTIONS)}"
        )
    if column == "*":
        if function != "count":
            raise SchemaError(f"aggregate {name!r}: only count takes '*', so {function} needs a column name")
        return AggregateCall(name, function, None, None)
    if not schema.has_column(column):
        raise SchemaError(
            f"aggregate {name!r} names unknown column {column!r}; the table has columns {', '.join(schema.names)}"
        )
    ctype = schema.column(column).type
    if function in ("sum", "avg") and ctype.base not in _NUMERIC_SUM_TYPES:
        raise SchemaError(
            f"aggregate {name!r}: {function} needs a numeric column, but {column!r} is {ctype.name}; "
            "use count, min or max for it"
        )
    return AggregateCall(name, function, column, ctype)


# -- partial results -----------------------------------------------------------


@dataclass(slots=True)
class _ColumnState:
    """The per-group state of one argument column; every array has one entry per group."""

    count: np.ndarray
    limbs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (low, mid, top)
    float_sum: np.ndarray | None = None
    minimum: np.ndarray | None = None
    maximum: np.ndarray | None = None


@dataclass(slots=True)
class _Partial:
    """Groups of some rows: key values, rows per group and the argument states."""

    keys: list[ColumnData]
    rows: np.ndarray
    states: dict[str, _ColumnState]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(slots=True)
class _Grouping:
    """Rows sorted by group: each group is the segment ``starts[g]`` to ``starts[g] + sizes[g]``."""

    order: np.ndarray | None  # the sorting permutation; None when rows are already in order
    starts: np.ndarray
    sizes: np.ndarray

    @classmethod
    def single(cls, length: int) -> _Grouping:
        return cls(None, np.zeros(1, dtype=np.intp), np.array([length], dtype=np.int64))

    @property
    def count(self) -> int:
        return len(self.sizes)

    def sort(self, array: np.ndarray) -> np.ndarray:
        return array if self.order is None else array[self.order]

    def first_rows(self) -> np.ndarray:
        """Return one input row of each group, in group order."""
        return self.starts if self.order is None else self.order[self.starts]


# -- the accumulator -----------------------------------------------------------


class Accumulator:
    """Collects batches for one :class:`AggregateSpec` and produces its result.

    Not thread-safe: one query feeds one accumulator from one thread.
    """

    def __init__(self, spec: AggregateSpec) -> None:
        self.spec = spec
        self._arguments = spec.arguments
        # Invariant: after a re-reduction _pending is one partial of
        # _merged_rows groups, and _new_rows counts the partial rows added since.
        self._pending: list[_Partial] = []
        self._merged_rows = 0
        self._new_rows = 0

    def add(self, batch: Mapping[str, AnyColumn | np.ndarray], length: int) -> None:
        """Fold one batch of ``length`` rows into the running aggregates.

        ``batch`` maps column names to storage-form columns (see
        ``storagedb.batch``); columns the query does not use are ignored. A
        bare numpy array counts as a column without NULLs.

        Raises:
            InvalidInputError: a column the query needs is missing, or its
                length differs from ``length``.
            UnsupportedError: an integer sum needs the 32-bit split for more
                than :data:`MAX_ROWS_PER_BATCH` rows; pass smaller batches.
        """
        columns = _batch_columns(self.spec, batch, length)
        if length == 0:
            return
        partial = _reduce_batch(self.spec, self._arguments, columns, length)
        self._pending.append(partial)
        self._new_rows += len(partial)
        # Waiting until the new rows outnumber the merged ones keeps the
        # total work of re-reductions linear in the rows added.
        if self._new_rows > max(_MERGE_ROWS, self._merged_rows):
            self._merge_pending()

    def result(self) -> AggregateResult:
        """Return the aggregates of every batch added so far.

        The accumulator stays usable: more batches may be added and
        ``result`` called again.
        """
        if self._pending:
            self._merge_pending()
            merged = self._pending[0]
        elif self.spec.group_by:
            merged = _empty_partial(self.spec, self._arguments, groups=0)
        else:
            merged = _empty_partial(self.spec, self._arguments, groups=1)
        return _build_result(self.spec, merged)

    def _merge_pending(self) -> None:
        merged = _merge(self.spec, self._arguments, self._pending)
        self._pending = [merged]
        self._merged_rows = len(merged)
        self._new_rows = 0


def _batch_columns(spec: AggregateSpec, batch: Mapping[str, Any], length: int) -> dict[str, AnyColumn]:
    """Pick the columns the query needs from ``batch`` and check their lengths."""
    if not isinstance(length, (int, np.integer)) or length < 0:
        raise InvalidInputError(f"batch length must be a non-negative integer, not {length!r}")
    columns: dict[str, AnyColumn] = {}
    for name in spec.input_columns:
        if name not in batch:
            raise InvalidInputError(
                f"batch is missing column {name!r}, which the aggregate needs; "
                f"it has columns {', '.join(map(str, batch))}"
            )
        column = batch[name]
        if isinstance(column, np.ndarray):
            column = ColumnData(column)
        if not isinstance(column, (ColumnData, DictionaryColumn, RunColumn)):
            raise InvalidInputError(
                f"batch column {name!r} is a {type(column).__name__}; expected ColumnData, "
                "DictionaryColumn, RunColumn or a numpy array"
            )
        if len(column) != length:
            raise InvalidInputError(f"batch column {name!r} has {len(column)} rows, expected {length}")
        columns[name] = column
    return columns


# -- reducing one batch ------------------------------------------------------------


def _reduce_batch(
    spec: AggregateSpec, arguments: tuple[_ArgumentPlan, ...], columns: dict[str, AnyColumn], length: int
) -> _Partial:
    # Group keys: run-length keys are expanded once here, dictionary keys stay codes.
    key_columns = [
        columns[c.name] if isinstance(columns[c.name], DictionaryColumn) else plain(columns[c.name])
        for c in spec.group_by
    ]
    if key_columns:
        codes = [_key_codes(column, ordered=False) for column in key_columns]
        grouping = _group_rows(codes, length)
        first_rows = grouping.first_rows()
        keys = [_key_values(column, first_rows) for column in key_columns]
    else:
        grouping = _Grouping.single(length)
        keys = []

    states: dict[str, _ColumnState] = {}
    for plan in arguments:
        column = columns[plan.column]
        if isinstance(column, RunColumn) and not key_columns:
            states[plan.column] = _reduce_runs(column, plan)
        else:
            states[plan.column] = _reduce_column(column, plan, grouping)
    return _Partial(keys, grouping.sizes.astype(np.int64, copy=False), states)


def _key_values(column: ColumnData | DictionaryColumn, rows: np.ndarray) -> ColumnData:
    """Return the storage-form values and NULL flags of a key column at ``rows``."""
    nulls = column.nulls[rows] if column.nulls is not None else np.zeros(len(rows), dtype=bool)
    if isinstance(column, DictionaryColumn):
        return ColumnData(_decode(column.dictionary, column.codes[rows], nulls), nulls)
    return ColumnData(column.values[rows], nulls)


def _decode(dictionary: np.ndarray, codes: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    """Look codes up in ``dictionary``. Rows flagged in ``nulls`` get the first entry, or 0 if there is none."""
    if not len(dictionary):
        return np.zeros(len(codes), dtype=dictionary.dtype)
    return dictionary[np.where(nulls, 0, codes)]


def _storage_values(values: np.ndarray) -> np.ndarray:
    """Return values in storage form, accepting the batch dtypes of bool and dates too."""
    if values.dtype.kind == "b":
        return values.view(np.uint8)
    if values.dtype.kind == "M":
        return values.view(np.int64)
    return values


# -- codes of group keys ------------------------------------------------------------


def _key_codes(column: ColumnData | DictionaryColumn, ordered: bool) -> tuple[np.ndarray, int]:
    """Return integer codes of a key column and the number of codes, NULL's included.

    NULL gets the largest code. With ``ordered`` the codes of values follow
    the values' order, as the final grouping needs to sort its output. Only
    text and blobs use a different order when ``ordered`` is false.
    """
    if isinstance(column, DictionaryColumn):
        codes, distinct = _dictionary_codes(column)
    else:
        codes, distinct = _value_codes(_storage_values(column.values), column.nulls, ordered)
    if column.nulls is not None:
        codes = np.where(column.nulls, np.int64(distinct), codes)
    return codes, distinct + 1


def _dictionary_codes(column: DictionaryColumn) -> tuple[np.ndarray, int]:
    dictionary = column.dictionary
    if dictionary.dtype.kind == "f" and len(dictionary):
        # A float dictionary keeps -0.0 and +0.0 (and NaN bit patterns) as
        # distinct entries, but GROUP BY treats them as one value each.
        merged, remap = np.unique(dictionary, return_inverse=True)
        codes = column.codes if column.nulls is None else np.where(column.nulls, 0, column.codes)
        return remap[codes].astype(np.int64), len(merged)
    return column.codes, len(dictionary)


def _value_codes(values: np.ndarray, nulls: np.ndarray | None, ordered: bool) -> tuple[np.ndarray, int]:
    """Return codes of plain values. Values at NULL rows get some code that the caller overwrites."""
    if values.dtype == object:
        return _object_codes(values, nulls, ordered)
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        span = high - low + 1
        if span <= _RANGE_TABLE_SPAN and span <= 4 * len(values) + 1024:
            offsets = values.astype(np.int64) - low
            present = np.bincount(offsets, minlength=span) > 0
            rank = np.cumsum(present) - 1
            return rank[offsets], int(rank[-1]) + 1
    distinct, inverse = np.unique(values, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), len(distinct)


def _object_codes(values: np.ndarray, nulls: np.ndarray | None, ordered: bool) -> tuple[np.ndarray, int]:
    """Return codes of text or blob values, sorting only the distinct values (if ``ordered``)."""
    if nulls is not None:
        if nulls.all():
            return np.zeros(len(values), dtype=np.int64), 0
        # Give NULL rows a real value so the placeholder adds no distinct entry.
        values = np.where(nulls, values[int(np.argmin(nulls))], values)
    items = values.tolist()
    single = _single_character_codes(items)
    if single is not None:
        return single

    # Otherwise a dict maps each value to the row where it first occurs.
    first_seen: dict[Any, int] = {}
    first_rows = np.fromiter(map(first_seen.setdefault, items, itertools.count()), dtype=np.int64, count=len(items))
    rows_of_distinct = np.fromiter(first_seen.values(), dtype=np.int64, count=len(first_seen))
    if ordered:
        values_in_order = list(first_seen)
        rank = sorted(range(len(values_in_order)), key=values_in_order.__getitem__)
        rows_of_distinct = rows_of_distinct[rank]
    lookup = np.empty(len(items), dtype=np.int64)
    lookup[rows_of_distinct] = np.arange(len(rows_of_distinct))
    return lookup[first_rows], len(rows_of_distinct)


def _single_character_codes(items: list[Any]) -> tuple[np.ndarray, int] | None:
    """Return codes in code point order when every value is one character of text, else None.

    The values joined into one string and encoded as UTF-32 give one code
    point per row, so a lookup table turns them into codes without a Python
    step per row.
    """
    distinct = set(items)
    if not distinct or not all(isinstance(value, str) and len(value) == 1 for value in distinct):
        return None
    points = np.frombuffer("".join(items).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    table = np.array(sorted(ord(value) for value in distinct), dtype=np.int64)
    lookup = np.zeros(int(table[-1]) + 1, dtype=np.int64)
    lookup[table] = np.arange(len(table))
    return lookup[points], len(table)


def _group_rows(codes: list[tuple[np.ndarray, int]], length: int) -> _Grouping:
    """Sort rows by their mixed key codes and find each group's segment."""
    # A column with one code for every row does not split any group.
    codes = [(column_codes, radix) for column_codes, radix in codes if radix > 1] or [codes[0]]
    span = 1
    for _, radix in codes:
        span *= radix

    if span <= _RADIX_SPAN:
        # Each radix is at most span / 2 when there are two columns or more,
        # so every step below fits the narrow type.
        narrow = np.uint8 if span <= 256 else np.uint16
        mixed = codes[0][0].astype(narrow)
        for column_codes, radix in codes[1:]:
            mixed *= narrow(radix)
            mixed += column_codes.astype(narrow, copy=False)
        counts = np.bincount(mixed, minlength=span)
        sizes = counts[counts > 0]
        order = np.argsort(mixed, kind="stable")
    else:
        mixed, span = codes[0][0].astype(np.int64), codes[0][1]
        for column_codes, radix in codes[1:]:
            if span * radix > _MIXED_CODE_LIMIT:
                distinct, mixed = np.unique(mixed, return_inverse=True)
                span = len(distinct)
            mixed = mixed * radix + column_codes
            span *= radix
        order = np.argsort(mixed, kind="stable")
        ordered = mixed[order]
        boundaries = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        sizes = np.diff(np.concatenate(([0], boundaries, [length])))
    starts = np.cumsum(sizes) - sizes
    return _Grouping(order, starts.astype(np.intp), sizes.astype(np.int64))


# -- reducing an argument column -----------------------------------------------------


def _reduce_column(column: AnyColumn, plan: _ArgumentPlan, grouping: _Grouping) -> _ColumnState:
    """Reduce one argument column over the groups of ``grouping``."""
    dictionary = None
    if isinstance(column, DictionaryColumn):
        dictionary = column.dictionary
        values = column.codes
        nulls = column.nulls
    else:
        data = plain(column)
        values = _storage_values(data.values)
        nulls = data.nulls

    sorted_nulls = grouping.sort(nulls) if nulls is not None else None
    if sorted_nulls is None:
        count = grouping.sizes.copy()
    else:
        count = grouping.sizes - np.add.reduceat(sorted_nulls, grouping.starts, dtype=np.int64)
    state = _ColumnState(count)

    if plan.wants_sum:
        summed = values if dictionary is None else _decode(dictionary, values, _no_nulls(nulls, len(values)))
        summed = grouping.sort(summed)
        if sorted_nulls is not None:
            summed = np.where(sorted_nulls, 0, summed)
        if plan.exact_sum:
            state.limbs = _grouped_exact_sums(summed.astype(np.int64, copy=False), grouping.starts)
        else:
            state.float_sum = np.add.reduceat(summed, grouping.starts, dtype=np.float64)

    if plan.wants_min or plan.wants_max:
        ordered = grouping.sort(values)
        for kind in ("min", "max"):
            if not (plan.wants_min if kind == "min" else plan.wants_max):
                continue
            extreme = _segment_extreme(kind, ordered, sorted_nulls, grouping)
            if dictionary is not None:
                extreme = _decode(dictionary, extreme, count == 0)
            if kind == "min":
                state.minimum = extreme
            else:
                state.maximum = extreme
    return state


def _no_nulls(nulls: np.ndarray | None, length: int) -> np.ndarray:
    return nulls if nulls is not None else np.zeros(length, dtype=bool)


def _extreme_ufunc(kind: str, dtype: np.dtype) -> np.ufunc:
    # fmin skips NaN and maximum propagates it, so NaN sorts after every number.
    if kind == "min":
        return np.fmin if dtype.kind == "f" else np.minimum
    return np.maximum


def _segment_extreme(kind: str, ordered: np.ndarray, skip: np.ndarray | None, grouping: _Grouping) -> np.ndarray:
    """Return the min or max of each group's segment of ``ordered``, leaving out rows flagged in ``skip``.

    A group whose every row is skipped gets a placeholder that nothing reads.
    """
    ufunc = _extreme_ufunc(kind, ordered.dtype)
    if skip is None or not skip.any():
        return ufunc.reduceat(ordered, grouping.starts)

    if ordered.dtype != object:
        # Numbers: put the identity of the reduction at skipped rows.
        filled = ordered.copy()
        filled[skip] = _identity(kind, ordered.dtype)
        return ufunc.reduceat(filled, grouping.starts)

    # Text and blobs have no identity value, so reduce the kept rows alone.
    kept = ~skip
    group_of_row = np.repeat(np.arange(grouping.count), grouping.sizes)[kept]
    result = np.full(grouping.count, None, dtype=object)
    if len(group_of_row):
        groups, segment_starts = np.unique(group_of_row, return_index=True)
        result[groups] = ufunc.reduceat(ordered[kept], segment_starts)
    return result


def _identity(kind: str, dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return np.nan if kind == "min" else -np.inf
    info = np.iinfo(dtype)
    return info.max if kind == "min" else info.min


# -- exact integer sums ---------------------------------------------------------------


def _grouped_exact_sums(ordered: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum int64 values exactly per segment and return the sums as limbs."""
    low, high = int(ordered.min()), int(ordered.max())
    if max(-low, high) * len(ordered) < _INT64_LIMIT:
        return _limbs_from_int64(np.add.reduceat(ordered, starts))

    if len(ordered) > MAX_ROWS_PER_BATCH:
        raise UnsupportedError(
            f"an exact sum over {len(ordered)} rows in one batch is not supported, because the sums "
            f"of its 32-bit halves could overflow; pass batches of at most {MAX_ROWS_PER_BATCH} rows"
        )
    high_sums = np.add.reduceat(ordered >> _LIMB_BITS, starts)
    low_sums = np.add.reduceat((ordered & _LIMB_MASK).view(np.uint64), starts)
    carry = (low_sums >> np.uint64(_LIMB_BITS)).astype(np.int64)
    middle = high_sums + carry
    return (
        (low_sums & np.uint64(_LIMB_MASK)).astype(np.int64),
        middle & _LIMB_MASK,
        middle >> _LIMB_BITS,
    )


def _limbs_from_int64(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    high = sums >> _LIMB_BITS
    return sums & _LIMB_MASK, high & _LIMB_MASK, high >> _LIMB_BITS


def _limbs_from_int(total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split one Python int below 2**127 in magnitude into limbs."""
    return (
        np.array([total & _LIMB_MASK], dtype=np.int64),
        np.array([(total >> _LIMB_BITS) & _LIMB_MASK], dtype=np.int64),
        np.array([total >> (2 * _LIMB_BITS)], dtype=np.int64),
    )


def _carry_limbs(low: np.ndarray, mid: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bring summed limbs back to ``low`` and ``mid`` in [0, 2**32)."""
    middle = mid + (low >> _LIMB_BITS)
    return low & _LIMB_MASK, middle & _LIMB_MASK, top + (middle >> _LIMB_BITS)


def _limbs_to_ints(limbs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[int]:
    low, mid, top = (limb.tolist() for limb in limbs)
    return [(t << 64) + (m << 32) + lo for lo, m, t in zip(low, mid, top)]


def _exact_sum(values: np.ndarray) -> int:
    """Sum an int64 array of fewer than 2**32 entries exactly, by 32-bit halves."""
    high = int(np.sum(values >> _LIMB_BITS))
    low = int(np.sum((values & _LIMB_MASK).view(np.uint64)))
    return (high << _LIMB_BITS) + low


def _exact_dot(values: np.ndarray, weights: np.ndarray) -> int:
    """Return the exact ``sum(values * weights)`` of int64 values and non-negative int64 weights.

    When ``max(|value|) * sum(weights)`` stays below 2**63, one int64 dot
    product is exact. Otherwise both sides are split into 32-bit halves,
    ``v = vh * 2**32 + vl`` and ``w = wh * 2**32 + wl``. Each of the four
    products fits 64 bits (vl * wl as uint64), and each is summed exactly by
    its own halves.
    """
    if not len(values):
        return 0
    largest = max(-int(values.min()), int(values.max()))
    if largest * int(weights.sum()) < _INT64_LIMIT:
        return int(np.dot(values, weights))
    if len(values) > MAX_ROWS_PER_BATCH:
        raise UnsupportedError(
            f"an exact sum over {len(values)} runs is not supported; pass at most {MAX_ROWS_PER_BATCH} runs"
        )

    values_high, values_low = values >> _LIMB_BITS, values & _LIMB_MASK
    weights_high, weights_low = weights >> _LIMB_BITS, weights & _LIMB_MASK
    high_high = _exact_sum(values_high * weights_high)
    cross = _exact_sum(values_high * weights_low) + _exact_sum(values_low * weights_high)
    low_low = values_low.view(np.uint64) * weights_low.view(np.uint64)
    low_low_sum = int(np.sum(low_low >> np.uint64(_LIMB_BITS))) * (1 << _LIMB_BITS) + int(
        np.sum(low_low & np.uint64(_LIMB_MASK))
    )
    return (high_high << (2 * _LIMB_BITS)) + (cross << _LIMB_BITS) + low_low_sum


# -- run-length columns without GROUP BY --------------------------------------------


def _reduce_runs(column: RunColumn, plan: _ArgumentPlan) -> _ColumnState:
    """Reduce a run-length column to one group without expanding its runs.

    The runs cover exactly the non-NULL rows, so the NULL mask is not read.
    """
    lengths = column.run_lengths.astype(np.int64)
    values = _storage_values(column.run_values)
    state = _ColumnState(np.array([int(lengths.sum())], dtype=np.int64))

    if plan.wants_sum:
        if plan.exact_sum:
            state.limbs = _limbs_from_int(_exact_dot(values.astype(np.int64), lengths))
        else:
            # NOTE: value x length per run, so the float rounding differs from a row-by-row sum.
            state.float_sum = np.array([np.dot(values.astype(np.float64), lengths.astype(np.float64))])

    occurring = values[lengths > 0]
    for kind in ("min", "max"):
        if not (plan.wants_min if kind == "min" else plan.wants_max):
            continue
        if len(occurring):
            extreme = _extreme_ufunc(kind, occurring.dtype).reduce(occurring, keepdims=True)
        else:
            extreme = np.zeros(1, dtype=values.dtype)  # a placeholder: the count is 0
        if kind == "min":
            state.minimum = extreme
        else:
            state.maximum = extreme
    return state


# -- merging partials -----------------------------------------------------------------


def _merge(spec: AggregateSpec, arguments: tuple[_ArgumentPlan, ...], partials: list[_Partial]) -> _Partial:
    """Concatenate partials and group them again, so each group appears once, in key order."""
    keys = [
        ColumnData(
            np.concatenate([partial.keys[index].values for partial in partials]),
            np.concatenate([partial.keys[index].nulls for partial in partials]),
        )
        for index in range(len(spec.group_by))
    ]
    rows = np.concatenate([partial.rows for partial in partials])
    if keys:
        grouping = _group_rows([_key_codes(column, ordered=True) for column in keys], len(rows))
        first_rows = grouping.first_rows()
        keys = [_key_values(column, first_rows) for column in keys]
    else:
        grouping = _Grouping.single(len(rows))

    states = {}
    for plan in arguments:
        parts = [partial.states[plan.column] for partial in partials]
        states[plan.column] = _merge_states(parts, grouping)
    return _Partial(keys, np.add.reduceat(grouping.sort(rows), grouping.starts), states)


def _merge_states(parts: list[_ColumnState], grouping: _Grouping) -> _ColumnState:
    def gathered(field: str) -> np.ndarray:
        return grouping.sort(np.concatenate([getattr(part, field) for part in parts]))

    counts = gathered("count")
    state = _ColumnState(np.add.reduceat(counts, grouping.starts))
    if parts[0].limbs is not None:
        summed = [
            np.add.reduceat(grouping.sort(np.concatenate([part.limbs[index] for part in parts])), grouping.starts)
            for index in range(3)
        ]
        state.limbs = _carry_limbs(*summed)
    if parts[0].float_sum is not None:
        state.float_sum = np.add.reduceat(gathered("float_sum"), grouping.starts)
    empty = counts == 0
    if parts[0].minimum is not None:
        state.minimum = _segment_extreme("min", gathered("minimum"), empty, grouping)
    if parts[0].maximum is not None:
        state.maximum = _segment_extreme("max", gathered("maximum"), empty, grouping)
    return state


def _empty_partial(spec: AggregateSpec, arguments: tuple[_ArgumentPlan, ...], groups: int) -> _Partial:
    """Build a partial of ``groups`` groups that saw no rows."""
    zeros = np.zeros(groups, dtype=np.int64)
    keys = [
        ColumnData(np.zeros(groups, dtype=column.type.storage_dtype), np.ones(groups, dtype=bool))
        for column in spec.group_by
    ]
    states = {}
    for plan in arguments:
        state = _ColumnState(zeros.copy())
        if plan.wants_sum and plan.exact_sum:
            state.limbs = (zeros.copy(), zeros.copy(), zeros.copy())
        elif plan.wants_sum:
            state.float_sum = np.zeros(groups)
        if plan.wants_min:
            state.minimum = np.zeros(groups, dtype=plan.type.storage_dtype)
        if plan.wants_max:
            state.maximum = np.zeros(groups, dtype=plan.type.storage_dtype)
        states[plan.column] = state
    return _Partial(keys, zeros, states)


# -- the result --------------------------------------------------------------------------


class AggregateResult:
    """The groups of an aggregate query, in key order.

    :meth:`Accumulator.result` builds it. ``names`` lists the group columns,
    then the aggregates. ``rows`` contains one tuple per group in Python form
    (see the module docstring for the type of each aggregate), with None for
    NULL.
    """

    def __init__(self, names: list[str], values: list[list[Any]], dtypes: list[np.dtype]) -> None:
        self.names = names
        self._values = values  # one list of Python values per output column
        self._dtypes = dtypes
        self._rows: list[tuple[Any, ...]] | None = None

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """One tuple per group: the key values, then the aggregates."""
        if self._rows is None:
            self._rows = list(zip(*self._values))
        return self._rows

    def __len__(self) -> int:
        return len(self._values[0]) if self._values else 0

    def columns(self) -> dict[str, np.ndarray]:
        """Return one numpy array per output column, keyed by name.

        Counts and integer sums that fit are int64. Floats and averages of
        integers are float64, bools bool and dates ``datetime64[D]``. Other
        columns are object arrays of their Python form: decimals, text,
        blobs, timestamps (aware ``datetime``) and integer sums beyond int64.
        A column with a NULL is an object array with None at those positions.
        """
        arrays: dict[str, np.ndarray] = {}
        for name, values, dtype in zip(self.names, self._values, self._dtypes):
            arrays[name] = _column_array(values, dtype)
        return arrays

    def __repr__(self) -> str:
        return f"AggregateResult(names={self.names!r}, groups={len(self)})"


def _column_array(values: list[Any], dtype: np.dtype) -> np.ndarray:
    if dtype != object and not any(value is None for value in values):
        try:
            return np.array(values, dtype=dtype)
        except OverflowError:
            pass  # an integer sum beyond int64
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _build_result(spec: AggregateSpec, merged: _Partial) -> AggregateResult:
    """Convert the final states to Python-form columns."""
    values: list[list[Any]] = []
    dtypes: list[np.dtype] = []
    for column, key in zip(spec.group_by, merged.keys):
        values.append(_python_values(column.type, key.values, key.nulls))
        dtypes.append(_python_dtype(column.type))

    for call in spec.calls:
        if call.column is None:
            values.append(merged.rows.tolist())
            dtypes.append(np.dtype(np.int64))
            continue
        assert call.type is not None
        state = merged.states[call.column]
        empty = state.count == 0
        if call.function == "count":
            values.append(state.count.tolist())
            dtypes.append(np.dtype(np.int64))
        elif call.function in ("min", "max"):
            extremes = state.minimum if call.function == "min" else state.maximum
            assert extremes is not None
            values.append(_python_values(call.type, extremes, empty))
            dtypes.append(_python_dtype(call.type))
        elif call.function == "sum":
            values.append(_sum_values(call.type, state))
            dtypes.append(np.dtype(np.float64) if call.type.is_float else _python_dtype(call.type))
        else:
            values.append(_average_values(call.type, state))
            dtypes.append(np.dtype(object) if call.type.base == "decimal" else np.dtype(np.float64))
    return AggregateResult(spec.names, values, dtypes)


def _python_dtype(ctype: ColumnType) -> np.dtype:
    """Return the dtype that :meth:`AggregateResult.columns` gives values of ``ctype``."""
    if ctype.base == "date":
        return np.dtype("datetime64[D]")
    if ctype.base == "bool":
        return np.dtype(bool)
    if ctype.base in ("decimal", "timestamp") or not ctype.is_fixed:
        return np.dtype(object)
    return np.dtype(np.int64) if ctype.is_integer_like else np.dtype(np.float64)


def _python_values(ctype: ColumnType, storage: np.ndarray, nulls: np.ndarray) -> list[Any]:
    """Convert storage-form values to Python form, with None where ``nulls`` is set.

    Values at NULL positions are placeholders (the identity of a min, say),
    which may lie outside the type's range, so they are never converted.
    """
    values = storage.tolist()
    flags = nulls.tolist()
    if ctype.base == "decimal":
        scale = ctype.scale
        return [None if null else _scaled_decimal(value, scale) for value, null in zip(values, flags)]
    if ctype.base in ("bool", "date", "timestamp"):
        convert = ctype.from_storage
        return [None if null else convert(value) for value, null in zip(values, flags)]
    # Numbers, text and blobs have the same storage and Python form.
    return [None if null else value for value, null in zip(values, flags)]


def _sum_values(ctype: ColumnType, state: _ColumnState) -> list[Any]:
    counts = state.count.tolist()
    if state.float_sum is not None:
        return [None if count == 0 else total for total, count in zip(state.float_sum.tolist(), counts)]
    assert state.limbs is not None
    totals = _limbs_to_ints(state.limbs)
    if ctype.base == "decimal":
        return [None if count == 0 else _scaled_decimal(total, ctype.scale) for total, count in zip(totals, counts)]
    return [None if count == 0 else total for total, count in zip(totals, counts)]


def _average_values(ctype: ColumnType, state: _ColumnState) -> list[Any]:
    counts = state.count.tolist()
    if state.float_sum is not None:
        return [None if count == 0 else total / count for total, count in zip(state.float_sum.tolist(), counts)]
    assert state.limbs is not None
    totals = _limbs_to_ints(state.limbs)
    if ctype.base != "decimal":
        # CPython rounds int / int correctly, however large the sum.
        return [None if count == 0 else total / count for total, count in zip(totals, counts)]
    scale = 10**AVG_EXTRA_DIGITS
    digits = ctype.scale + AVG_EXTRA_DIGITS
    return [
        None if count == 0 else _scaled_decimal(_divide_half_even(total * scale, count), digits)
        for total, count in zip(totals, counts)
    ]


def _scaled_decimal(scaled: int, scale: int) -> decimal.Decimal:
    """Return ``scaled / 10**scale`` as a Decimal with exactly ``scale`` digits after the point."""
    # Decimal parses a string exactly, whatever the context's precision.
    return decimal.Decimal(f"{scaled}E-{scale}")


def _divide_half_even(numerator: int, denominator: int) -> int:
    """Divide and round to an integer, ties to even. ``denominator`` must be positive."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient
