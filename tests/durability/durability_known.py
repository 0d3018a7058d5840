"""Known databases for the corruption tests, built through the public API.

* :func:`build_segment_database`: table ``t`` in one layout, with every
  kind of segment page. A bulk-loaded sealed segment has several row
  groups, NULLs and deleted rows (so a delete-vector file). A one-row
  segment contains a row bigger than a page (an overflow chain under NSM).
* :func:`build_log_database`: a database whose process died without a
  checkpoint, so ``wal.log`` holds a record of every type: INSERT,
  DELETE_OPEN, UPDATE_OPEN, DELETE_SEALED, CREATE_TABLE, DROP_TABLE,
  ADD_SEGMENTS, SEAL, REPLACE_SEGMENTS and COMMIT.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

import storagedb

#: Keys looked up after every scan: present, deleted, absent, in each segment.
LOOKUPS = [["t", key] for key in (0, 1, 7, 97, 2500, 5999, 10_000, -1, 123_456)]


def build_segment_database(path: str, layout: str) -> None:
    with storagedb.connect(path, pool_size=4 << 20) as db:
        table = db.create_table(
            "t",
            [("id", "int64", "not null"), ("f", "float64"), ("s", "text"), ("b", "bool")],
            primary_key="id",
            layout=layout,
            row_group_rows=1000,
        )
        ids = np.arange(6000)
        table.insert_many(
            {
                "id": ids,
                "f": np.ma.array(ids * 0.5, mask=ids % 7 == 0),
                "s": np.array([f"s{i}" * (i % 5) for i in ids], dtype=object),
                "b": np.ma.array(ids % 3 == 0, mask=ids % 11 == 0),
            }
        )
        table.insert({"id": 10_000, "f": None, "s": "Z" * 10_000, "b": True})
        db.checkpoint()
        for key in range(0, 6000, 97):
            table.delete(key)


_LOG_WORKLOAD = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import storagedb

    db = storagedb.connect(sys.argv[1], synchronous="full", checkpoint_bytes=1 << 30, pool_size=4 << 20)
    t = db.create_table("t", [("id", "int64", "not null"), ("v", "int64"), ("s", "text")], primary_key="id")
    ids = np.arange(5000)
    t.insert_many({"id": ids, "v": ids, "s": np.array([f"r{i}" for i in ids], dtype=object)})
    db.checkpoint()

    for i in range(10_000, 10_003):
        t.insert({"id": i, "v": -i, "s": "single"})
    with db.transaction():
        for i in range(0, 200, 10):
            t.update(i, {"v": i + 1})
        for i in range(1, 200, 10):
            t.delete(i)
    t.update(10_001, {"s": "x" * 6000})
    t.delete(10_002)
    with db.transaction():
        u = db.create_table("u", [("k", "text", "not null"), ("n", "int64")], primary_key="k", layout="pax")
        u.insert({"k": "first", "n": 1})
    u = db.table("u")
    u.insert_many({"k": np.array([f"k{i}" for i in range(5000)], dtype=object), "n": np.arange(5000)})
    u.delete("k17")
    u.compact()
    db.create_table("gone", [("x", "int64")])
    db.drop_table("gone")
    t.seal()
    t.insert({"id": 10_010, "v": 0, "s": "after seal"})
    os._exit(0)  # a crash: no checkpoint, so the log keeps every record
    """
)


def build_log_database(path: str) -> None:
    subprocess.run([sys.executable, "-c", _LOG_WORKLOAD, path], check=True)
