"""Turn text and blob columns into object arrays of ``str`` and ``bytes``.

Text values are gathered into one byte string with a NUL byte after each
value, decoded once and split at the NULs: both steps run in C, so Python
creates each ``str`` without running any bytecode per value. Decoding the
gathered bytes also checks that every value is valid UTF-8. A column whose
values contain NUL bytes takes a slower path that decodes value by value.

Blob values are hex digits, optionally after the ``\\x`` prefix that
PostgreSQL writes for bytea, so that any bytes survive in a text file.
"""

from __future__ import annotations

import numpy as np

from .spans import SYNTAX, ColumnSpans, ValueProblem, first_row

__all__ = ["parse_text", "parse_blob", "decode_values"]

_QUOTE = ord('"')
_NUL = 0


def _gather(spans: ColumnSpans) -> tuple[np.ndarray, np.ndarray]:
    """Copy every value plus the byte after it into one array.

    Returns the array and the offset of each value's trailing byte in it.
    The byte after a value is its delimiter, closing quote or line end, so
    it always lies inside the chunk.
    """
    lengths = spans.lengths.astype(np.int64)
    terminators = np.cumsum(lengths + 1) - 1
    value_starts = terminators - lengths
    total = int(terminators[-1]) + 1
    # Output byte j of value i comes from starts[i] + (j - value_starts[i]).
    source = np.repeat(spans.starts - value_starts, lengths + 1) + np.arange(total)
    return spans.buf[source], terminators


def decode_values(spans: ColumnSpans) -> list[str]:
    """Decode every span to ``str``, undoubling the quotes of quoted values.

    Raises:
        ValueProblem: SYNTAX for the first value that is not valid UTF-8.
    """
    if len(spans) == 0:
        return []
    gathered, terminators = _gather(spans)
    # The terminators are not value bytes, so a NUL among them does not count.
    gathered[terminators] = 1
    if (gathered == _NUL).any():
        return _decode_one_by_one(spans)
    gathered[terminators] = _NUL

    if spans.escaped:
        # Quotes occur only inside quoted values, always doubled: drop the
        # second of each pair.
        quotes = np.flatnonzero(gathered == _QUOTE)
        if quotes.size:
            gathered = np.delete(gathered, quotes[1::2])

    data = gathered[:-1].tobytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        row = data.count(b"\x00", 0, error.start)
        raise ValueProblem(row, "invalid UTF-8 in text value", SYNTAX) from None
    return text.split("\x00")


def _decode_one_by_one(spans: ColumnSpans) -> list[str]:
    """Decode values that may contain NUL bytes, one at a time."""
    values = []
    buf = spans.buf
    quoted = spans.quoted
    for row, (start, end) in enumerate(zip(spans.starts.tolist(), spans.ends.tolist())):
        raw = buf[start:end].tobytes()
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueProblem(row, "invalid UTF-8 in text value", SYNTAX) from None
        if quoted is not None and quoted[row]:
            value = value.replace('""', '"')
        values.append(value)
    return values


def _object_array(values: list, nulls: np.ndarray) -> np.ndarray:
    array = np.fromiter(values, dtype=object, count=len(values))
    if nulls.any():
        array[nulls] = None
    return array


def parse_text(spans: ColumnSpans, nulls: np.ndarray) -> np.ndarray:
    """Return the column as an object array of ``str``, None where NULL.

    Raises:
        ValueProblem: SYNTAX for the first value that is not valid UTF-8.
    """
    return _object_array(decode_values(spans), nulls)


# Value of each hex digit byte; 255 marks every other byte.
_HEX_VALUES = np.full(256, 255, dtype=np.uint8)
for _index, _digit in enumerate(b"0123456789abcdef"):
    _HEX_VALUES[_digit] = _index
for _index, _digit in enumerate(b"ABCDEF"):
    _HEX_VALUES[_digit] = 10 + _index


def parse_blob(spans: ColumnSpans, nulls: np.ndarray) -> np.ndarray:
    """Return the column as an object array of ``bytes`` decoded from hex, None where NULL.

    Raises:
        ValueProblem: SYNTAX for a value that is not an even number of hex
            digits after an optional ``\\x``.
    """
    invalid = "invalid blob value (expected hex digits, optionally after \\x)"
    live = ~nulls
    starts = spans.starts.astype(np.int64)
    ends = spans.ends.astype(np.int64)

    # Skip a \x prefix.
    buf = spans.buf
    long_enough = (ends - starts) >= 2
    prefixed = np.zeros(len(spans), dtype=bool)
    candidates = np.flatnonzero(long_enough)
    prefixed[candidates] = (buf[starts[candidates]] == ord("\\")) & (buf[starts[candidates] + 1] == ord("x"))
    starts = starts + 2 * prefixed
    lengths = ends - starts
    odd = (lengths % 2 == 1) & live
    if odd.any():
        raise ValueProblem(first_row(odd), invalid, SYNTAX)

    # Look up every digit, then combine pairs into bytes.
    total = int(lengths.sum())
    value_starts = np.cumsum(lengths) - lengths
    source = np.repeat(starts - value_starts, lengths) + np.arange(total)
    nibbles = _HEX_VALUES[buf[source]]
    bad_digit = nibbles == 255
    if bad_digit.any():
        position = int(np.argmax(bad_digit))
        row = int(np.searchsorted(value_starts, position, side="right")) - 1
        raise ValueProblem(row, invalid, SYNTAX)
    data = ((nibbles[0::2] << 4) | nibbles[1::2]).tobytes()
    byte_starts = (value_starts // 2).tolist()
    byte_ends = ((value_starts + lengths) // 2).tolist()
    return _object_array([data[a:b] for a, b in zip(byte_starts, byte_ends)], nulls)
