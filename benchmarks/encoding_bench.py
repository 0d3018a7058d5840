"""Benchmark the column encodings on TPC-H lineitem columns.

Run from the repository root::

    python benchmarks/encoding_bench.py [--csv PATH] [--rows-per-chunk 65536] [--repeats 5]

The default input is ``/tmp/tpch01/lineitem.csv`` (TPC-H scale factor 0.1,
made by ``tpchgen-cli csv -s 0.1 -T lineitem -o /tmp/tpch01``) when it
exists, else ``seeds/lineitem.csv`` (scale factor 0.01). Columns are cut into
chunks of ``--rows-per-chunk`` rows, as the layouts store them:

* ``l_orderkey`` (sorted int64 key), ``l_partkey`` (int64);
* ``l_quantity``, ``l_extendedprice`` and ``l_discount`` as scaled int64
  decimals (scale 2);
* ``l_returnflag`` and ``l_shipmode`` (low-cardinality text);
* ``l_shipdate`` (int32 days since 1970-01-01);
* ``l_comment`` (free text).

It encodes each column with every encoding the column's kind supports, and
with ``auto``, once without compression and once with
``compression="auto"``. For each it prints the compression ratio (plain size
over stored size) and the encode and decode speed in MB/s of plain-form
values, the best of ``--repeats`` runs over all chunks of the column.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from storagedb.encoding import ChunkView, decode_chunk, encode_chunk  # noqa: E402

DEFAULT_CSV = "/tmp/tpch01/lineitem.csv"
SEED_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "seeds", "lineitem.csv")
INTEGER_ENCODINGS = ("auto", "plain", "dictionary", "rle", "bitpack", "delta", "for")
OTHER_ENCODINGS = ("auto", "plain", "dictionary", "rle")


def best_seconds(function: Callable[[], object], repeats: int) -> float:
    """Return the fastest of ``repeats`` timed calls, in seconds."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def scaled_decimal(texts: list[str], scale: int) -> np.ndarray:
    """Parse decimal strings to int64 values times 10**scale (exact below 2**53)."""
    return np.rint(np.array(texts, dtype=np.float64) * 10**scale).astype(np.int64)


def load_columns(path: str) -> dict[str, tuple[np.ndarray, str]]:
    """Read lineitem and return {column: (values, kind)}."""
    gc.disable()
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            fields = list(zip(*reader))
    finally:
        gc.enable()
    column = dict(zip(header, fields))

    def text(name: str) -> np.ndarray:
        values = np.empty(len(column[name]), dtype=object)
        values[:] = column[name]
        return values

    return {
        "l_orderkey": (np.array(column["l_orderkey"], dtype=np.int64), "int64"),
        "l_partkey": (np.array(column["l_partkey"], dtype=np.int64), "int64"),
        "l_quantity": (scaled_decimal(column["l_quantity"], 2), "int64"),
        "l_extendedprice": (scaled_decimal(column["l_extendedprice"], 2), "int64"),
        "l_discount": (scaled_decimal(column["l_discount"], 2), "int64"),
        "l_shipdate": (np.array(column["l_shipdate"], dtype="datetime64[D]").astype(np.int32), "int32"),
        "l_returnflag": (text("l_returnflag"), "text"),
        "l_shipmode": (text("l_shipmode"), "text"),
        "l_comment": (text("l_comment"), "text"),
    }


def measure(chunks: list[np.ndarray], kind: str, encoding: str, compression: str, repeats: int) -> str:
    """Return one report line for encoding every chunk of a column one way."""
    encoded = [encode_chunk(chunk, None, kind, encoding=encoding, compression=compression) for chunk in chunks]
    views = [ChunkView(buffer) for buffer in encoded]
    raw = sum(view.raw_bytes for view in views)
    stored = sum(view.stored_bytes for view in views)

    encode_seconds = best_seconds(
        lambda: [encode_chunk(chunk, None, kind, encoding=encoding, compression=compression) for chunk in chunks],
        repeats,
    )
    decode_seconds = best_seconds(lambda: [decode_chunk(buffer) for buffer in encoded], repeats)

    chosen = sorted({f"{view.encoding}/{view.compression}" for view in views})
    shown = ", ".join(chosen) if len(chosen) <= 2 else f"{chosen[0]} and {len(chosen) - 1} more"
    per_chunk_ms = encode_seconds / len(chunks) * 1e3
    return (
        f"  {encoding:<10} {compression:<5} ratio {raw / stored:6.2f}   "
        f"encode {raw / encode_seconds / 1e6:8.1f} MB/s ({per_chunk_ms:6.2f} ms/chunk)   "
        f"decode {raw / decode_seconds / 1e6:8.1f} MB/s   -> {shown}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = DEFAULT_CSV if os.path.exists(DEFAULT_CSV) else SEED_CSV
    parser.add_argument("--csv", default=default, help=f"lineitem CSV with a header row (default {default})")
    parser.add_argument("--rows-per-chunk", type=int, default=65_536, help="rows per column chunk (default 65536)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement; the best counts")
    parser.add_argument("--columns", nargs="*", help="only these columns (default all)")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} CPUs")
    columns = load_columns(args.csv)
    rows = len(next(iter(columns.values()))[0])
    print(f"{args.csv}: {rows} rows, chunks of {args.rows_per_chunk} rows\n")

    for name, (values, kind) in columns.items():
        if args.columns and name not in args.columns:
            continue
        chunks = [values[start : start + args.rows_per_chunk] for start in range(0, rows, args.rows_per_chunk)]
        encodings = INTEGER_ENCODINGS if kind.startswith("int") else OTHER_ENCODINGS
        print(f"{name} ({kind}, {len(chunks)} chunks)")
        for encoding in encodings:
            for compression in ("none", "auto"):
                print(measure(chunks, kind, encoding, compression, args.repeats))
        print()


if __name__ == "__main__":
    main()
