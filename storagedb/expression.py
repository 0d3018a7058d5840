"""Arithmetic on columns, for aggregates such as ``sum(price * (1 - discount))``.

``col("a") * (1 - col("b"))`` builds an :class:`Expression`. Evaluating it
works on whole storage-form columns with numpy. Binding it to a schema fixes
its result type by these exact rules:

===================================  =======================================
operands                             result
===================================  =======================================
integers only                        int64
any float                            float64
decimals and integers, ``+`` ``-``   decimal(18, max of the scales)
decimals and integers, ``*``         decimal(18, sum of the scales)
===================================  =======================================

Integers count as decimals of scale 0, a ``Decimal`` or numeric string
literal has the scale of its digits, and a float literal makes the result a
float. Decimal results stay scaled int64, so sums of them are exact. A
result that could leave the int64 range, judged from the operands' largest
magnitudes, raises instead of wrapping. NULL in any operand gives NULL.

Example:
    >>> from storagedb import col
    >>> lineitem.aggregate(aggregates={  # doctest: +SKIP
    ...     "revenue": ("sum", col("l_extendedprice") * col("l_discount"))})
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .batch import AnyColumn, ColumnData, plain
from .errors import InvalidValueError, PredicateError, SchemaError
from .schema import Schema
from .types import MAX_DECIMAL_PRECISION, ColumnType

__all__ = ["Expression", "ColumnValue", "Constant", "Arithmetic", "BoundExpression"]

_OPERATORS = ("+", "-", "*")
_INT64_LIMIT = float(2**62)  # headroom below 2**63 for the estimate's rounding


class Expression:
    """An arithmetic expression over columns and constants."""

    __slots__ = ()

    def __add__(self, other: Any) -> "Arithmetic":
        return Arithmetic("+", self, _wrap(other))

    def __radd__(self, other: Any) -> "Arithmetic":
        return Arithmetic("+", _wrap(other), self)

    def __sub__(self, other: Any) -> "Arithmetic":
        return Arithmetic("-", self, _wrap(other))

    def __rsub__(self, other: Any) -> "Arithmetic":
        return Arithmetic("-", _wrap(other), self)

    def __mul__(self, other: Any) -> "Arithmetic":
        return Arithmetic("*", self, _wrap(other))

    def __rmul__(self, other: Any) -> "Arithmetic":
        return Arithmetic("*", _wrap(other), self)

    def __neg__(self) -> "Arithmetic":
        return Arithmetic("-", Constant(0), self)

    def _compare(self, *args: Any) -> Any:
        raise PredicateError("filters compare a column with a constant; an arithmetic expression cannot be filtered")

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare()

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._compare()

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise PredicateError("an expression has no truth value; use it inside aggregate(), e.g. ('sum', expression)")

    def bind(self, schema: Schema) -> "BoundExpression":
        """Fix the result type against ``schema``.

        Raises:
            SchemaError: an unknown column, or an operand of a type that
                arithmetic does not apply to (text, blob, bool, date,
                timestamp).
        """
        return BoundExpression(self, _bind(self, schema))

    @property
    def columns(self) -> frozenset[str]:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class ColumnValue(Expression):
    """The value of one column."""

    name: str

    @property
    def columns(self) -> frozenset[str]:
        return frozenset({self.name})

    def __repr__(self) -> str:
        return f"col({self.name!r})"


@dataclass(frozen=True, eq=False)
class Constant(Expression):
    """A number: int, float, ``Decimal`` or numeric string."""

    value: Any

    @property
    def columns(self) -> frozenset[str]:
        return frozenset()

    def __repr__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, eq=False)
class Arithmetic(Expression):
    """``left op right`` with op one of ``+``, ``-``, ``*``."""

    op: str
    left: Expression
    right: Expression

    @property
    def columns(self) -> frozenset[str]:
        return self.left.columns | self.right.columns

    def __repr__(self) -> str:
        return f"({self.left!r} {self.op} {self.right!r})"


def _wrap(value: Any) -> Expression:
    if isinstance(value, Expression):
        return value
    from .predicate import ColumnRef

    if isinstance(value, ColumnRef):
        return ColumnValue(value.name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, decimal.Decimal, str, np.number)):
        raise PredicateError(f"arithmetic takes columns and numbers, not {value!r}")
    return Constant(value)


# -- binding ---------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """The result type of a bound node: ``int``, ``float`` or ``decimal`` with a scale."""

    name: str
    scale: int = 0


class BoundExpression:
    """An expression with its result type fixed; evaluate it on column batches."""

    def __init__(self, expression: Expression, root: "_Node") -> None:
        self.expression = expression
        self._root = root
        self.columns = expression.columns
        kind = root.kind
        if kind.name == "float":
            self.type = ColumnType("float64")
        elif kind.name == "int":
            self.type = ColumnType("int64")
        else:
            self.type = ColumnType("decimal", MAX_DECIMAL_PRECISION, kind.scale)

    def evaluate(self, columns: Mapping[str, AnyColumn], length: int) -> ColumnData:
        """Evaluate the expression over a batch, in storage form (decimals scaled to ``type.scale``).

        Raises:
            InvalidValueError: the result could leave the int64 range.
        """
        values, nulls = self._root.evaluate({name: plain(columns[name]) for name in self.columns}, length)
        return ColumnData(values, nulls)

    def __repr__(self) -> str:
        return f"BoundExpression({self.expression!r} -> {self.type.name})"


class _Node:
    kind: _Kind

    def evaluate(self, columns: Mapping[str, ColumnData], length: int) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError


class _ColumnNode(_Node):
    def __init__(self, name: str, ctype: ColumnType) -> None:
        self.name = name
        if ctype.is_float:
            self.kind = _Kind("float")
        elif ctype.base == "decimal":
            self.kind = _Kind("decimal", ctype.scale)
        elif ctype.base.startswith("int"):
            self.kind = _Kind("int")
        else:
            raise SchemaError(f"arithmetic does not apply to column {name!r} of type {ctype.name}")

    def evaluate(self, columns, length):
        data = columns[self.name]
        values = data.values
        values = values.astype(np.float64) if self.kind.name == "float" else values.astype(np.int64, copy=False)
        return values, data.nulls


class _ConstantNode(_Node):
    def __init__(self, value: Any) -> None:
        if isinstance(value, (float, np.floating)):
            self.kind = _Kind("float")
            self.value: Any = float(value)
            return
        try:
            exact = decimal.Decimal(str(value)) if not isinstance(value, decimal.Decimal) else value
        except decimal.InvalidOperation:
            raise PredicateError(f"{value!r} is not a number") from None
        if not exact.is_finite():
            raise PredicateError(f"{value!r} is not a finite number")
        exponent = exact.as_tuple().exponent
        scale = max(0, -int(exponent))
        if scale > MAX_DECIMAL_PRECISION:
            raise PredicateError(f"{value!r} has more than {MAX_DECIMAL_PRECISION} digits after the point")
        self.kind = _Kind("decimal", scale) if scale else _Kind("int")
        self.value = int(exact.scaleb(scale))
        self.exact = exact

    def evaluate(self, columns, length):
        dtype = np.float64 if self.kind.name == "float" else np.int64
        return np.full(length, self.value, dtype=dtype), None


class _ArithmeticNode(_Node):
    def __init__(self, op: str, left: _Node, right: _Node) -> None:
        self.op = op
        self.left = left
        self.right = right
        kinds = (left.kind, right.kind)
        if any(kind.name == "float" for kind in kinds):
            self.kind = _Kind("float")
        elif all(kind.name == "int" for kind in kinds):
            self.kind = _Kind("int")
        elif op == "*":
            self.kind = _Kind("decimal", left.kind.scale + right.kind.scale)
        else:
            self.kind = _Kind("decimal", max(left.kind.scale, right.kind.scale))
        if self.kind.scale > MAX_DECIMAL_PRECISION:
            raise SchemaError(
                f"the product has {self.kind.scale} digits after the point, more than {MAX_DECIMAL_PRECISION}"
            )

    def evaluate(self, columns, length):
        left, left_nulls = self.left.evaluate(columns, length)
        right, right_nulls = self.right.evaluate(columns, length)
        nulls = _either(left_nulls, right_nulls)
        if self.kind.name == "float":
            left = _as_float(left, self.left.kind)
            right = _as_float(right, self.right.kind)
            return _apply(self.op, left, right), nulls
        if self.op != "*":
            left = _rescale(left, self.left.kind.scale, self.kind.scale)
            right = _rescale(right, self.right.kind.scale, self.kind.scale)
        _check_range(self.op, left, right, nulls)
        return _apply(self.op, left, right), nulls


def _bind(expression: Expression, schema: Schema) -> _Node:
    if isinstance(expression, ColumnValue):
        return _ColumnNode(expression.name, schema.column(expression.name).type)
    if isinstance(expression, Constant):
        return _ConstantNode(expression.value)
    if isinstance(expression, Arithmetic):
        if expression.op not in _OPERATORS:
            raise PredicateError(f"unknown operator {expression.op!r}")
        return _ArithmeticNode(expression.op, _bind(expression.left, schema), _bind(expression.right, schema))
    raise PredicateError(f"not an expression: {expression!r}")


def _either(left: np.ndarray | None, right: np.ndarray | None) -> np.ndarray | None:
    if left is None:
        return right
    if right is None:
        return left
    return left | right


def _as_float(values: np.ndarray, kind: _Kind) -> np.ndarray:
    if kind.name == "decimal":
        return values / float(10**kind.scale)
    return values.astype(np.float64, copy=False)


def _rescale(values: np.ndarray, scale: int, target: int) -> np.ndarray:
    if scale == target:
        return values
    factor = 10 ** (target - scale)
    _check_range("*", values, np.array([factor], dtype=np.int64), None)
    return values * factor


def _check_range(op: str, left: np.ndarray, right: np.ndarray, nulls: np.ndarray | None) -> None:
    """Raise unless ``left op right`` stays inside int64 for every row."""
    if not len(left) or not len(right):
        return
    largest_left = float(np.abs(left.astype(np.float64)).max())
    largest_right = float(np.abs(right.astype(np.float64)).max())
    bound = largest_left * largest_right if op == "*" else largest_left + largest_right
    if bound >= _INT64_LIMIT:
        raise InvalidValueError(
            f"arithmetic on values up to {largest_left:.3g} and {largest_right:.3g} could overflow int64; "
            f"use float columns or smaller scales"
        )


def _apply(op: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    return left * right
