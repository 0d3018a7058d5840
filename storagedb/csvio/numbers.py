"""Parse integer, decimal, float and bool columns column-wise with numpy.

Integers and decimals share one parser. It right-aligns every value in a
(width, rows) byte matrix and accumulates the digits one byte position at a
time in uint64, skipping the decimal point. A value with up to 19
significant digits fits, because 10**19 - 1 < 2**64. The result (magnitude,
sign, digits after the point) then becomes an int64 value or a scaled
decimal after the range checks of the column type.

Floats go through numpy's own bytes-to-float64 cast, after a check that
every byte can occur in a float literal. The tests compare its results with
Python's ``float()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import ColumnType
from .spans import PAD, RANGE, SYNTAX, ColumnSpans, ValueProblem, first_row

__all__ = [
    "FixedPoint",
    "parse_fixed_point",
    "fixed_point_to_integer",
    "fixed_point_to_decimal",
    "parse_float",
    "parse_bool",
    "INT_RANGES",
]

#: Digits a uint64 magnitude can take: 10**19 - 1 < 2**64.
MAX_SIGNIFICANT_DIGITS = 19
POW10 = np.array([10**k for k in range(MAX_SIGNIFICANT_DIGITS + 1)], dtype=np.uint64)

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

_ZERO = ord("0")
_POINT = ord(".")
_MINUS = ord("-")
_PLUS = ord("+")


@dataclass(frozen=True)
class FixedPoint:
    """A column of plain fixed-point numbers such as ``-12``, ``0.04`` or ``5.``.

    The value of row i is ``(-1 if negative[i] else 1) * magnitude[i] /
    10**fraction_digits[i]``. ``too_long`` marks values with more than 19
    significant digits, whose magnitude is meaningless.
    """

    magnitude: np.ndarray  # uint64
    negative: np.ndarray  # bool
    fraction_digits: np.ndarray  # digits after the point, 0 without one
    has_point: np.ndarray  # bool
    too_long: np.ndarray  # bool
    nulls: np.ndarray  # bool


def parse_fixed_point(spans: ColumnSpans, nulls: np.ndarray, label: str) -> FixedPoint:
    """Parse values of the form ``[+-]digits[.digits]`` (``5.`` and ``.5`` included).

    ``label`` names the expected type in the error ("int8 value").

    Raises:
        ValueProblem: SYNTAX for the first row that has another form.
    """
    row_count = len(spans)
    live = ~nulls
    lengths = spans.lengths
    width = int(lengths.max(initial=0))
    zeros = np.zeros(row_count, dtype=bool)
    if width == 0:
        return FixedPoint(np.zeros(row_count, np.uint64), zeros, np.zeros(row_count, np.int64), zeros, zeros, nulls)
    if width > PAD:
        raise ValueProblem(first_row(lengths > PAD), f"invalid {label}", SYNTAX)

    # Right-align the values in a (width, rows) matrix, '0' before each
    # start and in place of the sign.
    chars = spans.right_columns(width, fill=_ZERO)
    first = spans.first_bytes()
    negative = (first == _MINUS) & live
    signed = negative | ((first == _PLUS) & live)
    if signed.any():
        rows = np.flatnonzero(signed)
        chars[width - lengths[rows], rows] = _ZERO

    # Check the form: digits and at most one point, at least one digit.
    digits = chars - _ZERO  # uint8: every non-digit byte becomes > 9
    is_point = chars == _POINT
    has_point = np.zeros(row_count, dtype=bool)
    point_positions = is_point.any(axis=1)
    point_count = is_point.sum(axis=0) if point_positions.any() else 0
    digit_count = lengths - signed - point_count
    not_digit = digits > 9
    if point_positions.any():
        not_digit &= ~is_point
        has_point = point_count > 0
    bad = not_digit.any(axis=0) | (point_count > 1) | (digit_count < 1)
    bad &= live
    if bad.any():
        raise ValueProblem(first_row(bad), f"invalid {label}", SYNTAX)

    # Accumulate the digits left to right; at a point the value stays.
    magnitude = np.zeros(row_count, dtype=np.uint64)
    fraction_digits = np.zeros(row_count, dtype=np.int64)
    for k in range(width):
        if point_positions[k]:
            step = magnitude * np.uint64(10) + digits[k]
            np.copyto(magnitude, step, where=~is_point[k])
            fraction_digits[is_point[k]] = width - 1 - k
        else:
            magnitude *= np.uint64(10)
            magnitude += digits[k]

    too_long = zeros
    if (digit_count > MAX_SIGNIFICANT_DIGITS).any():
        # Leading zeros do not count: "000...0001" still fits.
        significant = np.logical_or.accumulate((digits >= 1) & (digits <= 9), axis=0) & ~is_point
        too_long = (significant.sum(axis=0) > MAX_SIGNIFICANT_DIGITS) & live
    return FixedPoint(magnitude, negative, fraction_digits, has_point, too_long, nulls)


def _signed(magnitude: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """Return int64 values from uint64 magnitudes of at most 2**63."""
    values = magnitude.view(np.int64).copy()
    # 2**63 viewed as int64 is already -2**63; negating it keeps it there.
    np.negative(values, out=values, where=negative)
    return values


def fixed_point_to_integer(number: FixedPoint, ctype: ColumnType) -> np.ndarray:
    """Return the column as ``ctype``'s integer dtype.

    Raises:
        ValueProblem: SYNTAX for a value with a point, RANGE for one outside
            the type's range.
    """
    live = ~number.nulls
    with_point = number.has_point & live
    if with_point.any():
        raise ValueProblem(first_row(with_point), f"invalid {ctype.name} value (not an integer)", SYNTAX)
    low, high = INT_RANGES[ctype.base]
    limit = np.where(number.negative, np.uint64(-low), np.uint64(high))
    outside = (number.too_long | (number.magnitude > limit)) & live
    if outside.any():
        raise ValueProblem(first_row(outside), f"{ctype.name} value out of range {low}..{high}", RANGE)
    return _signed(number.magnitude, number.negative).astype(ctype.storage_dtype)


def fixed_point_to_decimal(number: FixedPoint, precision: int, scale: int) -> np.ndarray:
    """Return the column as int64 values scaled by ``10**scale``.

    Extra digits after the point are accepted when they are zeros
    (``1.500`` in a scale-2 column), as ``ColumnType.to_storage`` does.

    Raises:
        ValueProblem: RANGE for nonzero digits beyond ``scale`` or more than
            ``precision`` digits in all.
    """
    name = f"decimal({precision},{scale})"
    live = ~number.nulls
    magnitude = number.magnitude
    fraction_digits = number.fraction_digits

    # Drop zeros beyond the scale.
    excess = fraction_digits - scale
    over = (excess > 0) & live
    if over.any():
        divisor = POW10[np.clip(excess[over], 0, MAX_SIGNIFICANT_DIGITS)]
        inexact = (magnitude[over] % divisor) != 0
        if inexact.any():
            row = int(np.flatnonzero(over)[first_row(inexact)])
            raise ValueProblem(row, f"{name} value has more than {scale} digits after the point", RANGE)
        magnitude = magnitude.copy()
        magnitude[over] //= divisor
        fraction_digits = np.minimum(fraction_digits, scale)

    # Scale up to `scale` digits after the point; check the precision first so
    # that the multiplication cannot overflow.
    shift = scale - fraction_digits
    limit = POW10[precision - shift]
    outside = (number.too_long | (magnitude >= limit)) & live
    if outside.any():
        raise ValueProblem(first_row(outside), f"{name} value has more than {precision} digits", RANGE)
    return _signed(magnitude * POW10[shift], number.negative)


# Bytes that can occur in a float literal: digits, sign, point, exponent and
# the letters of nan, inf and infinity.
_FLOAT_BYTES = np.zeros(256, dtype=bool)
for _byte in b"0123456789+-.eEnaNAifIFtyTY":
    _FLOAT_BYTES[_byte] = True


def parse_float(spans: ColumnSpans, nulls: np.ndarray, ctype: ColumnType) -> np.ndarray:
    """Parse a float32 or float64 column (``1.5``, ``-2e-3``, ``nan``, ``inf``).

    Raises:
        ValueProblem: SYNTAX for a value that is not a float literal, RANGE
            for a finite literal too large for the type.
    """
    live = ~nulls
    lengths = spans.lengths
    width = int(lengths.max(initial=0))
    invalid = f"invalid {ctype.name} value"
    if width == 0:
        return np.zeros(len(spans), dtype=ctype.storage_dtype)
    if width > PAD:
        raise ValueProblem(first_row(lengths > PAD), invalid, SYNTAX)

    chars, padding = spans.left_aligned(width)
    bad = ~(_FLOAT_BYTES[chars] | padding).all(axis=1) & live
    if bad.any():
        raise ValueProblem(first_row(bad), invalid, SYNTAX)
    if nulls.any():
        chars[nulls, 0] = _ZERO
    literals = chars.view(f"S{width}").ravel()
    try:
        values = literals.astype(np.float64)
    except ValueError:
        raise ValueProblem(_first_bad_float(literals, live), invalid, SYNTAX) from None

    # "1e999" parses as inf; only a literal spelling inf may give one.
    spelled_inf = (chars == ord("i")).any(axis=1) | (chars == ord("I")).any(axis=1)
    overflow = np.isinf(values) & ~spelled_inf & live
    if ctype.base == "float32":
        # Finite values beyond float32's range become inf; the check below reports them.
        with np.errstate(over="ignore"):
            narrow = values.astype(np.float32)
        overflow |= np.isinf(narrow) & np.isfinite(values) & live
        values = narrow
    if overflow.any():
        raise ValueProblem(first_row(overflow), f"{ctype.name} value out of range", RANGE)
    return values


def _first_bad_float(literals: np.ndarray, live: np.ndarray) -> int:
    """Find the row whose literal failed the bulk cast (error path only)."""
    for row in np.flatnonzero(live).tolist():
        try:
            float(literals[row])
        except ValueError:
            return row
    return 0


_TRUE_WORDS = (b"true", b"t", b"yes", b"y", b"1")
_FALSE_WORDS = (b"false", b"f", b"no", b"n", b"0")
_BOOL_WIDTH = 5
_UPPER_TO_LOWER = np.arange(256, dtype=np.uint8)
_UPPER_TO_LOWER[ord("A") : ord("Z") + 1] += 32


def parse_bool(spans: ColumnSpans, nulls: np.ndarray, strict: bool) -> np.ndarray:
    """Parse a bool column to uint8 0 and 1, ignoring case.

    With ``strict`` (used by type inference) only ``true`` and ``false``
    count; otherwise also ``t``/``f``, ``yes``/``no``, ``y``/``n`` and
    ``1``/``0``, the words ``ColumnType.to_storage`` accepts.

    Raises:
        ValueProblem: SYNTAX for any other word.
    """
    live = ~nulls
    lengths = spans.lengths
    too_long = (lengths > _BOOL_WIDTH) & live
    if too_long.any():
        raise ValueProblem(first_row(too_long), "invalid bool value (expected true or false)", SYNTAX)

    chars, padding = spans.left_aligned(_BOOL_WIDTH)
    # A NUL byte inside a value would vanish in the bytes comparison below.
    with_nul = ((chars == 0) & ~padding).any(axis=1) & live
    words = _UPPER_TO_LOWER[chars].view(f"S{_BOOL_WIDTH}").ravel()
    true_words = _TRUE_WORDS[:1] if strict else _TRUE_WORDS
    false_words = _FALSE_WORDS[:1] if strict else _FALSE_WORDS
    is_true = np.zeros(len(spans), dtype=bool)
    is_false = np.zeros(len(spans), dtype=bool)
    for word in true_words:
        is_true |= words == word
    for word in false_words:
        is_false |= words == word
    bad = (~(is_true | is_false) & live) | with_nul
    if bad.any():
        raise ValueProblem(first_row(bad), "invalid bool value (expected true or false)", SYNTAX)
    return is_true.astype(np.uint8)
