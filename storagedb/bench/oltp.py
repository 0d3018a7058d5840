"""The OLTP suite: builds the databases, then runs the workloads of ``workloads.py``.

Every storagedb layout, sqlite3 and DuckDB get their own copy of lineitem,
loaded from the same CSV file (the loads are timed as the ``load`` entry).
sqlite3 runs in WAL mode with ``synchronous=NORMAL`` and storagedb with
``synchronous="normal"`` when it has that option, so that neither forces
the disk at every commit of workloads A to F; the ``insert`` workload
measures commits with and without that.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import storagedb

from . import data
from .loads import timed_load
from .results import Entry
from .systems import insert_row
from .systems.duckdb_system import DuckdbDatabase
from .systems.sqlite_system import SqliteDatabase
from .systems.storagedb_system import StoragedbDatabase, StoragedbTable, supports_synchronous
from .workloads import INSERT, KeySpace, Slot, entries_from_runs, generate_ops, run_workload

__all__ = ["run_oltp"]

#: Bits per key of the Bloom filters in the seg16 tables (storagedb's default).
BLOOM_BITS = 10
SEGMENTS = 16
#: Buffer pool of the commit workload's databases; their tables stay far smaller.
COMMIT_POOL_SIZE = 16 << 20


def run_oltp(config: Any, log: Callable[[str], None]) -> tuple[list[Entry], list[str]]:
    """Run the selected OLTP workloads; returns the entries and the answer mismatches."""
    csv_path = str(data.tpch_lineitem(config.scale, config.data_dir, log))
    work = Path(config.work_dir) / "oltp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    entries: list[Entry] = []
    problems: list[str] = []
    opened: list[Any] = []
    try:
        keys = _read_keys(csv_path)
        space = KeySpace.build(keys, config.seed, count=max(config.ops, 10_000))
        log(f"lineitem at scale factor {config.scale:g}: {len(keys):,} rows")
        synchronous = "normal" if supports_synchronous() else None

        # Load every system (timed), then build the 16-segment tables.
        targets, load_entries = _load_all(config, csv_path, work, synchronous, len(keys), opened, log)
        entries += load_entries
        problems += [
            f"oltp load: {e.label} loaded {e.extra.get('rows')} rows, expected {len(keys)}"
            for e in load_entries
            if not e.answer_ok
        ]
        seg16 = _build_seg16(config, targets, entries, log) if "seg16" in config.workloads else {}

        # Point lookups, then the YCSB mixes (read-only ones first), then commits.
        if "get" in config.workloads or "seg16" in config.workloads:
            for query in ("get_existing", "get_absent"):
                slots = _get_slots(config, targets, seg16, query)
                _run(
                    query,
                    slots,
                    lambda run, q=query: generate_ops(q, run, config.ops, space, "uniform", config.seed),
                    config,
                    entries,
                    problems,
                    "uniform",
                    log,
                )
        for workload in ("C", "B", "A", "F", "E", "D"):
            if workload in config.workloads:
                slots = [Slot(label, target, f"ycsb_{workload.lower()}") for label, target in targets]
                distribution = "latest" if workload == "D" else config.distribution
                _run(
                    f"ycsb_{workload.lower()}",
                    slots,
                    lambda run, w=workload: generate_ops(w, run, config.ops, space, config.distribution, config.seed),
                    config,
                    entries,
                    problems,
                    distribution,
                    log,
                )
        if "insert" in config.workloads:
            _run_commits(config, work, entries, problems, opened, log)
    finally:
        for item in opened:
            try:
                item.close()
            except Exception as exc:  # noqa: BLE001 - a failed close must not hide the error of the run itself
                log(f"closing {getattr(item, 'path', item)} failed: {exc}")
        if not config.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    return entries, problems


def _run(name, slots, make_ops, config, entries, problems, distribution, log) -> None:
    log(f"{name}: {len(slots)} targets, {config.ops:,} operations per run")
    records, found = run_workload(name, slots, make_ops, config, log)
    entries.extend(entries_from_runs(slots, records, found, config, distribution))
    problems.extend(message for _, message in found)


def _read_keys(csv_path: str) -> np.ndarray:
    """Read every (l_orderkey, l_linenumber) of the CSV with DuckDB, in key order."""
    import duckdb

    with duckdb.connect() as conn:
        conn.execute("SET enable_progress_bar = false")
        result = conn.execute(
            "SELECT l_orderkey, l_linenumber FROM read_csv(?, header = true) ORDER BY 1, 2", [csv_path]
        ).fetchnumpy()
    return np.column_stack([np.asarray(result["l_orderkey"], np.int64), np.asarray(result["l_linenumber"], np.int64)])


def _load_all(config, csv_path, work, synchronous, expected_rows, opened, log):
    """Load lineitem into every system; returns [(label, target)] and the load entries."""
    targets: list[tuple[str, Any]] = []
    entries: list[Entry] = []

    if "sqlite" in config.compare:

        def build_sqlite(path: Path):
            database = SqliteDatabase(str(path / "lineitem.sqlite"), synchronous="NORMAL", cache_bytes=config.pool_size)
            return database, lambda: database.load_lineitem(csv_path)

        database, entry = timed_load(config, "oltp", "sqlite", None, work, build_sqlite, expected_rows, log)
        opened.append(database)
        targets.append(("sqlite", database))
        entries.append(entry)

    if "duckdb" in config.compare:

        def build_duckdb(path: Path):
            database = DuckdbDatabase(str(path / "lineitem.duckdb"))
            return database, lambda: database.load_lineitem(csv_path, primary_key=True)

        database, entry = timed_load(config, "oltp", "duckdb", None, work, build_duckdb, expected_rows, log)
        entry.extra["note"] = "with primary key"
        opened.append(database)
        targets.append(("duckdb", database))
        entries.append(entry)

    for layout in config.layouts:

        def build_storagedb(path: Path, layout=layout):
            database = StoragedbDatabase(str(path / "db"), layout, pool_size=config.pool_size, synchronous=synchronous)
            return database, lambda: database.load_lineitem(csv_path).row_count()

        database, entry = timed_load(config, "oltp", "storagedb", layout, work, build_storagedb, expected_rows, log)
        if synchronous:
            entry.extra["synchronous"] = synchronous
        opened.append(database)
        targets.append((f"storagedb/{layout}", StoragedbTable(database, "lineitem")))
        entries.append(entry)
    return targets, entries


# -- 16 segments, Bloom filters on and off ----------------------------------------


def _build_seg16(config, targets, entries, log) -> dict[str, list[tuple[str, Any, dict[str, Any]]]]:
    """Copy each layout's lineitem into tables of 16 segments, with and without Bloom filters.

    Returns, per layout label, the seg16 tables as (query suffix, target, extra).
    """
    built: dict[str, list[tuple[str, Any, dict[str, Any]]]] = {}
    for label, target in targets:
        if target.system != "storagedb":
            continue
        columns = target.read_all_columns()
        order = np.lexsort((columns["l_linenumber"], columns["l_orderkey"]))
        if config.segments_split == "contiguous":
            slices = np.array_split(order, SEGMENTS)
        else:
            slices = [order[i::SEGMENTS] for i in range(SEGMENTS)]
        built[label] = []
        for suffix, bits in (("16seg", BLOOM_BITS), ("16seg_nobloom", 0)):
            name = f"lineitem_{suffix}"
            extra = {"segments": SEGMENTS, "bloom_bits_per_key": bits, "segments_split": config.segments_split}
            try:
                table = target.database.create_lineitem(name, bloom_bits_per_key=bits)
            except storagedb.SchemaError as exc:
                log(f"  {label}: cannot build {name}: {exc}")
                entries.append(
                    _skipped(
                        config, target, f"get_existing_{suffix}", f"storagedb cannot turn Bloom filters off: {exc}"
                    )
                )
                entries.append(
                    _skipped(config, target, f"get_absent_{suffix}", f"storagedb cannot turn Bloom filters off: {exc}")
                )
                continue
            log(f"  {label}: building {name} from {SEGMENTS} insert_many calls ({config.segments_split} key ranges)")
            for piece in slices:
                table.table.insert_many({column: values[piece] for column, values in columns.items()})
                # A small slice goes to the open segment; the checkpoint seals
                # it, so every slice becomes one segment at any scale factor.
                target.database.db.checkpoint()
            segments = len(table.table.segments())
            extra["segments"] = segments
            if segments != SEGMENTS:
                extra["note"] = f"{segments} segments instead of {SEGMENTS}"
            built[label].append((suffix, table, extra))
    return built


def _skipped(config, target, query: str, note: str) -> Entry:
    return Entry("oltp", query, target.system, target.layout, config.scale, extra={"skipped": True, "note": note})


def _get_slots(config, targets, seg16, query: str) -> list[Slot]:
    slots = []
    for label, target in targets:
        if target.system != "storagedb" or "get" in config.workloads:
            slots.append(Slot(label, target, query))
    for label, tables in seg16.items():
        for suffix, table, extra in tables:
            slots.append(Slot(f"{label} {suffix}", table, f"{query}_{suffix}", dict(extra, base_query=query)))
    return slots


# -- single-row inserts, one commit each -----------------------------------------


def _run_commits(config, work: Path, entries, problems, opened, log) -> None:
    commit_config = dataclasses.replace(config, ops=config.commit_ops)
    has_modes = supports_synchronous()
    for mode in ("full", "normal"):
        query = f"insert_commit_{mode}"
        slots: list[Slot] = []
        if "sqlite" in config.compare:
            database = SqliteDatabase(str(work / f"commit-{mode}.sqlite"), synchronous=mode.upper())
            database.create_lineitem()
            opened.append(database)
            slots.append(Slot("sqlite", database, query, {"synchronous": mode.upper(), "journal_mode": "wal"}))
        if "duckdb" in config.compare and mode == "full":
            database = DuckdbDatabase(str(work / "commit.duckdb"))
            database.create_lineitem(primary_key=True)
            opened.append(database)
            slots.append(
                Slot("duckdb", database, query, {"note": "DuckDB has no synchronous setting; run with its defaults"})
            )
        for layout in config.layouts:
            if not has_modes:
                note = "skipped: storagedb.connect has no synchronous option (no write-ahead log in this version)"
                entries.append(
                    Entry("oltp", query, "storagedb", layout, config.scale, extra={"skipped": True, "note": note})
                )
                continue
            database = StoragedbDatabase(
                str(work / f"commit-{layout}-{mode}"),
                layout,
                pool_size=min(config.pool_size, COMMIT_POOL_SIZE),
                synchronous=mode,
            )
            opened.append(database)
            slots.append(Slot(f"storagedb/{layout}", database.create_lineitem(), query, {"synchronous": mode}))
        if not slots:
            continue

        def make_ops(run: int) -> list[tuple[int, Any]]:
            first = run * config.commit_ops + 1
            return [(INSERT, insert_row(first + i, 1, f"commit {run}-{i}")) for i in range(config.commit_ops)]

        log(f"{query}: {len(slots)} targets, {config.commit_ops:,} single-row commits per run")
        records, found = run_workload(query, slots, make_ops, commit_config, log)
        new_entries = entries_from_runs(slots, records, found, commit_config, None)
        problems.extend(message for _, message in found)

        # Every acknowledged insert must be in the table.
        for slot, entry in zip(slots, new_entries):
            expected = sum(record.done for record in records[slot.label])
            rows = slot.target.row_count()
            if rows != expected:
                entry.answer_ok = False
                problems.append(f"oltp {query}: {slot.label} holds {rows} rows after {expected} committed inserts")
        entries.extend(new_entries)
