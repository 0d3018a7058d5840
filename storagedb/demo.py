"""``storagedb demo``: load the bundled sample data and show the engine at work."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from . import connect

__all__ = ["run_demo", "seeds_directory"]


def seeds_directory() -> str | None:
    """Return the ``seeds/`` folder of the source checkout this package sits in, or None."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidate = os.path.join(os.path.dirname(here), "seeds")
    return candidate if os.path.isfile(os.path.join(candidate, "lineitem.csv")) else None


def run_demo(keep: str | None = None) -> int:
    """Load seeds/lineitem.csv, orders.csv and flights.csv; print info, a scan and a lookup."""
    from .cli_format import write_table
    from .errors import NotFoundError
    from .inspect import database_info, print_info
    from .where import parse_where

    seeds = seeds_directory()
    if seeds is None:
        raise NotFoundError("the demo needs the seeds/ folder of a storagedb source checkout")
    directory = keep or tempfile.mkdtemp(prefix="storagedb-demo-")
    path = os.path.join(directory, "demo.db") if keep is None else directory
    out = sys.stdout
    try:
        with connect(path) as db:
            plan = [
                ("lineitem", "lineitem.csv", ["l_orderkey", "l_linenumber"], "nsm"),
                ("orders", "orders.csv", ["o_orderkey"], "pax"),
                ("flights", "flights.csv", None, "dsm"),
            ]
            for name, file_name, key, layout in plan:
                if name in db.table_names():
                    continue
                result = db.load(name, os.path.join(seeds, file_name), primary_key=key, layout=layout)
                print(
                    f"loaded {result.rows:,} rows of {file_name} into {name} ({layout}) in {result.seconds:.2f} s",
                    file=out,
                )
            print(file=out)
            print_info(out, database_info(db))

            lineitem = db.table("lineitem")
            where = "l_shipdate >= '1995-03-01' AND l_shipdate < '1995-03-02' AND l_quantity > 45"
            print(f"\nscan lineitem where {where}:", file=out)
            rows = list(
                lineitem.scan(
                    ["l_orderkey", "l_linenumber", "l_quantity", "l_extendedprice", "l_shipdate"], parse_where(where)
                )
            )
            write_table(out, ["l_orderkey", "l_linenumber", "l_quantity", "l_extendedprice", "l_shipdate"], rows)
            print("\nget lineitem (1, 1):", file=out)
            row = lineitem.get((1, 1))
            write_table(out, ["column", "value"], list(row.items()) if row else [])
            stats = lineitem.stats()
            print(
                f"lookups {stats['lookups']}, segments skipped by key range {stats['segments_skipped_by_range']}, "
                f"by Bloom filter {stats['segments_skipped_by_bloom']}",
                file=out,
            )
    finally:
        if keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    if keep is None:
        print("\nThe demo database was temporary and is deleted; 'storagedb demo --keep DIR' keeps one.", file=out)
    return 0
