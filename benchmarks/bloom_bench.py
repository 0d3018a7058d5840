"""Benchmark key hashing and Bloom filters at the size of a TPC-H SF 0.1 load.

Run from the repository root::

    python benchmarks/bloom_bench.py [--keys 600000] [--bits-per-key 10]

Prints the best of several runs for each of these:

* hashing and building a filter over 600,000 int64 keys, over 600,000
  composite (int64, int64) keys and over 600,000 short text keys;
* the pure-Python probe rate for present and absent keys, with and without
  ``hash_key``, and the vectorised probe rate;
* serialization and deserialization;
* the measured false-positive rate on 100,000 absent keys, against theory.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from storagedb.index.bloom import BloomFilter  # noqa: E402
from storagedb.index.keyhash import hash_key, hash_key_columns  # noqa: E402

#: Number of present keys and of absent keys probed.
PROBE_KEYS = 100_000


def best_seconds(function: Callable[[], object], repeats: int) -> float:
    """Return the fastest of ``repeats`` timed calls, in seconds."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def report_build(
    label: str, columns: list[np.ndarray], kinds: list[str], bits_per_key: int, repeats: int
) -> None:
    hashes = hash_key_columns(columns, kinds)
    hash_seconds = best_seconds(lambda: hash_key_columns(columns, kinds), repeats)
    build_seconds = best_seconds(lambda: BloomFilter.build(hashes, bits_per_key), repeats)
    print(
        f"{label:<34} hash {hash_seconds * 1e3:7.1f} ms   build {build_seconds * 1e3:7.1f} ms   "
        f"total {(hash_seconds + build_seconds) * 1e3:7.1f} ms"
    )


def report_probes(bloom: BloomFilter, present: list[tuple], absent: list[tuple], kinds: list[str]) -> None:
    present_hashes = [hash_key(key, kinds) for key in present]
    absent_hashes = [hash_key(key, kinds) for key in absent]
    may_contain = bloom.may_contain

    for label, hashes in (("present", present_hashes), ("absent", absent_hashes)):
        seconds = best_seconds(lambda: [may_contain(key_hash) for key_hash in hashes], 5)
        print(
            f"may_contain, {label:<8} keys           {len(hashes) / seconds / 1e6:5.2f} M probes/s   "
            f"{seconds / len(hashes) * 1e6:5.2f} us per probe"
        )
    for label, keys in (("present", present), ("absent", absent)):
        seconds = best_seconds(lambda: [may_contain(hash_key(key, kinds)) for key in keys], 5)
        print(
            f"hash_key + may_contain, {label:<8}    {len(keys) / seconds / 1e6:5.2f} M probes/s   "
            f"{seconds / len(keys) * 1e6:5.2f} us per probe"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keys", type=int, default=600_000, help="number of keys in the filter (default 600000)"
    )
    parser.add_argument("--bits-per-key", type=int, default=10, help="Bloom filter bits per key (default 10)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=7,
        help="timed runs per measurement, of which the fastest is printed (default 7)",
    )
    arguments = parser.parse_args()
    num_keys, bits_per_key, repeats = arguments.keys, arguments.bits_per_key, arguments.repeats

    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {num_keys} keys at {bits_per_key} bits per key; best of {repeats}"
    )

    # Build: single int64 keys and (order key, line number) composite keys.
    ids = np.arange(num_keys, dtype=np.int64)
    orders = ids // 4
    lines = ids % 4
    report_build("int64 keys", [ids], ["int64"], bits_per_key, repeats)
    report_build("composite (int64, int64) keys", [orders, lines], ["int64", "int64"], bits_per_key, repeats)
    texts = np.array([f"customer#{i:09d}" for i in range(num_keys)], dtype=object)
    report_build("text keys (18 characters)", [texts], ["text"], bits_per_key, max(1, repeats // 3))

    # Probes through the get path: pure Python, one key at a time.
    bloom = BloomFilter.build(hash_key_columns([ids], ["int64"]), bits_per_key)
    rng = np.random.default_rng(42)
    present = [(int(key),) for key in rng.choice(ids, size=PROBE_KEYS, replace=False)]
    absent = [(int(key),) for key in range(num_keys, num_keys + PROBE_KEYS)]
    report_probes(bloom, present, absent, ["int64"])

    # Vectorised probes and serialization.
    absent_hashes = hash_key_columns([np.arange(num_keys, num_keys + PROBE_KEYS, dtype=np.int64)], ["int64"])
    seconds = best_seconds(lambda: bloom.may_contain_many(absent_hashes), repeats)
    print(f"may_contain_many, absent keys       {PROBE_KEYS / seconds / 1e6:5.1f} M probes/s")
    data = bloom.to_bytes()
    write_seconds = best_seconds(bloom.to_bytes, repeats)
    read_seconds = best_seconds(lambda: BloomFilter.from_bytes(data), repeats)
    print(
        f"to_bytes {write_seconds * 1e3:.2f} ms, from_bytes {read_seconds * 1e3:.2f} ms "
        f"for {bloom.size_bytes} bytes"
    )

    # False-positive rate on absent keys, against theory.
    measured = float(bloom.may_contain_many(absent_hashes).mean())
    print(
        f"false-positive rate on {PROBE_KEYS} absent keys: measured {measured:.3%}, "
        f"theory {bloom.expected_false_positive_rate():.3%} (k = {bloom.num_hashes})"
    )


if __name__ == "__main__":
    main()
