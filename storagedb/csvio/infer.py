"""Infer column types from the first batch of a file.

Each column gets the first of these types that every non-NULL value of the
sample fits, trying them in this order:

1. ``bool``: only ``true`` and ``false``, in any case.
2. ``int64``: integers that fit in 64 bits. A column of integers with one
   beyond that range becomes ``text``, which keeps every digit. Float64
   would round such values (often identifiers) to nearby numbers.
3. ``decimal(18,s)``: plain fixed-point numbers such as ``24386.67``, where
   ``s`` is the most digits after the point in the sample and no value needs
   more than 18 digits in all.
4. ``float64``: any other number, including exponents, ``nan`` and ``inf``.
5. ``date``: ``YYYY-MM-DD``.
6. ``timestamp``: ISO 8601 date and time (a bare date counts as one).
7. ``text``: anything else, and any column without a non-NULL value.

Dates and timestamps are chosen by shape: once every value looks like one,
a value that is not a real day (``1996-02-30``) is an error, not a reason
to fall back to text. The same applies to a float literal too large for
float64.

The sample arrives chunk by chunk, and each chunk is converted while its
bytes are still in the CPU caches. A column keeps its current guess until a
chunk contradicts it. Then the guess moves down the list, and the column's
earlier chunks are converted again. Int64 and decimal chunks widen in place
instead, because multiplying scaled values by a power of ten is exact.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..types import ColumnType, parse_type
from .convert import convert_column
from .datetimes import parse_date, parse_timestamp
from .numbers import POW10, fixed_point_to_decimal, fixed_point_to_integer, parse_bool, parse_fixed_point, parse_float
from .spans import SYNTAX, ColumnSpans, ValueProblem

__all__ = ["ColumnInference", "Converted"]

#: Storage-form values and NULL mask (None without NULLs) of one chunk.
Converted = tuple[np.ndarray, np.ndarray | None]

TEXT = parse_type("text")
BOOL = parse_type("bool")
INT64 = parse_type("int64")
FLOAT64 = parse_type("float64")
DATE = parse_type("date")
TIMESTAMP = parse_type("timestamp")
#: Decimals are stored as int64, so 18 digits always fit (10**18 < 2**63).
INFERRED_DECIMAL_PRECISION = 18
#: Non-NULL values that each candidate type parses first, so that most
#: wrong candidates are rejected without parsing a whole chunk.
PROBE_ROWS = 64

# Candidate kinds in the order they are tried. "number" covers int64 and
# decimal(18,s).
KINDS = ("bool", "number", "float", "date", "timestamp", "text")


class _Widen(Exception):
    """A number of the current kind's form that needs a wider type, so the next kind is tried."""


class _IntegerTooLarge(Exception):
    """An integer outside int64 in an integer column, which only text keeps exact."""


class ColumnInference:
    """Infer one column's type chunk by chunk, converting every chunk on the way.

    ``column_spans(i)`` returns the column's spans in chunk i; chunks that
    were already added are read again when the guess changes.
    """

    def __init__(self, column_spans: Callable[[int], ColumnSpans]) -> None:
        self._column_spans = column_spans
        self._kind: str | None = None  # None until a non-NULL value is seen
        self._scale: int | None = None  # number kind: None for int64, else the decimal scale
        self._converted: list[Converted | None] = []  # None for a chunk of NULLs seen before any value

    def add(self, spans: ColumnSpans) -> None:
        """Convert the next chunk, widening the guessed type if the chunk needs it.

        Raises:
            ValueProblem: a value of the guessed form but invalid (a date
                that does not exist); its ``chunk`` gives the chunk's index.
        """
        index = len(self._converted)
        if self._kind is None:
            if spans.empty().all():
                self._converted.append(None)
                return
            self._kind = _first_fitting_kind(spans, KINDS)
        self._converted.append(None)
        while True:
            try:
                self._converted[index] = self._convert(spans, index)
                return
            except (_Widen, _SyntaxMismatch):
                self._advance(index)
            except _IntegerTooLarge:
                self._advance(index, to_text=True)

    def finish(self) -> tuple[ColumnType, list[Converted]]:
        """Return the inferred type and each chunk's converted values."""
        ctype = self.column_type()
        converted = []
        for index, chunk in enumerate(self._converted):
            if chunk is None:
                # Only NULLs, seen before the column's first value.
                chunk = convert_column(self._column_spans(index), ctype)
            converted.append(chunk)
        return ctype, converted

    def column_type(self) -> ColumnType:
        if self._kind in (None, "text"):
            return TEXT
        if self._kind == "number":
            if self._scale is None:
                return INT64
            return ColumnType("decimal", INFERRED_DECIMAL_PRECISION, self._scale)
        return {"bool": BOOL, "float": FLOAT64, "date": DATE, "timestamp": TIMESTAMP}[self._kind]

    # -- guesses ---------------------------------------------------------------

    def _advance(self, failed_index: int, to_text: bool = False) -> None:
        """Move to the next kind (or straight to text) and convert the earlier chunks again."""
        if to_text:
            position = KINDS.index("text")
        else:
            position = KINDS.index(self._kind) + 1
        self._scale = None
        while True:
            self._kind = _first_fitting_kind(self._column_spans(failed_index), KINDS[position:])
            try:
                for index in range(failed_index):
                    if self._converted[index] is not None:
                        self._converted[index] = self._convert(self._column_spans(index), index)
                return
            except (_Widen, _SyntaxMismatch, _IntegerTooLarge):
                position = KINDS.index(self._kind) + 1
                self._scale = None

    def _convert(self, spans: ColumnSpans, index: int) -> Converted:
        """Convert one chunk as the current kind.

        Raises:
            _SyntaxMismatch: a value without the kind's form.
            _Widen: a number that needs a wider type than the kind allows.
            ValueProblem: a value of the kind's form that is invalid.
        """
        if self._kind == "text":
            try:
                return convert_column(spans, TEXT)
            except ValueProblem as problem:
                problem.chunk = index
                raise
        nulls = spans.empty()
        try:
            if self._kind == "number":
                values = self._convert_number(spans, nulls, index)
            elif self._kind == "bool":
                values = parse_bool(spans, nulls, strict=True)
            elif self._kind == "float":
                values = parse_float(spans, nulls, FLOAT64)
            elif self._kind == "date":
                values = parse_date(spans, nulls)
            else:
                values = parse_timestamp(spans, nulls)
        except ValueProblem as problem:
            if problem.kind == SYNTAX:
                raise _SyntaxMismatch from None
            problem.chunk = index
            raise
        return values, (nulls if nulls.any() else None)

    def _convert_number(self, spans: ColumnSpans, nulls: np.ndarray, index: int) -> np.ndarray:
        number = parse_fixed_point(spans, nulls, "number")
        live = ~nulls
        if self._scale is None and not (number.has_point & live).any():
            try:
                return fixed_point_to_integer(number, INT64)
            except ValueProblem:
                raise _IntegerTooLarge from None
        if number.too_long.any():
            raise _Widen

        # A decimal: raise the scale of the earlier chunks when this one has
        # more digits after the point.
        scale = int(number.fraction_digits[live].max(initial=0))
        if self._scale is not None:
            scale = max(scale, self._scale)
        if scale > INFERRED_DECIMAL_PRECISION:
            raise _Widen
        if scale != self._scale:
            self._rescale_earlier(index, scale)
        try:
            return fixed_point_to_decimal(number, INFERRED_DECIMAL_PRECISION, scale)
        except ValueProblem:
            raise _Widen from None

    def _rescale_earlier(self, index: int, scale: int) -> None:
        """Multiply the int64 or decimal values of chunks before ``index`` up to ``scale``.

        Raises:
            _Widen: a value that would need more than 18 digits.
        """
        factor = int(POW10[scale - (self._scale or 0)])
        limit = 10**INFERRED_DECIMAL_PRECISION // factor
        rescaled = []
        for chunk in self._converted[:index]:
            if chunk is None:
                rescaled.append(None)
                continue
            values, nulls = chunk
            if values.size and max(-int(values.min()), int(values.max())) >= limit:
                raise _Widen
            rescaled.append((values * factor, nulls))
        self._converted[:index] = rescaled
        self._scale = scale


class _SyntaxMismatch(Exception):
    """A value in the chunk does not have the current kind's form."""


def _first_fitting_kind(spans: ColumnSpans, kinds: tuple[str, ...]) -> str:
    """Return the first kind whose parser accepts the first PROBE_ROWS non-NULL values."""
    rows = np.flatnonzero(~spans.empty())[:PROBE_ROWS]
    probe = spans.take(rows)
    nulls = np.zeros(rows.size, dtype=bool)
    for kind in kinds:
        if kind == "text" or _probe_fits(kind, probe, nulls):
            return kind
    return "text"


def _probe_fits(kind: str, probe: ColumnSpans, nulls: np.ndarray) -> bool:
    try:
        if kind == "bool":
            parse_bool(probe, nulls, strict=True)
        elif kind == "number":
            parse_fixed_point(probe, nulls, "number")
        elif kind == "float":
            parse_float(probe, nulls, FLOAT64)
        elif kind == "date":
            parse_date(probe, nulls)
        else:
            parse_timestamp(probe, nulls)
    except ValueProblem as problem:
        # A value of the right form but out of range still fits the kind;
        # converting the chunk reports it with its real row.
        return problem.kind != SYNTAX
    return True
