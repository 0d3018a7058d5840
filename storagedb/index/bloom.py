"""Bloom filter over the primary-key hashes of one segment.

A sealed segment stores a Bloom filter of its keys, so that ``get(key)`` skips
every segment whose filter returns False: such a segment cannot contain the
key. A True may be a false positive, at the rate that
:meth:`BloomFilter.expected_false_positive_rate` gives. The filter stores
64-bit key hashes from :mod:`storagedb.index.keyhash`, never keys.

Probes
------
A filter has ``m`` bits and ``k`` probes per key. For a key hash ``h``, let
``x0 = h mod 2**32`` and ``step = h div 2**32``. Probe ``i`` (0 <= i < k)
tests bit ``(x_i * m) div 2**32`` where ``x_i = (x0 + i * step) mod 2**32``.
This is double hashing. Kirsch and Mitzenmacher ("Less Hashing, Same
Performance: Building a Better Bloom Filter", Random Structures & Algorithms,
2008) show that two hash values used this way give the same asymptotic
false-positive rate as k independent hashes. Here the two values are the
halves of one 64-bit hash whose bits are all well mixed. The multiply and
shift maps a 32-bit value onto ``0..m-1`` without a division (Lemire, "A fast
alternative to the modulo reduction", 2016).

``k = round(bits_per_key * ln 2)``, which minimises the false-positive rate
``(1 - e^(-k n / m))^k`` of ``n`` keys in ``m`` bits. At 10 bits per key that
is k = 7 and a rate of 0.82%. ``k`` is capped at 30 probes, reached at 43
bits per key, where the rate is about 10**-9 and more probes would only slow
down ``may_contain``.

Serialized form
---------------
A 20-byte header, then the bit array. Integers are little-endian::

    OFFSET  SIZE  FIELD            MEANING
    0       4     magic            b"SDBF"
    4       1     format_version   1. Version 0 is reserved.
    5       1     keyhash_version  keyhash.KEYHASH_VERSION of the hashes, 1
    6       1     num_hashes       k, probes per key: 1 to 30
    7       1     bits_per_key     1 to 255, as passed to build
    8       4     num_bits         m: max(64, n * bits_per_key rounded up
                                   to a multiple of 8)
    12      4     num_keys         n, keys added, duplicates included
    16      4     checksum         zlib.crc32 of bytes 0 to 15, continued
                                   over the bit array
    20      m/8   bit array        bit p is bit (p mod 8) of byte (p div 8)

Header size: 4 + 1 + 1 + 1 + 1 + 4 + 4 + 4 = 20 bytes. The u32 ``num_bits``
limits a filter to 2**32 - 8 bits (512 MiB), enough for 429 million keys at
10 bits per key. :meth:`BloomFilter.from_bytes` checks every field against
the others and the buffer length before it copies the bit array.
``num_hashes`` and ``num_bits`` are derived from ``num_keys`` and
``bits_per_key``, so most damaged header bytes show up as a mismatch, and
the checksum catches the rest.

Example::

    >>> from storagedb.index.keyhash import hash_key, hash_key_columns
    >>> ids = np.arange(1000, dtype=np.int64)
    >>> bloom = BloomFilter.build(hash_key_columns([ids], ["int64"]))
    >>> bloom.may_contain(hash_key((7,), ["int64"]))
    True
    >>> BloomFilter.from_bytes(bloom.to_bytes()).num_keys
    1000
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import NamedTuple

import numpy as np

from storagedb.errors import CorruptionError, InvalidInputError, UnsupportedError
from storagedb.index.keyhash import KEYHASH_VERSION

__all__ = [
    "BloomFilter",
    "BloomHeader",
    "DEFAULT_BITS_PER_KEY",
    "FORMAT_VERSION",
    "HEADER",
    "HEADER_SIZE",
    "MAGIC",
    "parse_header",
]

MAGIC = b"SDBF"
FORMAT_VERSION = 1

#: Layout of the header in the module docstring's table.
HEADER = struct.Struct("<4sBBBBIII")
HEADER_SIZE = 4 + 1 + 1 + 1 + 1 + 4 + 4 + 4

#: The checksum covers the header up to the checksum field itself.
_CHECKSUMMED_HEADER_SIZE = HEADER_SIZE - 4

#: 10 bits per key gives a 0.82% false-positive rate with 7 probes.
DEFAULT_BITS_PER_KEY = 10

#: bits_per_key is stored in one byte.
_MAX_BITS_PER_KEY = 255

#: 30 probes give a false-positive rate of about 10**-9 (see above).
_MAX_HASHES = 30

#: A filter has at least 64 bits: a handful of keys in fewer bits would give
#: a high false-positive rate, and 8 bytes cost nothing. An empty filter is
#: 64 zero bits, so every probe returns False without a special case.
_MIN_BITS = 64

#: num_bits is a u32 and a multiple of 8. The fast-range reduction of a
#: 32-bit probe value also needs m <= 2**32.
_MAX_BITS = 2**32 - 8
_MAX_KEYS = 2**32 - 1

_MASK32 = 0xFFFFFFFF


class BloomHeader(NamedTuple):
    """The header fields of a serialized filter, in on-disk order."""

    magic: bytes
    format_version: int
    keyhash_version: int
    num_hashes: int
    bits_per_key: int
    num_bits: int
    num_keys: int
    checksum: int

    @property
    def total_size(self) -> int:
        """Bytes of the serialized filter: the header and the bit array."""
        return HEADER_SIZE + self.num_bits // 8


def _num_hashes(bits_per_key: int) -> int:
    return min(_MAX_HASHES, max(1, round(bits_per_key * math.log(2))))


def _num_bits(num_keys: int, bits_per_key: int) -> int:
    return max(_MIN_BITS, (num_keys * bits_per_key + 7) // 8 * 8)


def _checksum(header_prefix: bytes | memoryview, bit_array: bytes | memoryview) -> int:
    return zlib.crc32(bit_array, zlib.crc32(header_prefix))


def _corrupt(source: str, problem: str) -> CorruptionError:
    where = f" in {source}" if source else ""
    return CorruptionError(f"Bloom filter{where} is corrupt: {problem}")


def parse_header(buffer: bytes | bytearray | memoryview, source: str = "") -> BloomHeader:
    """Unpack and validate the header at the start of ``buffer``.

    Only the header is checked, which makes this the way to learn how many
    bytes the whole filter takes (``total_size``) before reading them.
    ``source`` names the file or segment in error messages.

    Example::

        >>> bloom = BloomFilter.build(np.zeros(0, dtype=np.uint64))
        >>> parse_header(bloom.to_bytes()[:HEADER_SIZE]).total_size
        28

    Raises:
        CorruptionError: the buffer is shorter than the header, or a field
            is invalid or disagrees with the others. The message names the
            field, the expected and the found value.
    """
    view = memoryview(buffer).cast("B")
    if len(view) < HEADER_SIZE:
        raise _corrupt(source, f"header truncated: expected {HEADER_SIZE} bytes, found {len(view)}")
    header = BloomHeader._make(HEADER.unpack_from(view, 0))

    if header.magic != MAGIC:
        raise _corrupt(source, f"magic is {header.magic!r}, expected {MAGIC!r}")
    if header.format_version != FORMAT_VERSION:
        raise _corrupt(source, f"format version is {header.format_version}, expected {FORMAT_VERSION}")
    if header.keyhash_version != KEYHASH_VERSION:
        raise _corrupt(
            source,
            f"key hash version is {header.keyhash_version}, expected {KEYHASH_VERSION}",
        )
    if not 1 <= header.bits_per_key <= _MAX_BITS_PER_KEY:
        raise _corrupt(source, f"bits per key is {header.bits_per_key}, expected 1 to {_MAX_BITS_PER_KEY}")

    expected_hashes = _num_hashes(header.bits_per_key)
    if header.num_hashes != expected_hashes:
        raise _corrupt(
            source,
            f"number of hashes is {header.num_hashes}, expected {expected_hashes} "
            f"for {header.bits_per_key} bits per key",
        )

    expected_bits = _num_bits(header.num_keys, header.bits_per_key)
    if header.num_bits != expected_bits:
        raise _corrupt(
            source,
            f"number of bits is {header.num_bits}, expected {expected_bits} "
            f"for {header.num_keys} keys at {header.bits_per_key} bits per key",
        )
    return header


class BloomFilter:
    """An immutable Bloom filter over 64-bit key hashes.

    Build one with :meth:`build` or read one with :meth:`from_bytes`.
    Attributes for reports such as ``storagedb info``: ``num_keys``,
    ``bits_per_key``, ``num_hashes`` (k), ``num_bits`` (m) and
    ``size_bytes`` (serialized size).

    Invariant: ``num_bits`` is a multiple of 8 and at least 64, and
    ``len(bit_array) == num_bits // 8``. Nothing changes after construction,
    so threads may share a filter without a lock.
    """

    __slots__ = ("num_keys", "bits_per_key", "num_hashes", "num_bits", "_bit_array", "_probe_range")

    def __init__(self, bit_array: bytes, num_keys: int, bits_per_key: int) -> None:
        # Private: callers use build() or from_bytes(), which validate.
        self.num_keys = num_keys
        self.bits_per_key = bits_per_key
        self.num_hashes = _num_hashes(bits_per_key)
        self.num_bits = len(bit_array) * 8
        self._bit_array = bit_array
        self._probe_range = range(self.num_hashes)

    @classmethod
    def build(cls, hashes: np.ndarray, bits_per_key: int = DEFAULT_BITS_PER_KEY) -> BloomFilter:
        """Build a filter over key hashes from ``hash_key_columns``.

        Takes 25 to 35 ms for 600,000 keys at 10 bits per key on a 2-core
        x86-64 VM (``benchmarks/bloom_bench.py``). ``num_keys`` counts
        duplicate hashes too.

        Example::

            >>> bloom = BloomFilter.build(np.array([1, 2, 3], dtype=np.uint64), bits_per_key=16)
            >>> (bloom.num_keys, bloom.num_hashes, bloom.num_bits)
            (3, 11, 64)

        Raises:
            InvalidInputError: ``hashes`` is not a one-dimensional uint64
                array, or ``bits_per_key`` is not an int from 1 to 255.
            UnsupportedError: the filter would need more than 2**32 - 8 bits.
        """
        hashes = np.asarray(hashes)
        if hashes.dtype != np.uint64 or hashes.ndim != 1:
            raise InvalidInputError(
                f"Bloom filter hashes must be a 1-D uint64 array from hash_key_columns, "
                f"got a {hashes.ndim}-D {hashes.dtype} array"
            )
        if isinstance(bits_per_key, bool) or not isinstance(bits_per_key, int):
            raise InvalidInputError(f"bits_per_key must be an int, got {bits_per_key!r}")
        if not 1 <= bits_per_key <= _MAX_BITS_PER_KEY:
            raise InvalidInputError(
                f"bits_per_key is {bits_per_key}, expected 1 to {_MAX_BITS_PER_KEY} "
                f"(10 gives a 0.82% false-positive rate)"
            )
        num_keys = len(hashes)
        num_bits = _num_bits(num_keys, bits_per_key)
        if num_keys > _MAX_KEYS or num_bits > _MAX_BITS:
            raise UnsupportedError(
                f"a Bloom filter of {num_keys} keys at {bits_per_key} bits per key needs {num_bits} bits, "
                f"more than the {_MAX_BITS} one filter can hold. "
                f"Use fewer keys per segment or fewer bits per key"
            )

        bits = np.zeros(num_bits, dtype=bool)
        probe = hashes & np.uint64(_MASK32)
        step = hashes >> np.uint64(32)
        positions = np.empty_like(probe)
        for _ in range(_num_hashes(bits_per_key)):
            np.multiply(probe, np.uint64(num_bits), out=positions)
            positions >>= np.uint64(32)
            # Positions are below 2**32, so the int64 view is the same values.
            # Indexing with int64 is about twice as fast as with uint64, which
            # numpy converts first.
            bits[positions.view(np.int64)] = True
            probe += step
            probe &= np.uint64(_MASK32)

        bit_array = np.packbits(bits, bitorder="little").tobytes()
        return cls(bit_array, num_keys, bits_per_key)

    def may_contain(self, key_hash: int) -> bool:
        """Return False if the key with this hash is certainly absent.

        ``key_hash`` is a Python int from ``hash_key``. This is pure Python
        over a ``bytes`` bit array, because ``may_contain_many`` takes about
        60 us for a single hash. An absent key usually stops at the first or
        second probe and takes about 0.45 us. A present key at k = 7 takes
        1.3 us (``benchmarks/bloom_bench.py``, 2-core x86-64 VM).

        Example::

            >>> BloomFilter.build(np.zeros(0, dtype=np.uint64)).may_contain(12345)
            False
        """
        bit_array = self._bit_array
        num_bits = self.num_bits
        probe = key_hash & _MASK32
        step = key_hash >> 32
        for _ in self._probe_range:
            position = (probe * num_bits) >> 32
            if not (bit_array[position >> 3] >> (position & 7)) & 1:
                return False
            probe = (probe + step) & _MASK32
        return True

    def may_contain_many(self, hashes: np.ndarray) -> np.ndarray:
        """Return a bool array: False where a key is certainly absent.

        ``hashes`` is a uint64 array from ``hash_key_columns``. Element ``i``
        equals ``may_contain(int(hashes[i]))``.

        Raises:
            InvalidInputError: ``hashes`` is not a one-dimensional uint64 array.
        """
        hashes = np.asarray(hashes)
        if hashes.dtype != np.uint64 or hashes.ndim != 1:
            raise InvalidInputError(
                f"Bloom filter hashes must be a 1-D uint64 array from hash_key_columns, "
                f"got a {hashes.ndim}-D {hashes.dtype} array"
            )
        bytes_array = np.frombuffer(self._bit_array, dtype=np.uint8)
        result = np.ones(len(hashes), dtype=bool)
        probe = hashes & np.uint64(_MASK32)
        step = hashes >> np.uint64(32)
        for _ in self._probe_range:
            positions = (probe * np.uint64(self.num_bits)) >> np.uint64(32)
            byte_values = bytes_array[(positions >> np.uint64(3)).view(np.int64)]
            shifts = (positions & np.uint64(7)).astype(np.uint8)
            result &= ((byte_values >> shifts) & 1).astype(bool)
            probe += step
            probe &= np.uint64(_MASK32)
        return result

    def expected_false_positive_rate(self) -> float:
        """Return the theoretical false-positive rate, (1 - e^(-k n / m))^k.

        An empty filter returns 0.0 because it contains no set bit.
        """
        if self.num_keys == 0:
            return 0.0
        fill = 1.0 - math.exp(-self.num_hashes * self.num_keys / self.num_bits)
        return fill**self.num_hashes

    @property
    def size_bytes(self) -> int:
        """Bytes of the serialized filter: header and bit array."""
        return HEADER_SIZE + len(self._bit_array)

    def to_bytes(self) -> bytes:
        """Serialize the filter: the header in the module docstring, then the bits."""
        prefix = HEADER.pack(
            MAGIC,
            FORMAT_VERSION,
            KEYHASH_VERSION,
            self.num_hashes,
            self.bits_per_key,
            self.num_bits,
            self.num_keys,
            0,
        )[:_CHECKSUMMED_HEADER_SIZE]
        checksum = _checksum(prefix, self._bit_array)
        return b"".join((prefix, checksum.to_bytes(4, "little"), self._bit_array))

    @classmethod
    def from_bytes(cls, buffer: bytes | bytearray | memoryview, source: str = "") -> BloomFilter:
        """Read a filter written by :meth:`to_bytes`.

        ``buffer`` must hold exactly one serialized filter. The bit array is
        copied, so the buffer (a buffer pool frame, say) may be reused
        afterwards. ``source`` names the file or segment in error messages.

        Example::

            >>> bloom = BloomFilter.build(np.array([42], dtype=np.uint64))
            >>> BloomFilter.from_bytes(bloom.to_bytes()).may_contain(42)
            True

        Raises:
            CorruptionError: a header field is invalid (see
                :func:`parse_header`), the buffer length differs from the
                size the header gives, or the checksum does not match.
        """
        view = memoryview(buffer).cast("B")
        header = parse_header(view, source)
        if len(view) != header.total_size:
            raise _corrupt(
                source,
                f"length is {len(view)} bytes, expected {header.total_size} "
                f"({HEADER_SIZE}-byte header and {header.num_bits // 8}-byte bit array)",
            )
        bit_view = view[HEADER_SIZE:]
        checksum = _checksum(view[:_CHECKSUMMED_HEADER_SIZE], bit_view)
        if checksum != header.checksum:
            raise _corrupt(
                source,
                f"stored checksum {header.checksum:#010x} does not match {checksum:#010x}, "
                f"computed over the header and bit array",
            )
        return cls(bytes(bit_view), header.num_keys, header.bits_per_key)

    def __repr__(self) -> str:
        return (
            f"BloomFilter(num_keys={self.num_keys}, bits_per_key={self.bits_per_key}, "
            f"num_hashes={self.num_hashes}, num_bits={self.num_bits}, "
            f"expected_false_positive_rate={self.expected_false_positive_rate():.4%})"
        )
