"""64-bit hashes of primary keys, for the Bloom filter of each segment.

Two functions compute the same hash. :func:`hash_key_columns` hashes many
keys at once with numpy, for sealing a segment. :func:`hash_key` hashes one
key with plain Python ints, for ``get``. On a single key,
``hash_key_columns`` takes about 19 us, while ``hash_key`` takes 0.6 us for
an int64 key and 1 us for a short text key (CPython 3.11, numpy 2.4, 2-core
x86-64 VM).
``tests/index/test_keyhash.py`` checks that the two agree bit for bit.

The hash is a stored format: Bloom filters on disk were built with it, so it
must not depend on the process, the platform or the Python version. That
rules out the built-in ``hash()``, which is salted per process. Changing any
step below changes every stored filter, so it requires a new
:data:`KEYHASH_VERSION`.

How a key is hashed
-------------------
1. Each column value becomes one 64-bit *word*, by its kind (its column
   type's base name, ``ColumnType.base``):

   =================================  =========================================
   kind                               word
   =================================  =========================================
   int8, int16, int32, int64, date,   the value as an int64, in two's
   timestamp, decimal, bool           complement (so int32 5 and int64 5 agree)
   float64                            the IEEE 754 bits of the value, after
                                      turning -0.0 into +0.0 and every NaN into
                                      0x7FF8000000000000
   float32                            the float64 word of the float32 value
   text                               the first 8 bytes, read as a
                                      little-endian uint64, of the
                                      BLAKE2b-512 digest of the UTF-8 bytes
   blob                               the same, of the bytes themselves
   =================================  =========================================

2. The words are folded in column order into ``h``, starting from
   ``h = 0x9E3779B97F4A7C15``: for each word, ``h = mix(h ^ word)``, where
   ``mix`` is the splitmix64 finaliser (Steele, Lea and Flood, "Fast
   splittable pseudorandom number generators", OOPSLA 2014). All arithmetic
   is modulo 2**64.

Why this spreads: ``mix`` is a bijection of 64-bit values and each output bit
depends on every input bit, so the dense, sequential integer keys that tables
usually have land on unrelated hashes, and distinct one-column integer keys
never collide. For a fixed prefix of columns, the next step maps each distinct
next word to a distinct hash, because xor and ``mix`` are both bijections. So
composite keys that differ only in the word of their last column never
collide. Different prefixes give unrelated ``h`` values, so two composite keys
collide only by chance, with probability about 2**-64 per pair. Folding in
order makes ``(1, 2)`` and ``(2, 1)`` hash to unrelated values. The start
value keeps the all-zero key away from ``mix``'s fixed point at 0, where
every Bloom probe would land on bit 0.

Why BLAKE2b for text and blob: it gives 64 well-spread bits for any input.
CRC-32 is linear, so a second CRC pass with another seed differs from the
first only by a function of the length and adds no spread. BLAKE2b with its
default 64-byte digest cost about 0.32 us per 18-byte string against 0.1 us
for one ``zlib.crc32`` (CPython 3.11, 2-core VM). Asking for
``digest_size=8`` was slower, at 0.5 us.
A 32-bit hash would let an absent key match a present one with probability
n / 2**32, which reaches a quarter of the 0.82% false-positive rate at
10 bits per key once a segment has 10 million keys.

Example::

    >>> hash_key((5,), ["int32"]) == hash_key((5,), ["int64"])
    True
    >>> hash_key((-0.0,), ["float64"]) == hash_key((0.0,), ["float64"])
    True
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from storagedb.errors import InvalidInputError, SchemaError

__all__ = [
    "KEY_KINDS",
    "KEYHASH_VERSION",
    "hash_key",
    "hash_key_columns",
]

#: Version of the hash defined in the module docstring. Bloom filters store it,
#: so that a filter built with another version is rejected instead of
#: silently returning False for keys it contains.
KEYHASH_VERSION = 1

_MASK64 = (1 << 64) - 1

#: Start value of the fold: the splitmix64 increment, 2**64 divided by the
#: golden ratio.
_SEED = 0x9E3779B97F4A7C15

# Multipliers of the splitmix64 finaliser.
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB

#: Word of every NaN, whatever its sign and payload bits: the quiet NaN that
#: numpy and CPython produce for float("nan").
_CANONICAL_NAN = 0x7FF8000000000000

_INTEGER_KINDS = frozenset({"int8", "int16", "int32", "int64", "date", "timestamp", "decimal", "bool"})
_FLOAT_KINDS = frozenset({"float32", "float64"})
_BYTES_KINDS = frozenset({"text", "blob"})

#: Every kind a key column may have: the base names of the column types.
KEY_KINDS = _INTEGER_KINDS | _FLOAT_KINDS | _BYTES_KINDS

_FLOAT32 = struct.Struct("<f")
_FLOAT64 = struct.Struct("<d")
_UINT64 = struct.Struct("<Q")
_blake2b = hashlib.blake2b


# -- one key, pure Python ----------------------------------------------------


def _integer_word(value: Any) -> int:
    # int() also accepts numpy integer scalars, whose own & with a 64-bit mask
    # raises OverflowError.
    return int(value) & _MASK64


def _float64_word(value: Any) -> int:
    # Adding +0.0 turns -0.0 into +0.0 (IEEE 754 round-to-nearest) and leaves
    # every other value unchanged.
    number = float(value) + 0.0
    if number != number:
        return _CANONICAL_NAN
    return _UINT64.unpack(_FLOAT64.pack(number))[0]


def _float32_word(value: Any) -> int:
    # Round to float32 as numpy's astype(float32) does, so that a float64
    # argument such as 0.1 finds the float32 value 0.1 stored in the column.
    number = float(value)
    try:
        number = _FLOAT32.unpack(_FLOAT32.pack(number))[0]
    except OverflowError:
        # struct rejects a finite value beyond float32 range where numpy
        # rounds it to infinity.
        number = math.copysign(math.inf, number)
    return _float64_word(number)


def _bytes_word(value: Any) -> int:
    if isinstance(value, str):
        # "surrogatepass" only matters for lone surrogates, which are not valid
        # text values. It keeps hashing them from raising.
        value = value.encode("utf-8", "surrogatepass")
    return _UINT64.unpack_from(_blake2b(value).digest())[0]


_WORD_FUNCTIONS: dict[str, Callable[[Any], int]] = {
    **{kind: _integer_word for kind in _INTEGER_KINDS},
    "float32": _float32_word,
    "float64": _float64_word,
    "text": _bytes_word,
    "blob": _bytes_word,
}


def hash_key(values: Sequence[Any], kinds: Sequence[str]) -> int:
    """Hash one primary key to a 64-bit unsigned int.

    ``values`` are the key's column values in storage form, as
    ``ColumnType.to_storage`` returns them:

    * ``int`` for integer, date, timestamp and decimal kinds;
    * ``bool`` or 0/1 for ``"bool"``;
    * ``float`` for float kinds;
    * ``str`` (or its UTF-8 ``bytes``) for ``"text"``;
    * ``bytes`` for ``"blob"``.

    ``kinds`` contains one kind per value, the base name of its column type
    (see :data:`KEY_KINDS`). The result equals the matching element of
    :func:`hash_key_columns`.

    Example::

        >>> hash_key((7, "a"), ["int64", "text"]) == hash_key((7, "a"), ["int16", "text"])
        True

    Raises:
        SchemaError: a kind is not in :data:`KEY_KINDS`, or the number of
            values differs from the number of kinds.
        InvalidInputError: a value has a type that its kind cannot hash,
            such as ``None``.
    """
    if len(values) != len(kinds):
        raise SchemaError(
            f"key has {len(values)} values but {len(kinds)} key column kinds. "
            f"Pass one value per primary key column"
        )

    hashed = _SEED
    try:
        for value, kind in zip(values, kinds):
            hashed ^= _WORD_FUNCTIONS[kind](value)
            # The splitmix64 finaliser, as in _mix_in_place.
            hashed = ((hashed ^ (hashed >> 30)) * _MIX1) & _MASK64
            hashed = ((hashed ^ (hashed >> 27)) * _MIX2) & _MASK64
            hashed ^= hashed >> 31
    except KeyError:
        raise _unknown_kind_error(kinds) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(
            f"cannot hash key {values!r} with column kinds {list(kinds)}: {exc}. "
            f"Convert the values with ColumnType.to_storage first"
        ) from exc
    return hashed


def _unknown_kind_error(kinds: Sequence[str]) -> SchemaError:
    unknown = [kind for kind in kinds if kind not in KEY_KINDS]
    return SchemaError(
        f"unknown key column kind(s) {unknown}, expected column type base names: {sorted(KEY_KINDS)}"
    )


# -- many keys, numpy ----------------------------------------------------------


def _mix_in_place(hashed: np.ndarray) -> None:
    """Apply the splitmix64 finaliser to a uint64 array, in place."""
    # uint64 array arithmetic wraps modulo 2**64 without a warning. Every
    # operand is uint64: one int64 operand would turn the result into float64.
    hashed ^= hashed >> np.uint64(30)
    hashed *= np.uint64(_MIX1)
    hashed ^= hashed >> np.uint64(27)
    hashed *= np.uint64(_MIX2)
    hashed ^= hashed >> np.uint64(31)


def _integer_words(column: np.ndarray) -> np.ndarray:
    # Widening to int64 sign-extends, and the uint64 view keeps the two's
    # complement bits, which is what ``int(value) & _MASK64`` computes.
    return column.astype(np.int64).view(np.uint64)


def _float64_words(column: np.ndarray) -> np.ndarray:
    # Adding +0.0 turns -0.0 into +0.0 and always returns a new array. A
    # signalling NaN makes numpy warn "invalid value", which does not matter
    # because every NaN gets the canonical word below.
    with np.errstate(invalid="ignore"):
        numbers = column.astype(np.float64) + 0.0
    words = numbers.view(np.uint64)
    words[np.isnan(numbers)] = np.uint64(_CANONICAL_NAN)
    return words


def _float32_words(column: np.ndarray) -> np.ndarray:
    # Values beyond float32 range round to infinity, as in _float32_word.
    with np.errstate(over="ignore"):
        rounded = column.astype(np.float32)
    return _float64_words(rounded)


def _bytes_words(column: np.ndarray | Sequence[Any]) -> np.ndarray:
    values = column.tolist() if isinstance(column, np.ndarray) else list(column)
    try:
        encoded = [value.encode("utf-8", "surrogatepass") for value in values]
    except AttributeError:
        # Not all str: a blob column, text given as UTF-8 bytes, or a bad value.
        encoded = [_as_bytes(value, row) for row, value in enumerate(values)]

    # One join of the 64-byte digests, then every eighth uint64 is the first
    # 8 bytes of a digest.
    digests = b"".join([_blake2b(data).digest() for data in encoded])
    return np.frombuffer(digests, dtype="<u8")[::8]


def _as_bytes(value: Any, row: int) -> bytes | bytearray | memoryview:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    raise InvalidInputError(
        f"key value {value!r} at row {row} is {type(value).__name__}, expected str or bytes. "
        f"Primary key columns cannot contain NULL"
    )


_WORD_ARRAY_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    **{kind: _integer_words for kind in _INTEGER_KINDS},
    "float32": _float32_words,
    "float64": _float64_words,
    "text": _bytes_words,
    "blob": _bytes_words,
}


def hash_key_columns(columns: Sequence[np.ndarray], kinds: Sequence[str]) -> np.ndarray:
    """Hash many primary keys, given column by column, to a uint64 array.

    ``columns`` contains one array per key column, all of the same length,
    in storage form:

    * integer arrays of any width for integer, date, timestamp and decimal
      kinds;
    * a uint8 0/1 (or bool) array for ``"bool"``;
    * float32 or float64 arrays for float kinds;
    * object arrays (or lists) of ``str`` or UTF-8 ``bytes`` for ``"text"``,
      and of ``bytes`` for ``"blob"``.

    Element ``i`` of the result equals ``hash_key`` of row ``i``.

    Numeric columns take 3 to 4 ms per 600,000 keys. Text and blob
    columns call BLAKE2b once per value, about 0.35 s per 600,000 short
    strings (``benchmarks/bloom_bench.py``, 2-core x86-64 VM).

    Example::

        >>> ids = np.array([1, 2, 3], dtype=np.int32)
        >>> hashes = hash_key_columns([ids], ["int32"])
        >>> int(hashes[1]) == hash_key((2,), ["int32"])
        True

    Raises:
        SchemaError: no columns, a kind not in :data:`KEY_KINDS`, or a
            different number of columns and kinds.
        InvalidInputError: columns of different lengths, or a text or blob
            value that is neither ``str`` nor ``bytes``.
    """
    if not columns:
        raise SchemaError("got no key columns, but a key needs at least one column")
    if len(columns) != len(kinds):
        raise SchemaError(
            f"got {len(columns)} key columns but {len(kinds)} kinds. Pass one kind per column"
        )
    if any(kind not in KEY_KINDS for kind in kinds):
        raise _unknown_kind_error(kinds)
    # A list of bytes or str stays a list: np.asarray would make a
    # fixed-width array, which drops trailing NUL bytes and characters.
    arrays = [column if kind in _BYTES_KINDS else np.asarray(column) for column, kind in zip(columns, kinds)]
    lengths = [len(array) for array in arrays]
    if len(set(lengths)) != 1:
        raise InvalidInputError(
            f"key columns have different lengths {lengths}. Every column needs one value per row"
        )

    hashed = np.full(lengths[0], _SEED, dtype=np.uint64)
    for array, kind in zip(arrays, kinds):
        hashed ^= _WORD_ARRAY_FUNCTIONS[kind](array)
        _mix_in_place(hashed)
    return hashed
