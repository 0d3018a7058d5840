"""Row predicates: the ``where=`` expressions of scans.

A user builds a :class:`Predicate` from :func:`col`, comparison operators and
``&``, ``|``, ``~``::

    >>> from storagedb.predicate import col
    >>> (col("qty") > 10) & ~col("note").is_null()
    (col('qty') > 10) & (~(col('note').is_null()))

The engine then binds it to a table's schema (:meth:`Predicate.bind`), which
checks the column names and converts every literal to the column's storage
form. The resulting :class:`BoundPredicate` evaluates column batches, and
decides from zone statistics whether a zone (a page, column chunk or
segment) can contain a matching row.

Semantics
---------

*NULL.* SQL three-valued logic. A comparison with NULL is *unknown*, ``AND``,
``OR`` and ``NOT`` follow Kleene's tables, and a scan selects only the rows
whose predicate is TRUE. ``NOT unknown`` is unknown, so ``~(col("x") == 3)``
does not select rows where ``x`` is NULL. ``x IN (1, NULL)`` is TRUE where
``x = 1`` and unknown elsewhere, never FALSE.

*NaN.* Floats follow IEEE 754 as numpy does. NaN is not NULL: ``=``, ``<``,
``<=``, ``>``, ``>=`` with NaN are FALSE and ``!=`` is TRUE, so ``x != 3`` and
``~(x == 3)`` both select NaN rows. ``-0.0 == 0.0``.

*Exact literals.* A literal is compared with the stored value as an exact
number, even when the column's storage form cannot hold it. Binding rewrites
such a comparison into an equivalent one on a storage-form value:

========================================  =====================================
written                                   evaluated as
========================================  =====================================
int column ``x < 2.5``                    ``x <= 2``
int64 column ``x > 10**30``               FALSE for every non-NULL row
decimal(12,2) ``x < 0.055``               ``x_scaled <= 5``
decimal(12,2) ``x == 0.055``              FALSE for every non-NULL row
float32 column ``x < 0.1``                ``x <= 0.099999994``, the float32
                                          below the float64 literal 0.1
date column ``x < '1994-01-01 12:00'``    ``x <= 1994-01-01``
========================================  =====================================

How each literal kind is read:

* int, ``Fraction``: its exact value.
* float (Python or numpy): its exact binary value, except against a decimal
  column, where it means the decimal it prints as (``0.05`` is 5/100, not
  0.05000000000000000277), as :meth:`ColumnType.to_storage` reads it.
* ``Decimal`` and numeric strings: exact, except against a float column,
  where they mean the nearest float64, as a float literal in Python source
  does. So ``x == Decimal("0.1")`` matches a float64 column's 0.1.
* date columns take ``datetime.date``, ISO date strings, and timestamps
  (``datetime``, ISO strings, ``numpy.datetime64``), against which a date is
  midnight UTC. Timestamp columns take the same; a naive ``datetime`` is UTC.
* text takes ``str`` (or UTF-8 ``bytes``), blob takes ``bytes`` (or ``str``,
  encoded as UTF-8, since the CLI has no bytes literal), bool takes
  ``True``/``False``, 0/1 and the words ``true``/``false``.

Text compares by Unicode code point (Python ``str`` order, which is UTF-8 byte
order) and blobs by bytes.

Evaluation
----------

:meth:`BoundPredicate.evaluate` works on whole numpy arrays. Each node
returns two masks: *true* (the row satisfies it) and *maybe* (TRUE or
unknown, i.e. not FALSE); unknown rows are ``maybe & ~true``. Then
``AND`` is ``&`` of both masks, ``OR`` is ``|``, and ``NOT`` swaps them and
inverts each. When a subtree has no unknown row, *maybe* is ``None`` and
equals *true*. A :class:`~storagedb.batch.DictionaryColumn` is evaluated on
its codes (a comparison becomes a code range found with ``np.searchsorted``),
and a :class:`~storagedb.batch.RunColumn` once per run.

Zone maps
---------

:meth:`BoundPredicate.may_match` decides whether any row of a zone can
satisfy the predicate, given a :class:`ZoneStats` per column. For each node
it computes two flags: whether the node can be TRUE for some row, and whether
it can be FALSE for some row. ``AND`` can be TRUE only if both children can
be, and FALSE if either can be. ``OR`` is the dual, and ``NOT`` swaps the
flags. An unknown row makes neither flag true. The result is sound: False
only when no row can match. NaN rows make comparisons FALSE (``!=`` TRUE),
so a zone with NaN is never skipped for ``x != 3`` or ``NOT (x = 3)``.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import decimal
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from .batch import AnyColumn, DictionaryColumn, RunColumn
from .errors import PredicateError
from .schema import Column, Schema
from .types import EPOCH_DATE, EPOCH_DATETIME

__all__ = [
    "col",
    "ColumnRef",
    "Predicate",
    "Comparison",
    "InList",
    "IsNull",
    "And",
    "Or",
    "Not",
    "BoundPredicate",
    "ZoneStats",
    "zone_stats",
    "StorageTest",
    "normalize_comparison",
]

#: The comparison operators, by their Python spelling.
OPERATORS = ("==", "!=", "<", "<=", ">", ">=")

_NO_TRUTH_VALUE = (
    "a predicate has no truth value: combine comparisons with & (and), | (or) "
    "and ~ (not), with each comparison in parentheses, as in "
    "(col('a') > 1) & (col('b') < 2). Python's and, or, not and chained "
    "comparisons such as 1 < col('a') < 5 cannot be used; write "
    "col('a').between(...) or (1 < col('a')) & (col('a') < 5)"
)


# -- the expressions users write ----------------------------------------------


def col(name: str) -> ColumnRef:
    """Refer to a column by name, to compare it with literals.

    Example:
        >>> col("l_quantity") < 24
        col('l_quantity') < 24

    Raises:
        PredicateError: ``name`` is not a non-empty string.
    """
    if not isinstance(name, str) or not name:
        raise PredicateError(f"col() takes a column name as a non-empty string, not {name!r}")
    return ColumnRef(name)


class ColumnRef:
    """A column named in a predicate. Comparing it with a literal gives a :class:`Predicate`.

    Example:
        >>> col("a").isin([1, 2]) | col("a").is_null()
        (col('a').isin([1, 2])) | (col('a').is_null())

    Raises:
        PredicateError: on comparison with ``None``, another column, or a
            value that is not a literal. Also on ``bool()``, ``&``, ``|`` or
            ``~`` applied to the column itself.
    """

    __slots__ = ("name",)

    # A numpy scalar on the left of a comparison (np.int64(5) < col("a")) would
    # otherwise wrap the column in an object array. None makes numpy return
    # NotImplemented, so Python calls the reflected method here.
    __array_ufunc__ = None

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"col({self.name!r})"

    def _compare(self, op: str, value: Any) -> Comparison:
        return Comparison(self.name, op, _check_literal(value, self.name, op))

    def __eq__(self, value: Any) -> Comparison:  # type: ignore[override]
        return self._compare("==", value)

    def __ne__(self, value: Any) -> Comparison:  # type: ignore[override]
        return self._compare("!=", value)

    def __lt__(self, value: Any) -> Comparison:
        return self._compare("<", value)

    def __le__(self, value: Any) -> Comparison:
        return self._compare("<=", value)

    def __gt__(self, value: Any) -> Comparison:
        return self._compare(">", value)

    def __ge__(self, value: Any) -> Comparison:
        return self._compare(">=", value)

    __hash__ = None  # type: ignore[assignment]

    # Arithmetic builds an expression for aggregates (see expression.py).

    def _expression(self):
        from .expression import ColumnValue

        return ColumnValue(self.name)

    def __add__(self, other: Any):
        return self._expression() + other

    def __radd__(self, other: Any):
        return other + self._expression()

    def __sub__(self, other: Any):
        return self._expression() - other

    def __rsub__(self, other: Any):
        return other - self._expression()

    def __mul__(self, other: Any):
        return self._expression() * other

    def __rmul__(self, other: Any):
        return other * self._expression()

    def __neg__(self):
        return -self._expression()

    def isin(self, values: Iterable[Any]) -> InList:
        """Select rows whose value equals one of ``values`` (SQL ``IN``).

        A ``None`` in ``values`` is a NULL: it never matches, and it turns
        FALSE into unknown, so ``~col("x").isin([1, None])`` selects nothing.

        Example:
            >>> col("mode").isin(["AIR", "MAIL"])
            col('mode').isin(['AIR', 'MAIL'])

        Raises:
            PredicateError: ``values`` is a single string or not iterable, or
                contains something that is not a literal.
        """
        if isinstance(values, (str, bytes, bytearray, np.str_, np.bytes_)):
            raise PredicateError(
                f"col({self.name!r}).isin() takes a list of values, not the single value {values!r}; "
                f"write col({self.name!r}).isin([{values!r}]) or use =="
            )
        try:
            items = list(values)
        except TypeError:
            raise PredicateError(
                f"col({self.name!r}).isin() takes a list of values, not {type(values).__name__}"
            ) from None
        checked = tuple(None if item is None else _check_literal(item, self.name, "isin") for item in items)
        return InList(self.name, checked)

    def is_null(self) -> IsNull:
        """Select rows where the column is NULL (never unknown)."""
        return IsNull(self.name, negated=False)

    def is_not_null(self) -> IsNull:
        """Select rows where the column is not NULL (NaN is not NULL)."""
        return IsNull(self.name, negated=True)

    def between(self, low: Any, high: Any) -> And:
        """Select rows with ``low <= value <= high`` (SQL ``BETWEEN``, bounds included).

        Example:
            >>> col("d").between(1, 5)
            (col('d') >= 1) & (col('d') <= 5)

        Raises:
            PredicateError: a bound is not a literal.
        """
        return And((self._compare(">=", low), self._compare("<=", high)))

    def __bool__(self) -> bool:
        raise PredicateError(f"col({self.name!r}) has no truth value; compare it with a value, as in col({self.name!r}) > 0")

    def _no_logic(self, *_: Any) -> Any:
        raise PredicateError(
            f"& | ~ combine predicates, not the column col({self.name!r}); & and | bind tighter than "
            f"comparisons, so put each comparison in parentheses: (col({self.name!r}) == 1) & (...)"
        )

    __and__ = __rand__ = __or__ = __ror__ = __invert__ = _no_logic


_LITERAL_TYPES = (
    bool,
    int,
    float,
    decimal.Decimal,
    Fraction,
    str,
    bytes,
    _dt.date,
    np.integer,
    np.floating,
    np.bool_,
    np.datetime64,
)


def _check_literal(value: Any, column: str, op: str) -> Any:
    """Check that ``value`` can be a literal and return it in a plain form."""
    if value is None:
        raise PredicateError(
            f"col({column!r}) {op} None is never TRUE in SQL (a comparison with NULL is unknown); "
            f"use col({column!r}).is_null() or col({column!r}).is_not_null()"
        )
    if isinstance(value, ColumnRef):
        raise PredicateError(
            f"comparing column {column!r} with column {value.name!r} is not supported; compare a column with a literal value"
        )
    if isinstance(value, Predicate):
        raise PredicateError(
            f"col({column!r}) {op} was given a predicate ({value!r}); put each comparison in parentheses"
        )
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bytearray, memoryview, np.bytes_)):
        return bytes(value)
    if isinstance(value, np.str_):
        return str(value)
    if not isinstance(value, _LITERAL_TYPES):
        hint = "; use isin() for a list of values" if isinstance(value, (list, tuple, set, np.ndarray)) else ""
        raise PredicateError(
            f"col({column!r}) {op} {value!r}: values of type {type(value).__name__} cannot be literals; "
            f"use an int, float, Decimal, str, bytes, bool, date or datetime{hint}"
        )
    return value


class Predicate:
    """Base class of the where-expressions: combine them with ``&``, ``|`` and ``~``.

    Example:
        >>> pred = (col("a") == 1) | ~(col("b") <= "x")
        >>> sorted(pred.columns)
        ['a', 'b']

    Raises:
        PredicateError: from ``bool()`` (and so from ``and``, ``or``, ``not``
            and chained comparisons), and from ``&`` or ``|`` with something
            that is not a predicate.
    """

    __slots__ = ()
    __array_ufunc__ = None

    @property
    def columns(self) -> frozenset[str]:
        """Names of the columns the predicate reads."""
        raise NotImplementedError

    def bind(self, schema: Schema) -> BoundPredicate:
        """Check column names against ``schema`` and convert literals to storage form.

        Example:
            >>> from storagedb.schema import Schema
            >>> schema = Schema.build([("price", "decimal(12,2)")])
            >>> (col("price") < 0.055).bind(schema)
            BoundPredicate(price <= 5)

        Raises:
            PredicateError: a column is not in the schema (the message lists
                the table's columns), or a literal cannot be compared with its
                column's type (the message names column, type and literal).
        """
        return BoundPredicate(self._bind(schema), self)

    def _bind(self, schema: Schema) -> _BoundNode:
        raise NotImplementedError

    def __and__(self, other: Any) -> And:
        return And((self, _check_operand(other, "&")))

    def __rand__(self, other: Any) -> And:
        return And((_check_operand(other, "&"), self))

    def __or__(self, other: Any) -> Or:
        return Or((self, _check_operand(other, "|")))

    def __ror__(self, other: Any) -> Or:
        return Or((_check_operand(other, "|"), self))

    def __invert__(self) -> Not:
        return Not(self)

    def __bool__(self) -> bool:
        raise PredicateError(_NO_TRUTH_VALUE)


def _check_operand(other: Any, symbol: str) -> Predicate:
    if isinstance(other, Predicate):
        return other
    raise PredicateError(
        f"{symbol} combines predicates, not a {type(other).__name__} ({other!r}); "
        "put each comparison in parentheses, as in (col('a') == 1) & (col('b') == 2)"
    )


@dataclass(frozen=True, repr=False)
class Comparison(Predicate):
    """``column op value``, with ``op`` one of ``== != < <= > >=``."""

    column: str
    op: str
    value: Any

    @property
    def columns(self) -> frozenset[str]:
        return frozenset((self.column,))

    def _bind(self, schema: Schema) -> _BoundNode:
        column = _schema_column(schema, self.column)
        return _BoundComparison(column.name, normalize_comparison(column, self.op, self.value))

    def __repr__(self) -> str:
        return f"col({self.column!r}) {self.op} {self.value!r}"


@dataclass(frozen=True, repr=False)
class InList(Predicate):
    """``column IN values``. A ``None`` in ``values`` is a NULL."""

    column: str
    values: tuple[Any, ...]

    @property
    def columns(self) -> frozenset[str]:
        return frozenset((self.column,))

    def _bind(self, schema: Schema) -> _BoundNode:
        column = _schema_column(schema, self.column)
        storable = []
        has_null = False
        for value in self.values:
            if value is None:
                has_null = True
                continue
            test = normalize_comparison(column, "==", value)
            # A literal that no stored value can equal ('false') matches no row.
            if test.op == "==":
                storable.append(test.value)
        dtype = column.type.storage_dtype
        values = np.unique(np.array(storable, dtype=dtype)) if storable else np.empty(0, dtype=dtype)
        return _BoundInList(column.name, values, has_null)

    def __repr__(self) -> str:
        return f"col({self.column!r}).isin({list(self.values)!r})"


@dataclass(frozen=True, repr=False)
class IsNull(Predicate):
    """``column IS NULL``, or ``IS NOT NULL`` when ``negated``."""

    column: str
    negated: bool = False

    @property
    def columns(self) -> frozenset[str]:
        return frozenset((self.column,))

    def _bind(self, schema: Schema) -> _BoundNode:
        return _BoundIsNull(_schema_column(schema, self.column).name, self.negated)

    def __repr__(self) -> str:
        return f"col({self.column!r}).{'is_not_null' if self.negated else 'is_null'}()"


@dataclass(frozen=True, repr=False)
class And(Predicate):
    """TRUE when every child is TRUE; nested ``And`` nodes are flattened."""

    children: tuple[Predicate, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", _flatten(self.children, And))

    @property
    def columns(self) -> frozenset[str]:
        return frozenset().union(*(child.columns for child in self.children))

    def _bind(self, schema: Schema) -> _BoundNode:
        return _BoundAnd(tuple(child._bind(schema) for child in self.children))

    def __repr__(self) -> str:
        return " & ".join(f"({child!r})" for child in self.children)


@dataclass(frozen=True, repr=False)
class Or(Predicate):
    """TRUE when any child is TRUE; nested ``Or`` nodes are flattened."""

    children: tuple[Predicate, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "children", _flatten(self.children, Or))

    @property
    def columns(self) -> frozenset[str]:
        return frozenset().union(*(child.columns for child in self.children))

    def _bind(self, schema: Schema) -> _BoundNode:
        return _BoundOr(tuple(child._bind(schema) for child in self.children))

    def __repr__(self) -> str:
        return " | ".join(f"({child!r})" for child in self.children)


@dataclass(frozen=True, repr=False)
class Not(Predicate):
    """SQL ``NOT``: TRUE where the child is FALSE. Unknown stays unknown."""

    child: Predicate

    @property
    def columns(self) -> frozenset[str]:
        return self.child.columns

    def _bind(self, schema: Schema) -> _BoundNode:
        return _BoundNot(self.child._bind(schema))

    def __repr__(self) -> str:
        return f"~({self.child!r})"


def _flatten(children: Iterable[Predicate], kind: type) -> tuple[Predicate, ...]:
    flat: list[Predicate] = []
    for child in children:
        if not isinstance(child, Predicate):
            raise PredicateError(f"{kind.__name__} takes predicates, not {child!r}")
        flat.extend(child.children if isinstance(child, kind) else (child,))  # type: ignore[attr-defined]
    if not flat:
        raise PredicateError(f"{kind.__name__} needs at least one predicate")
    return tuple(flat)


def _schema_column(schema: Schema, name: str) -> Column:
    if not schema.has_column(name):
        raise PredicateError(
            f"unknown column {name!r} in the where expression; the table has columns {', '.join(schema.names)}"
        )
    return schema.column(name)


# -- literals to storage form -------------------------------------------------


class StorageTest(NamedTuple):
    """A comparison rewritten on storage-form values.

    ``op`` is one of ``== != < <= > >=``, or ``"true"`` / ``"false"`` for a
    comparison whose result is the same for every non-NULL row (``value`` is
    then None). NULL rows stay unknown either way.
    """

    op: str
    value: Any = None


_ALWAYS_TRUE = StorageTest("true")
_ALWAYS_FALSE = StorageTest("false")

_INTEGER_BOUNDS = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
_US_PER_DAY = 86_400_000_000
_EPOCH_ORDINAL = EPOCH_DATE.toordinal()
# Microseconds per numpy datetime64 unit. Months and years vary in length,
# so they are converted to days first.
_MICROS_PER_UNIT = {
    "W": Fraction(7 * _US_PER_DAY),
    "D": Fraction(_US_PER_DAY),
    "h": Fraction(3_600_000_000),
    "m": Fraction(60_000_000),
    "s": Fraction(1_000_000),
    "ms": Fraction(1_000),
    "us": Fraction(1),
    "μs": Fraction(1),
    "ns": Fraction(1, 10**3),
    "ps": Fraction(1, 10**6),
    "fs": Fraction(1, 10**9),
    "as": Fraction(1, 10**12),
}
_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})

# An exact literal: a Fraction, or a float that is NaN or infinite.
_Exact = Fraction | float


def normalize_comparison(column: Column, op: str, literal: Any) -> StorageTest:
    """Rewrite ``column op literal`` as a test on the column's storage form.

    The rewritten test selects exactly the rows the exact comparison selects
    (see the table in the module docstring).

    Example:
        >>> from storagedb.schema import Column
        >>> from storagedb.types import parse_type
        >>> normalize_comparison(Column("x", parse_type("int32")), "<", 2.5)
        StorageTest(op='<=', value=2)

    Raises:
        PredicateError: the literal cannot be compared with the column's type.
    """
    if op not in OPERATORS:
        raise PredicateError(f"unknown comparison operator {op!r}; expected one of {' '.join(OPERATORS)}")
    ctype = column.type
    base = ctype.base
    if base in _INTEGER_BOUNDS:
        return _normalize_integer(op, _number_literal(column, literal, float_as_text=False), *_INTEGER_BOUNDS[base])
    if base == "decimal":
        exact = _number_literal(column, literal, float_as_text=True)
        if isinstance(exact, Fraction):
            exact *= 10**ctype.scale
        return _normalize_integer(op, exact, *_INTEGER_BOUNDS["int64"])
    if base == "date":
        return _normalize_integer(op, _day_literal(column, literal), *_INTEGER_BOUNDS["int32"])
    if base == "timestamp":
        return _normalize_integer(op, _micros_literal(column, literal), *_INTEGER_BOUNDS["int64"])
    if base == "bool":
        return _normalize_integer(op, Fraction(_bool_literal(column, literal)), 0, 1)
    if ctype.is_float:
        return _normalize_float(op, _float_literal(column, literal), ctype.storage_dtype)
    if base == "text":
        return StorageTest(op, _text_literal(column, literal))
    return StorageTest(op, _blob_literal(column, literal))


def _normalize_integer(op: str, exact: _Exact, low: int, high: int) -> StorageTest:
    """Rewrite ``x op exact`` for integers ``x`` in ``low..high``."""
    if isinstance(exact, float):
        if math.isnan(exact):
            return _ALWAYS_TRUE if op == "!=" else _ALWAYS_FALSE
        # Any value past the domain compares with the domain like an infinity.
        exact = Fraction(high + 1) if exact > 0 else Fraction(low - 1)
    if op in ("==", "!="):
        representable = exact.denominator == 1 and low <= exact <= high
        if op == "==":
            return StorageTest("==", int(exact)) if representable else _ALWAYS_FALSE
        return StorageTest("!=", int(exact)) if representable else _ALWAYS_TRUE
    if op in ("<", "<="):
        # The largest integer that satisfies the comparison.
        bound = math.floor(exact) if op == "<=" else math.ceil(exact) - 1
        if bound >= high:
            return _ALWAYS_TRUE
        return StorageTest("<=", bound) if bound >= low else _ALWAYS_FALSE
    # The smallest integer that satisfies > or >=.
    bound = math.ceil(exact) if op == ">=" else math.floor(exact) + 1
    if bound <= low:
        return _ALWAYS_TRUE
    return StorageTest(">=", bound) if bound <= high else _ALWAYS_FALSE


def _normalize_float(op: str, exact: _Exact, dtype: np.dtype) -> StorageTest:
    """Rewrite ``x op exact`` for floats ``x`` of ``dtype``, NaN included."""
    scalar = dtype.type
    if isinstance(exact, float):
        if math.isnan(exact):
            return _ALWAYS_TRUE if op == "!=" else _ALWAYS_FALSE
        return StorageTest(op, scalar(exact))

    # Find the two neighbouring floats of dtype around exact.
    largest = np.finfo(dtype).max
    if exact > Fraction(float(largest)):
        below, above = largest, scalar(np.inf)
    elif exact < -Fraction(float(largest)):
        below, above = scalar(-np.inf), -largest
    else:
        # float(Fraction) rounds correctly to float64; rounding that again to
        # float32 can land on either neighbour, so check which one it is.
        nearest = scalar(float(exact))
        nearest_exact = Fraction(float(nearest))
        if nearest_exact == exact:
            return StorageTest(op, nearest)
        if nearest_exact < exact:
            below, above = nearest, np.nextafter(nearest, scalar(np.inf))
        else:
            below, above = np.nextafter(nearest, scalar(-np.inf)), nearest

    # exact lies strictly between two adjacent floats, so no float equals it.
    if op == "==":
        return _ALWAYS_FALSE
    if op == "!=":
        return _ALWAYS_TRUE
    if op in ("<", "<="):
        return StorageTest("<=", below)
    return StorageTest(">=", above)


def _mismatch(column: Column, literal: Any, reason: str) -> PredicateError:
    literal_text = repr(literal)
    if len(literal_text) > 80:
        literal_text = literal_text[:77] + "..."
    return PredicateError(
        f"cannot compare column {column.name!r} of type {column.type.name} with {literal_text} "
        f"({type(literal).__name__}): {reason}"
    )


def _number_literal(column: Column, literal: Any, *, float_as_text: bool) -> _Exact:
    """Return the exact value of a numeric literal. NaN and infinities stay floats."""
    if isinstance(literal, (bool, np.bool_)):
        raise _mismatch(column, literal, "a bool is not a number")
    if isinstance(literal, (int, np.integer)):
        return Fraction(int(literal))
    if isinstance(literal, Fraction):
        return literal
    if isinstance(literal, (float, np.floating)):
        if not math.isfinite(literal):
            return float(literal)
        if not float_as_text:
            return Fraction(*literal.as_integer_ratio())
        # str() of a numpy float is the shortest text that reads back as it.
        literal = decimal.Decimal(str(literal))
    if isinstance(literal, str):
        literal = _decimal_text(column, literal)
    if isinstance(literal, decimal.Decimal):
        if literal.is_nan():
            return math.nan
        if literal.is_infinite():
            return math.inf if literal > 0 else -math.inf
        return Fraction(literal)
    raise _mismatch(column, literal, "expected a number")


def _decimal_text(column: Column, text: str) -> decimal.Decimal:
    cleaned = text.strip()
    # Decimal() accepts "1_000", but in a where clause that is more likely a typo.
    if "_" in cleaned:
        raise _mismatch(column, text, "not a number")
    try:
        value = decimal.Decimal(cleaned)
    except decimal.InvalidOperation:
        raise _mismatch(column, text, "not a number") from None
    return decimal.Decimal("NaN") if value.is_snan() else value


def _float_literal(column: Column, literal: Any) -> _Exact:
    if isinstance(literal, str):
        literal = _decimal_text(column, literal)
    if isinstance(literal, decimal.Decimal):
        # Decimal text means the nearest float64, as 0.1 does in Python source.
        literal = float(literal)
    return _number_literal(column, literal, float_as_text=False)


def _day_literal(column: Column, literal: Any) -> Fraction:
    """Return days since 1970-01-01. A timestamp gives a fraction of a day."""
    if isinstance(literal, str):
        try:
            return Fraction(_dt.date.fromisoformat(literal.strip()).toordinal() - _EPOCH_ORDINAL)
        except ValueError:
            pass
        try:
            return _timestamp_text_micros(literal) / _US_PER_DAY
        except ValueError:
            raise _mismatch(column, literal, "expected a date as YYYY-MM-DD") from None
    if isinstance(literal, (_dt.date, np.datetime64)):
        return _micros_literal(column, literal) / _US_PER_DAY
    raise _mismatch(column, literal, "expected a date or a YYYY-MM-DD string")


def _micros_literal(column: Column, literal: Any) -> Fraction:
    """Return microseconds since the Unix epoch (UTC), exactly, so possibly a fraction."""
    if isinstance(literal, str):
        try:
            return _timestamp_text_micros(literal)
        except ValueError:
            raise _mismatch(column, literal, "expected an ISO 8601 timestamp such as 1994-01-01T12:00:00") from None
    if isinstance(literal, _dt.datetime):
        return Fraction(_datetime_micros(literal))
    if isinstance(literal, _dt.date):
        return Fraction((literal.toordinal() - _EPOCH_ORDINAL) * _US_PER_DAY)
    if isinstance(literal, np.datetime64):
        return _datetime64_micros(column, literal)
    raise _mismatch(column, literal, "expected a datetime or an ISO 8601 string")


def _timestamp_text_micros(text: str) -> Fraction:
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    return Fraction(_datetime_micros(_dt.datetime.fromisoformat(cleaned)))


def _datetime_micros(value: _dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    delta = value - EPOCH_DATETIME
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _datetime64_micros(column: Column, value: np.datetime64) -> Fraction:
    if np.isnat(value):
        raise _mismatch(column, value, "NaT is a missing value; use is_null()")
    unit, count = np.datetime_data(value.dtype)
    if unit in ("Y", "M"):
        value = value.astype("datetime64[D]")
        unit, count = "D", 1
    if unit not in _MICROS_PER_UNIT:
        raise _mismatch(column, value, f"datetime64 unit {unit!r} has no fixed length")
    return int(value.astype(np.int64)) * count * _MICROS_PER_UNIT[unit]


def _bool_literal(column: Column, literal: Any) -> int:
    if isinstance(literal, (bool, np.bool_)):
        return int(literal)
    if isinstance(literal, (int, np.integer)) and literal in (0, 1):
        return int(literal)
    if isinstance(literal, str):
        word = literal.strip().lower()
        if word in _TRUE_WORDS:
            return 1
        if word in _FALSE_WORDS:
            return 0
    raise _mismatch(column, literal, "expected true or false")


def _text_literal(column: Column, literal: Any) -> str:
    if isinstance(literal, str):
        try:
            literal.encode("utf-8")
        except UnicodeEncodeError:
            raise _mismatch(column, literal, "not valid Unicode (lone surrogate)") from None
        return literal
    if isinstance(literal, bytes):
        try:
            return literal.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _mismatch(column, literal, f"invalid UTF-8 at byte {exc.start}") from None
    raise _mismatch(column, literal, "expected a string")


def _blob_literal(column: Column, literal: Any) -> bytes:
    if isinstance(literal, bytes):
        return literal
    if isinstance(literal, str):
        try:
            return literal.encode("utf-8")
        except UnicodeEncodeError:
            raise _mismatch(column, literal, "not valid Unicode (lone surrogate)") from None
    raise _mismatch(column, literal, "expected bytes")


# -- zone maps ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneStats:
    """Statistics of one column over one zone (a page, column chunk or segment).

    ``min`` and ``max`` are storage-form bounds of the non-NULL, non-NaN
    values (Python ``int``, ``float``, ``str`` or ``bytes``), None when there
    are no such values. Any bounds with ``min <= value <= max`` keep
    :meth:`BoundPredicate.may_match` sound; exact ones prune most.

    Example:
        >>> zone_stats(np.array([3.0, np.nan, -1.0]))
        ZoneStats(min=-1.0, max=3.0, null_count=0, row_count=3, has_nan=True)
    """

    min: Any
    max: Any
    null_count: int
    row_count: int
    has_nan: bool = False

    @property
    def non_null_count(self) -> int:
        """Number of rows that are not NULL, NaN rows included."""
        return self.row_count - self.null_count

    def merge(self, other: ZoneStats) -> ZoneStats:
        """Return the statistics of the union of two zones of the same column."""
        lows = [value for value in (self.min, other.min) if value is not None]
        highs = [value for value in (self.max, other.max) if value is not None]
        return ZoneStats(
            min(lows) if lows else None,
            max(highs) if highs else None,
            self.null_count + other.null_count,
            self.row_count + other.row_count,
            self.has_nan or other.has_nan,
        )


def zone_stats(values: np.ndarray, nulls: np.ndarray | None = None) -> ZoneStats:
    """Compute the zone statistics of a storage-form array.

    ``nulls`` is a bool mask, True at NULL rows, whose values are ignored.
    Text and blob values (object arrays) get their ``str``/``bytes`` bounds.
    The cost is a min and a max pass, plus one filtering copy when there are
    NULLs or NaNs. There is no Python loop per value.

    Example:
        >>> zone_stats(np.array([5, 0, 9]), np.array([False, True, False]))
        ZoneStats(min=5, max=9, null_count=1, row_count=3, has_nan=False)
    """
    values = _storage_array(np.asarray(values))
    null_count = 0
    present = values
    if nulls is not None:
        null_count = int(np.count_nonzero(nulls))
        if null_count:
            present = values[~np.asarray(nulls, dtype=bool)]
    if len(present) == 0:
        return ZoneStats(None, None, null_count, len(values), False)

    low = present.min()
    has_nan = False
    # min() is NaN exactly when some value is NaN, so the common case pays
    # for no separate isnan pass.
    if present.dtype.kind == "f" and np.isnan(low):
        has_nan = True
        present = present[~np.isnan(present)]
        if len(present) == 0:
            return ZoneStats(None, None, null_count, len(values), True)
        low = present.min()
    high = present.max()
    if present.dtype != object:
        low, high = low.item(), high.item()
    return ZoneStats(low, high, null_count, len(values), has_nan)


# -- bound predicates -----------------------------------------------------------

# A node's evaluation: (true, maybe). true marks rows where the node is TRUE;
# maybe marks rows where it is TRUE or unknown, and is None when it would
# equal true. Invariant: both arrays are new and owned by the caller, and
# they never share memory, so parents may update them in place.
Masks = tuple[np.ndarray, np.ndarray | None]
# A node's zone-map result: (can be TRUE for some row, can be FALSE for some row).
Possible = tuple[bool, bool]

_COMPARE_UFUNCS: dict[str, Callable[..., np.ndarray]] = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}

# An IN list up to this long is tested with one == per value. For 65,536
# int64 rows one == took about 25 µs and np.isin (which sorts) about 110 µs
# whatever the list length (numpy 2.4, one shared AMD EPYC core).
_SMALL_IN_LIST = 8


class _BoundNode:
    __slots__ = ()

    def columns(self) -> set[str]:
        raise NotImplementedError

    def evaluate(self, columns: Mapping[str, AnyColumn], length: int) -> Masks:
        raise NotImplementedError

    def possible(self, zones: Mapping[str, ZoneStats]) -> Possible:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class _BoundLeaf(_BoundNode):
    """A test of one column's values: evaluated on plain values, codes or runs."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def columns(self) -> set[str]:
        return {self.name}

    def evaluate(self, columns: Mapping[str, AnyColumn], length: int) -> Masks:
        column = _lookup(columns, self.name, length)
        if isinstance(column, DictionaryColumn):
            hits = self.match_codes(column.dictionary, np.asarray(column.codes))
        elif isinstance(column, RunColumn):
            run_hits = self.match_values(_storage_array(column.run_values))
            hits = _spread_runs(run_hits, column.run_lengths, column.nulls)
        else:
            hits = self.match_values(_storage_array(column.values))
        return self.apply_nulls(hits, column.nulls, length)

    def match_values(self, values: np.ndarray) -> np.ndarray:
        """Return a new mask of the values that pass, NULL placeholders included."""
        raise NotImplementedError

    def match_codes(self, dictionary: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Return a new mask of the codes whose dictionary entry passes."""
        raise NotImplementedError

    def apply_nulls(self, hits: np.ndarray, nulls: np.ndarray | None, length: int) -> Masks:
        """Make NULL rows unknown: not true, but maybe."""
        if nulls is None:
            return hits, None
        # For bools, hits > nulls is hits & ~nulls without a temporary.
        np.greater(hits, nulls, out=hits)
        return hits, np.logical_or(hits, nulls)


class _BoundComparison(_BoundLeaf):
    __slots__ = ("test",)

    def __init__(self, name: str, test: StorageTest) -> None:
        super().__init__(name)
        self.test = test

    def match_values(self, values: np.ndarray) -> np.ndarray:
        op = self.test.op
        if op == "true":
            return np.ones(len(values), dtype=bool)
        if op == "false":
            return np.zeros(len(values), dtype=bool)
        return _COMPARE_UFUNCS[op](values, _operand(self.test.value))

    def match_codes(self, dictionary: np.ndarray, codes: np.ndarray) -> np.ndarray:
        start, stop, negate = self._code_range(dictionary)
        entry_count = len(dictionary)
        if start >= stop:
            hits = np.zeros(len(codes), dtype=bool)
        elif start == 0 and stop >= entry_count:
            hits = np.ones(len(codes), dtype=bool)
        elif start == 0:
            hits = codes < stop
        elif stop >= entry_count:
            hits = codes >= start
        elif stop == start + 1:
            hits = codes == start
        else:
            hits = codes >= start
            hits &= codes < stop
        if negate:
            np.logical_not(hits, out=hits)
        return hits

    def _code_range(self, dictionary: np.ndarray) -> tuple[int, int, bool]:
        """Return (start, stop, negate): the test passes for codes in start..stop-1, or outside when negate.

        Float dictionaries keep -0.0 and +0.0 as separate entries and put NaN
        entries last. searchsorted treats -0.0 and +0.0 as equal and NaN as
        largest, so the range of entries equal to 0.0 has two codes.
        """
        op, value = self.test
        entry_count = len(dictionary)
        if op == "true":
            return 0, entry_count, False
        if op == "false":
            return 0, 0, False
        numbers_end = entry_count
        if dictionary.dtype.kind == "f":
            numbers_end -= int(np.count_nonzero(np.isnan(dictionary)))
        first = int(np.searchsorted(dictionary, value, side="left"))
        after = int(np.searchsorted(dictionary, value, side="right"))
        if op == "==":
            return first, after, False
        if op == "!=":
            return first, after, True
        if op == "<":
            return 0, first, False
        if op == "<=":
            return 0, after, False
        # NaN entries are greater than every number in searchsorted's order,
        # but x > value is FALSE for them.
        if op == ">":
            return after, numbers_end, False
        return first, numbers_end, False

    def possible(self, zones: Mapping[str, ZoneStats]) -> Possible:
        stats = zones.get(self.name)
        if stats is None:
            return True, True
        if stats.non_null_count <= 0:
            return False, False

        op, value = self.test
        if op == "true":
            return True, False
        if op == "false":
            return False, True

        low, high, nan = stats.min, stats.max, stats.has_nan
        if low is None:
            # Every non-NULL value is NaN: only != is TRUE.
            return op == "!=", op != "!="
        if _is_nan(low) or _is_nan(high):
            # NaN bounds break the contract and compare false with everything,
            # so they prove nothing.
            return True, True

        all_equal = low == high == value
        if op == "==":
            return low <= value <= high, nan or not all_equal
        if op == "!=":
            return nan or not all_equal, low <= value <= high
        if op == "<":
            return low < value, nan or high >= value
        if op == "<=":
            return low <= value, nan or high > value
        if op == ">":
            return high > value, nan or low <= value
        return high >= value, nan or low < value

    def describe(self) -> str:
        op, value = self.test
        if op in ("true", "false"):
            return f"{op.upper()} unless {self.name} IS NULL"
        literal = value.item() if isinstance(value, np.generic) else value
        return f"{self.name} {op} {literal!r}"


class _BoundInList(_BoundLeaf):
    __slots__ = ("values", "has_null")

    def __init__(self, name: str, values: np.ndarray, has_null: bool) -> None:
        super().__init__(name)
        self.values = values  # sorted, distinct, storage form
        self.has_null = has_null

    def match_values(self, values: np.ndarray) -> np.ndarray:
        if len(self.values) == 0:
            return np.zeros(len(values), dtype=bool)
        if len(self.values) <= _SMALL_IN_LIST:
            hits = values == _operand(self.values[0])
            for value in self.values[1:]:
                hits |= values == _operand(value)
            return np.asarray(hits, dtype=bool)
        return np.isin(values, self.values, kind="sort")

    def match_codes(self, dictionary: np.ndarray, codes: np.ndarray) -> np.ndarray:
        entry_count = len(dictionary)
        if entry_count == 0 or len(self.values) == 0:
            return np.zeros(len(codes), dtype=bool)
        # Mark the entries equal to some value (two entries for 0.0: -0.0 and
        # +0.0) with a difference array over entry positions.
        first = np.searchsorted(dictionary, self.values, side="left")
        after = np.searchsorted(dictionary, self.values, side="right")
        steps = np.zeros(entry_count + 1, dtype=np.int64)
        np.add.at(steps, first, 1)
        np.add.at(steps, after, -1)
        member = np.cumsum(steps[:-1]) > 0
        # Codes at NULL rows are placeholders; clipping keeps any value in range.
        return np.take(member, codes, mode="clip")

    def apply_nulls(self, hits: np.ndarray, nulls: np.ndarray | None, length: int) -> Masks:
        if not self.has_null:
            return super().apply_nulls(hits, nulls, length)
        # With a NULL in the list, a row that matches no value is unknown.
        if nulls is not None:
            np.greater(hits, nulls, out=hits)
        return hits, np.ones(length, dtype=bool)

    def possible(self, zones: Mapping[str, ZoneStats]) -> Possible:
        stats = zones.get(self.name)
        if stats is None:
            return True, True
        if stats.non_null_count <= 0:
            return False, False
        low, high = stats.min, stats.max
        candidates = self.values.tolist()
        if low is None:
            # Only NaN values, and NaN equals nothing.
            return False, not self.has_null
        if _is_nan(low) or _is_nan(high):
            return True, True
        position = bisect.bisect_left(candidates, low)
        can_be_true = position < len(candidates) and candidates[position] <= high
        all_in_list = not stats.has_nan and low == high and low in candidates
        return can_be_true, not self.has_null and not all_in_list

    def describe(self) -> str:
        listed = self.values.tolist() + ([None] if self.has_null else [])
        return f"{self.name} IN {listed!r}"


class _BoundIsNull(_BoundLeaf):
    __slots__ = ("negated",)

    def __init__(self, name: str, negated: bool) -> None:
        super().__init__(name)
        self.negated = negated

    def evaluate(self, columns: Mapping[str, AnyColumn], length: int) -> Masks:
        nulls = _lookup(columns, self.name, length).nulls
        if nulls is None:
            hits = np.full(length, self.negated, dtype=bool)
        elif self.negated:
            hits = np.logical_not(nulls)
        else:
            hits = np.array(nulls, dtype=bool)
        return hits, None

    def possible(self, zones: Mapping[str, ZoneStats]) -> Possible:
        stats = zones.get(self.name)
        if stats is None:
            return True, True
        some_null, some_value = stats.null_count > 0, stats.non_null_count > 0
        return (some_value, some_null) if self.negated else (some_null, some_value)

    def describe(self) -> str:
        return f"{self.name} IS {'NOT ' if self.negated else ''}NULL"


class _BoundAnd(_BoundNode):
    __slots__ = ("children",)

    def __init__(self, children: tuple[_BoundNode, ...]) -> None:
        self.children = children

    def columns(self) -> set[str]:
        return set().union(*(child.columns() for child in self.children))

    def evaluate(self, columns: Mapping[str, AnyColumn], length: int) -> Masks:
        true, maybe = self.children[0].evaluate(columns, length)
        for child in self.children[1:]:
            # Once every row is FALSE the rest cannot change the result.
            if not (maybe if maybe is not None else true).any():
                break
            child_true, child_maybe = child.evaluate(columns, length)
            if maybe is not None or child_maybe is not None:
                child_possible = child_maybe if child_maybe is not None else child_true
                if maybe is None:
                    maybe = np.logical_and(true, child_possible)
                else:
                    maybe &= child_possible
            true &= child_true
        return true, maybe

    def possible(self, zones: Mapping[str, ZoneStats]) -> Possible:
        flags = [child.possible(zones) for child in self.children]
        return all(can_true for can_true, _ in flags), any(can_false for _, can_false in flags)

    def describe(self) -> str:
        return " AND ".join(f"({child.describe()})" for child in self.children)


class _BoundOr(_BoundNode):
    __slots__ = ("children",)

    def __init__(self, children: tuple[_BoundNode, ...]) -> None:
        self.children = children

    def columns(self) -> set[str]:
        return set().union(*(child.columns() for child in self.children))

    def evaluate(self, columns: Mapping[str, AnyColumn], length: int) -> Masks:
        true, maybe = self.children[0].evaluate(columns, length)
        for child in self.children[1:]:
            # Once every row is TRUE the rest cannot change the result.
            if true.all():
                return true, None
            child_true, child_maybe = child.evaluate(columns, length)
            if maybe is not None or child_maybe is not None:
                child_possible = child_maybe if child_maybe is not None else child_true
                if maybe is None:
                    maybe = np.logical_or(true, child_possible)
                else:
                    maybe |= child_possible
            true |= child_true
        return true, maybe

    def possible(self, zones: Mapping[str, ZoneStats]) -> Possible:
        flags = [child.possible(zones) for child in self.children]
        return any(can_true for can_true, _ in flags), all(can_false for _, can_false in flags)

    def describe(self) -> str:
        return " OR ".join(f"({child.describe()})" for child in self.children)


class _BoundNot(_BoundNode):
    __slots__ = ("child",)

    def __init__(self, child: _BoundNode) -> None:
        self.child = child

    def columns(self) -> set[str]:
        return self.child.columns()

    def evaluate(self, columns: Mapping[str, AnyColumn], length: int) -> Masks:
        true, maybe = self.child.evaluate(columns, length)
        if maybe is None:
            return np.logical_not(true, out=true), None
        # NOT is TRUE where the child is FALSE (not maybe), and maybe where the
        # child is not TRUE, so unknown rows stay unknown.
        return np.logical_not(maybe, out=maybe), np.logical_not(true, out=true)

    def possible(self, zones: Mapping[str, ZoneStats]) -> Possible:
        can_be_true, can_be_false = self.child.possible(zones)
        return can_be_false, can_be_true

    def describe(self) -> str:
        return f"NOT ({self.child.describe()})"


def _lookup(columns: Mapping[str, AnyColumn], name: str, length: int) -> AnyColumn:
    try:
        column = columns[name]
    except KeyError:
        raise PredicateError(
            f"column {name!r}, which the predicate reads, is missing from the batch; the batch has {sorted(columns)}"
        ) from None
    if len(column) != length:
        raise PredicateError(f"column {name!r} has {len(column)} rows but the batch has {length}")
    return column


def _is_nan(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _storage_array(values: np.ndarray) -> np.ndarray:
    """Return values in storage form. A datetime64 batch array becomes its int64 counts."""
    if values.dtype.kind == "M":
        return values.view(np.int64)
    return values


def _operand(value: Any) -> Any:
    """Wrap a str or bytes literal for a ufunc comparison with an object array.

    A bare str would first become a numpy ``U`` array, which drops trailing
    NUL characters, so ``"a\\x00"`` would compare equal to ``"a"``.
    """
    if isinstance(value, (str, bytes)):
        return np.array(value, dtype=object)
    return value


def _spread_runs(run_hits: np.ndarray, run_lengths: np.ndarray, nulls: np.ndarray | None) -> np.ndarray:
    expanded = np.repeat(run_hits, run_lengths)
    if nulls is None:
        return expanded
    hits = np.zeros(len(nulls), dtype=bool)
    hits[~nulls] = expanded
    return hits


class BoundPredicate:
    """A predicate bound to a schema: its literals are in storage form.

    Build one with :meth:`Predicate.bind`.

    Example:
        >>> from storagedb.batch import ColumnData
        >>> from storagedb.schema import Schema
        >>> bound = (col("x") > 1).bind(Schema.build([("x", "int64")]))
        >>> batch = {"x": ColumnData(np.array([0, 2, 5]), np.array([False, False, True]))}
        >>> bound.evaluate(batch, 3)
        array([False,  True, False])
        >>> bound.may_match({"x": ZoneStats(min=-5, max=1, null_count=0, row_count=10)})
        False
    """

    __slots__ = ("_root", "predicate", "columns")

    def __init__(self, root: _BoundNode, predicate: Predicate) -> None:
        self._root = root
        #: The predicate as written.
        self.predicate = predicate
        #: Names of the columns that evaluate() reads.
        self.columns: frozenset[str] = frozenset(root.columns())

    @property
    def parts(self) -> list["BoundPredicate"]:
        """The AND-ed parts of the predicate, each bound on its own (just itself if it is no AND).

        A row matches exactly when it matches every part, so a scan can
        evaluate them one after another on fewer and fewer rows.
        """
        if isinstance(self._root, _BoundAnd):
            return [BoundPredicate(child, self.predicate) for child in self._root.children]
        return [self]

    def evaluate(self, columns: Mapping[str, AnyColumn], length: int) -> np.ndarray:
        """Return a bool mask of the rows where the predicate is TRUE.

        ``columns`` maps each name in :attr:`columns` to a column of
        ``length`` rows in storage form (``ColumnData``, ``DictionaryColumn``
        or ``RunColumn``). Other entries are ignored. Rows where the
        predicate is FALSE or unknown are False.

        Raises:
            PredicateError: a column the predicate reads is missing, or its
                length is not ``length``.
        """
        true, _ = self._root.evaluate(columns, length)
        return true

    def range_tests(self) -> list[tuple[str, str, Any]]:
        """``(column, op, storage value)`` of every AND-ed plain comparison (``== < <= > >=``).

        A row can match only if every one of these holds, so a scan can rule
        out many zones at once by comparing whole zone-map arrays.
        """
        tests = []
        for part in self.parts:
            node = part._root
            if isinstance(node, _BoundComparison) and node.test.op in ("==", "<", "<=", ">", ">="):
                tests.append((node.name, node.test.op, node.test.value))
        return tests

    def may_match(self, zones: Mapping[str, ZoneStats]) -> bool:
        """Return False only if no row of the zone can satisfy the predicate.

        ``zones`` maps column names to the zone's :class:`ZoneStats`. A
        column without an entry may contain anything.
        """
        can_be_true, _ = self._root.possible(zones)
        return can_be_true

    def __repr__(self) -> str:
        return f"BoundPredicate({self._root.describe()})"
