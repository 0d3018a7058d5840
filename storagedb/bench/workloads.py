"""OLTP operations: YCSB-style workloads, point lookups and single-row inserts.

Workloads run over TPC-H lineitem, keyed by (l_orderkey, l_linenumber):

======  ====================================================================
name    operations
======  ====================================================================
A       50% read, 50% update (one column, ``l_comment``)
B       95% read, 5% update
C       100% read
D       95% read of recently inserted keys (YCSB's "latest"), 5% insert
E       95% short range scan (1 to 100 rows of consecutive keys), 5% insert
F       50% read, 50% read-modify-write
get     point lookups of existing and of absent keys, uniform
seg16   the same lookups on lineitem split into 16 segments, Bloom filters on and off
insert  single-row inserts, one commit each (``synchronous="full"`` and ``"normal"``)
======  ====================================================================

Every system runs the same pre-generated operations in the same order: each
run's operations are drawn once from a seeded generator and handed to every
target, and the runs of different targets are interleaved. A run stops early
when it passes the time limit (``--max-seconds``); its rate then comes from
the operations done. Every operation's result is reduced to a checksum, and
the checksums of every target must equal the first target's over the
operations both did.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .distributions import Zipfian, latest_offsets, uniform_indexes
from .measure import add_counters, counter_delta, hit_rate, latency_percentiles, median
from .results import Entry
from .systems import insert_row

__all__ = ["WORKLOAD_NAMES", "KeySpace", "Slot", "entries_from_runs", "execute", "generate_ops", "run_workload"]

READ, UPDATE, INSERT, SCAN, READ_MODIFY_WRITE = range(5)
KIND_NAMES = ("read", "update", "insert", "scan", "read-modify-write")

#: Operation mix per YCSB workload: (kind, share).
MIXES: dict[str, list[tuple[int, float]]] = {
    "A": [(READ, 0.5), (UPDATE, 0.5)],
    "B": [(READ, 0.95), (UPDATE, 0.05)],
    "C": [(READ, 1.0)],
    "D": [(READ, 0.95), (INSERT, 0.05)],
    "E": [(SCAN, 0.95), (INSERT, 0.05)],
    "F": [(READ, 0.5), (READ_MODIFY_WRITE, 0.5)],
}
WORKLOAD_NAMES = ("get", "seg16", "A", "B", "C", "D", "E", "F", "insert")
#: YCSB's workload E draws scan lengths uniformly from 1 to 100 rows.
MAX_SCAN_ROWS = 100
#: Inserted orderkeys of one (workload, run) lie in their own block above
#: the table's largest orderkey, so no two runs insert the same key.
INSERT_BLOCK = 10_000_000


@dataclass
class Slot:
    """One target measured under one entry name (a table can serve several)."""

    label: str
    target: Any
    query: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunRecord:
    seconds: float
    done: int
    latencies: np.ndarray
    checksums: list[int]
    counters: dict[str, int]


@dataclass
class KeySpace:
    """The keys of the loaded table and a supply of absent keys."""

    keys: np.ndarray  # (n, 2) int64, sorted
    absent: np.ndarray  # (m, 2) int64, none of them in keys

    @property
    def max_orderkey(self) -> int:
        return int(self.keys[-1, 0])

    @classmethod
    def build(cls, keys: np.ndarray, seed: int, count: int) -> KeySpace:
        """Draw absent keys (orderkeys inside the key range that no row has, line 1)."""
        rng = np.random.default_rng([seed, 99])
        present = np.unique(keys[:, 0])
        low, high = int(present[0]), int(present[-1])
        found: list[np.ndarray] = []
        total = 0
        for _ in range(100):
            candidates = rng.integers(low, high + 1, size=max(count * 4, 1024))
            fresh = candidates[~np.isin(candidates, present)]
            found.append(fresh)
            total += len(fresh)
            if total >= count:
                break
        orderkeys = np.concatenate(found)[:count] if found else np.zeros(0, np.int64)
        if len(orderkeys) < count:
            # Dense keys (no gaps): use orderkeys past the end instead.
            extra = np.arange(high + 1, high + 1 + count - len(orderkeys))
            orderkeys = np.concatenate([orderkeys, extra])
        absent = np.column_stack([orderkeys, np.ones(len(orderkeys), np.int64)])
        return cls(keys=keys, absent=absent)


# -- operation lists -------------------------------------------------------------


def generate_ops(
    workload: str, run: int, ops: int, space: KeySpace, distribution: str, seed: int
) -> list[tuple[int, Any]]:
    """Draw the operations of one run of ``workload``; the same arguments give the same list."""
    index = ("get_existing", "get_absent", *MIXES, "insert").index(workload)
    rng = np.random.default_rng([seed, index, run])
    keys = space.keys
    n = len(keys)
    if workload == "get_existing":
        return [(READ, (int(a), int(b))) for a, b in keys[uniform_indexes(rng, n, ops)].tolist()]
    if workload == "get_absent":
        picked = space.absent[uniform_indexes(rng, len(space.absent), ops)]
        return [(READ, (int(a), int(b))) for a, b in picked.tolist()]

    mix = MIXES[workload]
    kinds = rng.choice([kind for kind, _ in mix], size=ops, p=[share for _, share in mix])
    chosen = _choose(rng, n, ops, distribution, seed)
    first_new = space.max_orderkey + 1 + (index * 1000 + run) * INSERT_BLOCK
    offsets = latest_offsets(rng, n, ops) if workload == "D" else None
    lengths = rng.integers(1, MAX_SCAN_ROWS + 1, size=ops) if workload == "E" else None
    inserted: list[tuple[int, int]] = []
    out: list[tuple[int, Any]] = []
    for i, kind in enumerate(kinds.tolist()):
        if kind == INSERT:
            key = (first_new + len(inserted), 1)
            inserted.append(key)
            out.append((INSERT, insert_row(key[0], key[1], f"insert {workload}{run}-{i}")))
        elif kind == SCAN:
            start = int(chosen[i])
            stop = min(start + int(lengths[i]) - 1, n - 1)
            out.append((SCAN, (int(keys[start, 0]), int(keys[stop, 0]))))
        elif workload == "D":
            # Latest: count back from the newest key inserted so far in this run.
            position = n + len(inserted) - 1 - int(offsets[i])
            key = inserted[position - n] if position >= n else tuple(int(v) for v in keys[position])
            out.append((READ, key))
        else:
            key = (int(keys[chosen[i], 0]), int(keys[chosen[i], 1]))
            if kind == READ:
                out.append((READ, key))
            elif kind == UPDATE:
                out.append((UPDATE, (key, f"update {workload}{run}-{i}")))
            else:
                out.append((READ_MODIFY_WRITE, (key, f"rmw {run}-{i} ")))
    return out


_PERMUTATIONS: dict[tuple[int, int], np.ndarray] = {}
_ZIPFIANS: dict[int, Zipfian] = {}


def _choose(rng: np.random.Generator, n: int, count: int, distribution: str, seed: int) -> np.ndarray:
    if distribution == "uniform":
        return uniform_indexes(rng, n, count)
    if n not in _ZIPFIANS:
        _ZIPFIANS[n] = Zipfian(n)
    if (n, seed) not in _PERMUTATIONS:
        _PERMUTATIONS[(n, seed)] = np.random.default_rng([seed, 7]).permutation(n)
    return _ZIPFIANS[n].scrambled(rng, count, _PERMUTATIONS[(n, seed)])


# -- running ---------------------------------------------------------------------


def execute(target: Any, ops: list[tuple[int, Any]], max_seconds: float) -> RunRecord:
    """Run ``ops`` on ``target`` in order, timing each; stop after ``max_seconds``."""
    # Rows to insert are converted to the system's own values before the clock starts.
    prepared = [(kind, target.prepare_row(arg) if kind == INSERT else arg) for kind, arg in ops]
    read, update, insert = target.read, target.update, target.insert
    scan, read_modify_write = target.scan_range, target.read_modify_write
    latencies = np.zeros(len(prepared), dtype=np.int64)
    results: list[Any] = []

    before = target.counters()
    clock = time.perf_counter_ns
    started = clock()
    limit = started + int(max_seconds * 1e9)
    done = 0
    for kind, arg in prepared:
        t0 = clock()
        if kind == READ:
            result = read(arg)
        elif kind == UPDATE:
            result = update(arg[0], arg[1])
        elif kind == INSERT:
            result = insert(arg)
        elif kind == SCAN:
            result = scan(arg[0], arg[1])
        else:
            result = read_modify_write(arg[0], arg[1])
        t1 = clock()
        latencies[done] = t1 - t0
        results.append(result)
        done += 1
        if t1 > limit:
            break
    seconds = (clock() - started) / 1e9

    counters = counter_delta(before, target.counters())
    checksums = [_checksum(target, kind, result) for (kind, _), result in zip(prepared, results)]
    return RunRecord(seconds, done, latencies[:done], checksums, counters)


def _checksum(target: Any, kind: int, result: Any) -> int:
    if kind in (READ, READ_MODIFY_WRITE):
        return target.read_checksum(result)
    if kind == SCAN:
        return target.scan_checksum(result)
    if kind == UPDATE:
        return int(bool(result))
    return 0


def run_workload(
    name: str,
    slots: list[Slot],
    make_ops: Callable[[int], list[tuple[int, Any]]],
    config: Any,
    log: Callable[[str], None],
) -> tuple[dict[str, list[RunRecord]], list[tuple[str, str]]]:
    """Run one warm-up and ``config.repeat`` timed runs on every slot, interleaved.

    Returns every run per slot label (the warm-up first) and the answer
    mismatches found, as (slot label, message) pairs.
    """
    records: dict[str, list[RunRecord]] = {slot.label: [] for slot in slots}
    problems: list[tuple[str, str]] = []
    for run in range(config.repeat + 1):
        ops = make_ops(run)
        order = slots[run % len(slots) :] + slots[: run % len(slots)]
        this_run: dict[str, RunRecord] = {}
        for slot in order:
            this_run[slot.label] = execute(slot.target, ops, config.max_seconds)
        problems.extend(_compare_runs(name, run, slots, this_run, ops))
        for label, record in this_run.items():
            records[label].append(record)
        phase = "warm-up" if run == 0 else f"run {run}/{config.repeat}"
        summary = ", ".join(
            f"{slot.label} {this_run[slot.label].done / max(this_run[slot.label].seconds, 1e-9):,.0f}/s"
            for slot in slots
        )
        log(f"  {name} {phase}: {summary}")
    return records, problems


def _compare_runs(
    name: str, run: int, slots: list[Slot], records: dict[str, RunRecord], ops: list[tuple[int, Any]]
) -> list[tuple[str, str]]:
    reference = slots[0]
    expected = records[reference.label].checksums
    problems = []
    for slot in slots[1:]:
        found = records[slot.label].checksums
        for i, (left, right) in enumerate(zip(expected, found)):
            if left != right:
                kind, arg = ops[i]
                message = (
                    f"oltp {name} run {run}: {slot.label} answered operation {i} ({_describe(kind, arg)}) "
                    f"with checksum {right}, {reference.label} with {left}"
                )
                problems.append((slot.label, message))
                break
    return problems


def _describe(kind: int, arg: Any) -> str:
    """Name an operation and its key (or key range) for an error message."""
    if kind in (UPDATE, READ_MODIFY_WRITE):
        target = arg[0]
    elif kind == INSERT:
        target = (arg[0], arg[3])  # the row's l_orderkey and l_linenumber
    else:
        target = arg
    return f"{KIND_NAMES[kind]} {target}"


def entries_from_runs(
    slots: list[Slot],
    records: dict[str, list[RunRecord]],
    problems: list[tuple[str, str]],
    config: Any,
    distribution: str | None,
) -> list[Entry]:
    """Build one entry per slot from its timed runs (the warm-up, first in ``records``, is left out).

    The entry contains the median seconds per operation, latency percentiles
    over all timed operations and counters per run.
    """
    wrong = {label for label, _ in problems}
    out = []
    for slot in slots:
        runs = records[slot.label][1:]
        per_op = [r.seconds / r.done for r in runs if r.done]
        median_s = median(per_op)
        counters: dict[str, int] = {}
        for record in runs:
            add_counters(counters, record.counters)
        extra: dict[str, Any] = dict(slot.extra)
        extra.update(
            {
                "workload": slot.query,
                "ops": config.ops,
                "ops_done": [r.done for r in runs],
                "runs_s": [r.seconds for r in runs],
                "repeat": config.repeat,
            }
        )
        if distribution:
            extra["distribution"] = distribution
        extra.update(latency_percentiles([r.latencies for r in runs]))
        if counters:
            extra["hit_rate"] = hit_rate(counters)
            for key, value in counters.items():
                extra[key] = value / max(len(runs), 1)
        if any(r.done < config.ops for r in runs):
            extra["note"] = f"time limit of {config.max_seconds:g} s per run reached; rate from the operations done"
        out.append(
            Entry(
                suite="oltp",
                query=slot.query,
                system=slot.target.system,
                layout=slot.target.layout,
                scale=config.scale,
                median_s=median_s,
                ops_per_s=(1 / median_s) if median_s else None,
                answer_ok=slot.label not in wrong,
                extra=extra,
            )
        )
    return out
