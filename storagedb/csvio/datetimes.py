"""Parse date and timestamp columns column-wise with numpy.

Dates are ``YYYY-MM-DD`` in years 1 to 9999 and become int32 days since
1970-01-01. Timestamps are ISO 8601: a date, then ``T``, ``t`` or a space,
``HH:MM``, optional ``:SS``, an optional fraction of 1 to 9 digits after
the seconds, and an optional ``Z`` or UTC offset (``+HH``, ``+HHMM`` or
``+HH:MM``). A timestamp without an offset is taken as UTC, as
``ColumnType.to_storage`` does, and a bare date is midnight. They become
int64 microseconds since the Unix epoch, in UTC.

Every value is read from a (width, rows) byte matrix whose row k contains
byte k of every value. Timestamps have optional parts, so each value keeps
a cursor: the position of its next unread byte.
"""

from __future__ import annotations

import numpy as np

from ..types import EPOCH_DATE
from .spans import RANGE, SYNTAX, ColumnSpans, ValueProblem, first_row

__all__ = ["parse_date", "parse_timestamp"]

_DATE_BYTES = 10  # YYYY-MM-DD
#: Longest accepted timestamp, with room to spare: YYYY-MM-DDTHH:MM:SS is 19
#: bytes, a 9-digit fraction adds 10 and an offset +HH:MM adds 6, 35 in all.
MAX_TIMESTAMP_BYTES = 40
# Bytes read past a timestamp's last cursor position: a fraction reads up to
# 10 bytes ahead. MAX_TIMESTAMP_BYTES + _LOOKAHEAD must not exceed spans.PAD.
_LOOKAHEAD = 12

_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND
_MIN_DAY = int((np.datetime64("0001-01-01") - np.datetime64(EPOCH_DATE)).astype(np.int64))
_MAX_DAY = int((np.datetime64("9999-12-31") - np.datetime64(EPOCH_DATE)).astype(np.int64))
_MIN_MICROS = _MIN_DAY * _US_PER_DAY
_MAX_MICROS = (_MAX_DAY + 1) * _US_PER_DAY - 1

_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_DATE_DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9]
_ZERO = ord("0")


def _read_date(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return year, month, day and a mask of values shaped ``dddd-dd-dd``.

    ``chars`` is a (width, rows) matrix whose first 10 rows are the date.
    """
    digits = chars[_DATE_DIGIT_POSITIONS] - _ZERO
    shaped = (digits <= 9).all(axis=0) & (chars[4] == ord("-")) & (chars[7] == ord("-"))
    d = digits.astype(np.int64)
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[4] * 10 + d[5]
    day = d[6] * 10 + d[7]
    return year, month, day, shaped


def _valid_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Mark the rows that name a real day of the Gregorian calendar in years 1-9999."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    return (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)


def _days_since_epoch(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Count days since 1970-01-01 with numpy's calendar (valid dates only)."""
    months = (year - 1970) * 12 + (month - 1)
    first_of_month = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return first_of_month + (day - 1)


def parse_date(spans: ColumnSpans, nulls: np.ndarray) -> np.ndarray:
    """Parse a ``YYYY-MM-DD`` column to int32 days since 1970-01-01.

    Raises:
        ValueProblem: SYNTAX for a value of another shape, RANGE for a day
            that does not exist (``1996-02-30``) or a year 0.
    """
    live = ~nulls
    shape_error = "invalid date value (expected YYYY-MM-DD)"
    wrong_length = (spans.lengths != _DATE_BYTES) & live
    if wrong_length.any():
        raise ValueProblem(first_row(wrong_length), shape_error, SYNTAX)

    chars = spans.left_columns(_DATE_BYTES, fill=0)
    year, month, day, shaped = _read_date(chars)
    unshaped = ~shaped & live
    if unshaped.any():
        raise ValueProblem(first_row(unshaped), shape_error, SYNTAX)
    invalid = ~_valid_dates(year, month, day) & live
    if invalid.any():
        raise ValueProblem(first_row(invalid), "invalid date (no such day)", RANGE)

    days = np.zeros(len(spans), dtype=np.int32)
    days[live] = _days_since_epoch(year[live], month[live], day[live])
    return days


def _two_digits(chars: np.ndarray, rows: np.ndarray, position: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Read the two-digit number at byte ``position`` of each value; return values and a digit mask."""
    tens = chars[position, rows] - _ZERO
    ones = chars[position + 1, rows] - _ZERO
    return tens.astype(np.int64) * 10 + ones, (tens <= 9) & (ones <= 9)


def parse_timestamp(spans: ColumnSpans, nulls: np.ndarray) -> np.ndarray:
    """Parse an ISO 8601 timestamp column to int64 microseconds since the epoch, UTC.

    Raises:
        ValueProblem: SYNTAX for a value of another shape, RANGE for an
            impossible date or time of day, a fraction finer than a
            microsecond, or an instant outside years 1-9999 in UTC.
    """
    live = ~nulls
    lengths = spans.lengths.astype(np.int64)
    shape_error = "invalid timestamp value (expected ISO 8601 such as 2024-01-31T12:00:00Z)"
    bad_length = ((lengths < _DATE_BYTES) | (lengths > MAX_TIMESTAMP_BYTES)) & live
    if bad_length.any():
        raise ValueProblem(first_row(bad_length), shape_error, SYNTAX)
    if not live.any():
        return np.zeros(len(spans), dtype=np.int64)
    # The cursor starts at byte 16 after a time of day even in a value too
    # short to have one.
    width = max(int(lengths.max()), 16) + _LOOKAHEAD
    chars = spans.left_columns(width, fill=0)
    rows = np.arange(len(spans))

    # The date, then the time of day as HH:MM.
    year, month, day, shaped = _read_date(chars)
    has_time = lengths > _DATE_BYTES
    separator = chars[_DATE_BYTES]
    shaped &= ~has_time | (separator == ord("T")) | (separator == ord("t")) | (separator == ord(" "))
    hour, hour_digits = _two_digits(chars, rows, 11)
    minute, minute_digits = _two_digits(chars, rows, 14)
    shaped &= ~has_time | (hour_digits & minute_digits & (chars[13] == ord(":")))
    hour = np.where(has_time, hour, 0)
    minute = np.where(has_time, minute, 0)
    cursor = np.where(has_time, 16, _DATE_BYTES)

    # Optional :SS.
    has_seconds = has_time & (chars[cursor, rows] == ord(":"))
    second, second_digits = _two_digits(chars, rows, cursor + 1)
    shaped &= ~has_seconds | second_digits
    second = np.where(has_seconds, second, 0)
    cursor = cursor + 3 * has_seconds

    # Optional fraction after the seconds: up to 6 digits are microseconds,
    # digits 7 to 9 must be zeros.
    has_fraction = has_seconds & (chars[cursor, rows] == ord("."))
    micros = np.zeros(len(spans), dtype=np.int64)
    fraction_length = np.zeros(len(spans), dtype=np.int64)
    finer = np.zeros(len(spans), dtype=bool)
    in_fraction = has_fraction.copy()
    for place in range(9):
        digit = chars[cursor + 1 + place, rows] - _ZERO
        in_fraction &= digit <= 9
        fraction_length += in_fraction
        if place < 6:
            micros += np.where(in_fraction, digit.astype(np.int64) * 10 ** (5 - place), 0)
        else:
            finer |= in_fraction & (digit != 0)
    shaped &= ~has_fraction | (fraction_length > 0)
    cursor = cursor + np.where(has_fraction, 1 + fraction_length, 0)

    # Optional Z or offset.
    zone = chars[cursor, rows]
    zulu = has_time & ((zone == ord("Z")) | (zone == ord("z")))
    has_offset = has_time & ((zone == ord("+")) | (zone == ord("-")))
    offset_hour, offset_hour_digits = _two_digits(chars, rows, cursor + 1)
    colon = chars[cursor + 3, rows] == ord(":")
    offset_minute, offset_minute_digits = _two_digits(chars, rows, cursor + 3 + colon)
    offset_length = np.where(offset_minute_digits, 5 + colon, 3)
    shaped &= ~has_offset | (offset_hour_digits & (~colon | offset_minute_digits))
    offset_minute = np.where(offset_minute_digits, offset_minute, 0)
    cursor = cursor + zulu + np.where(has_offset, offset_length, 0)
    shaped &= cursor == lengths

    unshaped = ~shaped & live
    if unshaped.any():
        raise ValueProblem(first_row(unshaped), shape_error, SYNTAX)

    # Range checks, then the arithmetic.
    valid = _valid_dates(year, month, day) & (hour <= 23) & (minute <= 59) & (second <= 59)
    valid &= ~has_offset | ((offset_hour <= 23) & (offset_minute <= 59))
    invalid = ~valid & live
    if invalid.any():
        raise ValueProblem(first_row(invalid), "invalid timestamp (no such date or time of day)", RANGE)
    finer &= live
    if finer.any():
        raise ValueProblem(first_row(finer), "timestamp value finer than microseconds", RANGE)

    days = np.zeros(len(spans), dtype=np.int64)
    days[live] = _days_since_epoch(year[live], month[live], day[live])
    offset_minutes = np.where(has_offset, offset_hour * 60 + offset_minute, 0)
    offset_minutes = np.where(zone == ord("-"), -offset_minutes, offset_minutes)
    seconds = (hour * 60 + minute - offset_minutes) * 60 + second
    values = days * _US_PER_DAY + seconds * _US_PER_SECOND + micros
    outside = ((values < _MIN_MICROS) | (values > _MAX_MICROS)) & live
    if outside.any():
        raise ValueProblem(first_row(outside), "timestamp value outside years 1-9999 in UTC", RANGE)
    values[nulls] = 0
    return values
