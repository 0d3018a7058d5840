"""Workloads for the crash tests: what the child process does and what the parent expects.

A workload defines four things, shared by the child (``durability_worker.py``)
and the parent (``durability_harness.py``) so that both agree exactly:

* ``setup(db)``: tables and first rows, created by the parent before any kill;
* ``next_op(rng, state)``: the next change, as a JSON-able dict;
* ``run_op(db, op, scratch)``: perform it through the public API;
* ``apply(state, op)``: the state the database must show once it committed;
* ``read_state(db)``: the state a database actually shows, checking every
  stored value against the value its key implies.

States are plain dicts; ``digest(state)`` is a hash of their canonical JSON.
Each change is one commit (or rolls back, or changes nothing: checkpoints,
reopening), so after a crash the database equals the state of the last
acknowledged change, or that state with the one unacknowledged change
applied: nothing in between.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random

import numpy as np

import storagedb

SEGMENT_ROWS = 300  # small, so the open segment seals often during a run


def digest(state: dict) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def id_runs(ids: np.ndarray) -> list[list[int]]:
    """Sorted ids as maximal ``[first, length]`` runs of consecutive values."""
    if not len(ids):
        return []
    ids = np.sort(np.asarray(ids, dtype=np.int64))
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(ids)]])
    return [[int(ids[s]), int(e - s)] for s, e in zip(starts, ends)]


def add_run(runs: list[list[int]], first: int, count: int) -> list[list[int]]:
    ids = np.concatenate([np.arange(f, f + n) for f, n in runs] + [np.arange(first, first + count)])
    return id_runs(ids)


def scan_columns(table, columns: list[str]) -> dict[str, np.ndarray]:
    """Every row of ``columns`` as one array per column (NULLs left masked)."""
    batches = list(table.scan_batches(columns=columns))
    out = {}
    for name in columns:
        parts = [batch[name] for batch in batches]
        if not parts:
            out[name] = np.zeros(0, dtype=object)
        elif any(np.ma.isMaskedArray(part) for part in parts):
            out[name] = np.ma.concatenate(parts)
        else:
            out[name] = np.concatenate(parts)
    return out


# -- OLTP: transfers, batches of rows, deletes -------------------------------------


class OltpWorkload:
    """Small transactions over two tables.

    ``accounts`` contains ACCOUNTS rows whose balances always sum to
    ACCOUNTS * OPENING_BALANCE, because money only moves between two rows in
    one transaction. ``items`` contains rows inserted in batches that share a
    batch id and are deleted whole, so a half-applied transaction shows as
    a short batch. Some payloads are larger than a page (overflow chains).
    """

    name = "oltp"
    ACCOUNTS = 12
    OPENING_BALANCE = 1000
    commit_kinds = {"transfer", "touch", "insert_batch", "delete_batch", "resize"}

    def __init__(self, layout: str = "nsm") -> None:
        self.layout = layout

    # -- values a row's key implies

    @staticmethod
    def payload(item_id: int, size: int) -> str:
        unit = f"{item_id}:"
        return (unit * (size // len(unit) + 1))[:size]

    @staticmethod
    def weight(item_id: int) -> float | None:
        return None if item_id % 5 == 0 else item_id * 0.25

    # -- parent side

    def setup(self, db) -> None:
        accounts = db.create_table(
            "accounts",
            [("id", "int64", "not null"), ("balance", "int64", "not null"), ("touches", "int64")],
            primary_key="id",
            layout=self.layout,
            segment_rows=SEGMENT_ROWS,
        )
        db.create_table(
            "items",
            [("id", "int64", "not null"), ("batch", "int64", "not null"), ("payload", "text"), ("weight", "float64")],
            primary_key="id",
            layout=self.layout,
            segment_rows=SEGMENT_ROWS,
        )
        accounts.insert_many([(i, self.OPENING_BALANCE, 0) for i in range(self.ACCOUNTS)])

    def read_state(self, db) -> dict:
        bad = []
        accounts = {}
        for account_id, balance, touches in db.table("accounts").scan():
            if str(account_id) in accounts:
                bad.append(["accounts: key twice", account_id])
            accounts[str(account_id)] = [balance, touches]
        items = {}
        for item_id, batch, payload, weight in db.table("items").scan():
            if payload != self.payload(item_id, len(payload)) or weight != self.weight(item_id):
                bad.append([item_id, payload[:40], weight])
            if str(item_id) in items:
                bad.append(["items: key twice", item_id])
            items[str(item_id)] = [batch, len(payload)]
        # Point lookups go through key ranges, Bloom filters and fences, which a
        # scan does not; they must agree with it.
        for key, (balance, touches) in accounts.items():
            row = db.table("accounts").get(int(key))
            if row is None or [row["balance"], row["touches"]] != [balance, touches]:
                bad.append(["get accounts", key, row])
        for key in sorted(items, key=int)[:: max(1, len(items) // 40)]:
            row = db.table("items").get(int(key))
            if row is None or row["batch"] != items[key][0]:
                bad.append(["get items", key, row])
        state = {"accounts": accounts, "items": items}
        if bad:
            state["bad_rows"] = bad
        return state

    def apply(self, state: dict, op: dict) -> dict:
        kind = op["kind"]
        if kind not in self.commit_kinds:
            return state
        state = copy.deepcopy(state)
        accounts, items = state["accounts"], state["items"]
        if kind == "transfer":
            accounts[str(op["src"])][0] -= op["amount"]
            accounts[str(op["dst"])][0] += op["amount"]
        elif kind == "touch":
            accounts[str(op["id"])][1] = op["value"]
        elif kind == "insert_batch":
            for item_id, size in zip(op["ids"], op["sizes"]):
                items[str(item_id)] = [op["batch"], size]
        elif kind == "delete_batch":
            for item_id in op["ids"]:
                del items[str(item_id)]
        elif kind == "resize":
            items[str(op["id"])][1] = op["size"]
        return state

    def invariant_problems(self, state: dict) -> list[str]:
        """Problems visible in one state alone: a broken sum or a partial batch."""
        problems = []
        total = sum(balance for balance, _ in state["accounts"].values())
        if total != self.ACCOUNTS * self.OPENING_BALANCE:
            problems.append(f"balances sum to {total}, expected {self.ACCOUNTS * self.OPENING_BALANCE}")
        if state.get("bad_rows"):
            problems.append(f"rows whose values do not match their key: {state['bad_rows'][:5]}")
        return problems

    # -- child side

    def next_op(self, rng: random.Random, state: dict) -> dict:
        accounts = [int(k) for k in state["accounts"]]
        items = state["items"]
        batches: dict[int, list[int]] = {}
        for key, (batch, _size) in items.items():
            batches.setdefault(batch, []).append(int(key))
        next_id = max((int(k) for k in items), default=0) + 1
        next_batch = max(batches, default=0) + 1

        roll = rng.random()
        if roll < 0.30:
            src, dst = rng.sample(accounts, 2)
            return {"kind": "transfer", "src": src, "dst": dst, "amount": rng.randint(1, 50)}
        if roll < 0.42:
            return {"kind": "touch", "id": rng.choice(accounts), "value": rng.randint(0, 10**6)}

        if roll < 0.68 or len(batches) < 3:
            count = 1 if rng.random() < 0.35 else rng.randint(2, 6)
            sizes = [rng.randint(5000, 9000) if rng.random() < 0.06 else rng.randint(0, 120) for _ in range(count)]
            return {
                "kind": "insert_batch",
                "batch": next_batch,
                "ids": list(range(next_id, next_id + count)),
                "sizes": sizes,
            }

        if roll < 0.82:
            batch = rng.choice(sorted(batches))
            return {"kind": "delete_batch", "batch": batch, "ids": sorted(batches[batch])}
        if roll < 0.92:
            size = rng.randint(5000, 9000) if rng.random() < 0.1 else rng.randint(0, 300)
            return {"kind": "resize", "id": int(rng.choice(sorted(items, key=int))), "size": size}

        if roll < 0.975:
            src, dst = rng.sample(accounts, 2)
            return {"kind": "rollback", "src": src, "dst": dst, "new_id": next_id}
        return {"kind": "checkpoint" if roll < 0.99 else "reopen"}

    def run_op(self, db, op: dict, scratch: str) -> None:
        kind = op["kind"]
        accounts, items = db.table("accounts"), db.table("items")
        if kind == "transfer":
            with db.transaction():
                source = accounts.get(op["src"])["balance"]
                target = accounts.get(op["dst"])["balance"]
                accounts.update(op["src"], {"balance": source - op["amount"]})
                accounts.update(op["dst"], {"balance": target + op["amount"]})
        elif kind == "touch":
            accounts.update(op["id"], {"touches": op["value"]})
        elif kind == "insert_batch":
            rows = [
                {"id": i, "batch": op["batch"], "payload": self.payload(i, s), "weight": self.weight(i)}
                for i, s in zip(op["ids"], op["sizes"])
            ]
            if len(rows) == 1:
                items.insert(rows[0])
            else:
                with db.transaction():
                    for row in rows:
                        items.insert(row)
        elif kind == "delete_batch":
            if len(op["ids"]) == 1:
                items.delete(op["ids"][0])
            else:
                with db.transaction():
                    for item_id in op["ids"]:
                        items.delete(item_id)
        elif kind == "resize":
            items.update(op["id"], {"payload": self.payload(op["id"], op["size"])})
        elif kind == "rollback":
            try:
                with db.transaction():
                    accounts.update(op["src"], {"balance": -1})
                    items.insert({"id": op["new_id"], "batch": -1, "payload": "rolled back", "weight": None})
                    raise _Rollback()
            except _Rollback:
                pass
        elif kind == "checkpoint":
            db.checkpoint()
        else:
            raise ValueError(f"unknown operation {kind!r}")


class _Rollback(Exception):
    pass


# -- bulk loads: insert_many of arrays and CSV loads ---------------------------------


class BulkWorkload:
    """Large atomic loads: ``insert_many`` of arrays, and ``db.load`` of CSV files.

    Every row's other columns follow from its id, and every load writes ids
    no earlier load used, so a half-applied load shows as a short id run.
    """

    name = "bulk"
    commit_kinds = {"insert_arrays", "load_new", "load_append", "drop"}
    BULK_SEGMENT_ROWS = 20_000

    def __init__(self, layout: str = "pax") -> None:
        self.layout = layout

    def setup(self, db) -> None:
        db.create_table(
            "bulk",
            [("id", "int64", "not null"), ("batch", "int64", "not null"), ("value", "float64"), ("label", "text")],
            primary_key="id",
            layout=self.layout,
            segment_rows=self.BULK_SEGMENT_ROWS,
        )

    def read_state(self, db) -> dict:
        bad = []
        bulk: dict[str, list] = {}
        data = scan_columns(db.table("bulk"), ["id", "batch", "value", "label"])
        ids = np.asarray(data["id"], dtype=np.int64)
        if not np.array_equal(np.asarray(data["value"]), ids * 1.5):
            bad.append("bulk: value differs from id * 1.5")
        labels = np.array([f"L{i % 997}" for i in ids.tolist()], dtype=object)
        if not np.array_equal(np.asarray(data["label"], dtype=object), labels):
            bad.append("bulk: label differs from L<id % 997>")
        for batch in np.unique(data["batch"]).tolist():
            bulk[str(batch)] = id_runs(ids[data["batch"] == batch])
        tables = {}
        for name in db.table_names():
            if name == "bulk":
                continue
            data = scan_columns(db.table(name), ["id", "qty", "name"])
            ids = np.asarray(data["id"], dtype=np.int64)
            if not np.array_equal(np.asarray(data["qty"]), (ids * 7) % 1000):
                bad.append(f"{name}: qty differs from id * 7 % 1000")
            if list(data["name"]) != [f"n{i}" for i in ids.tolist()]:
                bad.append(f"{name}: name differs from n<id>")
            tables[name] = id_runs(ids)
        state = {"bulk": bulk, "tables": tables}
        if bad:
            state["bad_rows"] = bad
        return state

    def apply(self, state: dict, op: dict) -> dict:
        kind = op["kind"]
        if kind not in self.commit_kinds:
            return state
        state = copy.deepcopy(state)
        if kind == "insert_arrays":
            state["bulk"][str(op["batch"])] = [[op["first"], op["count"]]]
        elif kind == "load_new":
            state["tables"][op["table"]] = [[op["first"], op["count"]]]
        elif kind == "load_append":
            runs = state["tables"].get(op["table"], [])
            state["tables"][op["table"]] = add_run(runs, op["first"], op["count"])
        elif kind == "drop":
            del state["tables"][op["table"]]
        return state

    def invariant_problems(self, state: dict) -> list[str]:
        problems = []
        for batch, runs in state["bulk"].items():
            if len(runs) != 1:
                problems.append(f"bulk batch {batch} is not one run of ids: {runs[:5]}")
        if state.get("bad_rows"):
            problems.append(f"rows whose values do not match their key: {state['bad_rows'][:5]}")
        return problems

    def next_op(self, rng: random.Random, state: dict) -> dict:
        bulk_ids = [run[0] + run[1] for runs in state["bulk"].values() for run in runs]
        next_bulk = max(bulk_ids, default=0)
        next_batch = max((int(b) for b in state["bulk"]), default=0) + 1
        roll = rng.random()
        if roll < 0.45:
            return {"kind": "insert_arrays", "batch": next_batch, "first": next_bulk, "count": rng.randint(5000, 50_000)}
        if roll < 0.68:
            number = 1 + max((int(t.split("_")[1]) for t in state["tables"] if t.startswith("csv_")), default=0)
            return {"kind": "load_new", "table": f"csv_{number}", "first": 0, "count": rng.randint(2000, 30_000)}
        if roll < 0.90:
            runs = state["tables"].get("all", [])
            first = max((f + n for f, n in runs), default=0)
            return {"kind": "load_append", "table": "all", "first": first, "count": rng.randint(2000, 30_000)}
        if roll < 0.96 and any(t.startswith("csv_") for t in state["tables"]):
            return {"kind": "drop", "table": rng.choice(sorted(t for t in state["tables"] if t.startswith("csv_")))}
        return {"kind": "checkpoint"}

    def run_op(self, db, op: dict, scratch: str) -> None:
        kind = op["kind"]
        if kind == "insert_arrays":
            ids = np.arange(op["first"], op["first"] + op["count"], dtype=np.int64)
            labels = np.array([f"L{i % 997}" for i in ids.tolist()], dtype=object)
            db.table("bulk").insert_many(
                {"id": ids, "batch": np.full(len(ids), op["batch"]), "value": ids * 1.5, "label": labels}
            )
        elif kind in ("load_new", "load_append"):
            path = os.path.join(scratch, f"{op['table']}-{op['first']}.csv")
            write_csv(path, op["first"], op["count"])
            if op["table"] in db.table_names():
                db.load(op["table"], path)
            else:
                db.load(op["table"], path, primary_key="id", layout=self.layout, segment_rows=self.BULK_SEGMENT_ROWS)
        elif kind == "drop":
            db.drop_table(op["table"])
        elif kind == "checkpoint":
            db.checkpoint()
        else:
            raise ValueError(f"unknown operation {kind!r}")


def write_csv(path: str, first: int, count: int) -> None:
    ids = np.arange(first, first + count)
    lines = [f"{i},{(i * 7) % 1000},n{i}" for i in ids.tolist()]
    with open(path, "w") as handle:
        handle.write("id,qty,name\n" + "\n".join(lines) + "\n")


# -- compaction after many deletes and updates ----------------------------------------


class CompactWorkload:
    """Inserts, deletes and updates that leave many dead rows, then ``compact()``.

    A row's ``tag`` follows from its id; its ``value`` is ``3 * id`` until an
    update negates it. Ids start at 1, so the two values always differ.
    """

    name = "compact"
    commit_kinds = {"grow", "shrink", "revalue"}
    CMP_SEGMENT_ROWS = 4000
    MAX_ROWS = 40_000

    def __init__(self, layout: str = "dsm") -> None:
        self.layout = layout

    def setup(self, db) -> None:
        table = db.create_table(
            "cmp",
            [("id", "int64", "not null"), ("value", "int64", "not null"), ("tag", "text")],
            primary_key="id",
            layout=self.layout,
            segment_rows=self.CMP_SEGMENT_ROWS,
        )
        table.insert_many(self._rows(1, 16_000))

    @staticmethod
    def _rows(first: int, count: int) -> dict:
        ids = np.arange(first, first + count, dtype=np.int64)
        return {"id": ids, "value": ids * 3, "tag": np.array([f"t{i % 100}" for i in ids.tolist()], dtype=object)}

    def read_state(self, db) -> dict:
        data = scan_columns(db.table("cmp"), ["id", "value", "tag"])
        ids = np.asarray(data["id"], dtype=np.int64)
        values = np.asarray(data["value"], dtype=np.int64)
        order = np.argsort(ids)
        ids, values = ids[order], values[order]
        state = {"ids": id_runs(ids), "negated": ids[values == -ids].tolist()}
        bad = []
        if len(np.unique(ids)) != len(ids):
            bad.append("cmp: an id appears twice")
        if not np.all((values == ids * 3) | (values == -ids)):
            bad.append("cmp: value is neither 3 * id nor -id")
        if list(np.asarray(data["tag"], dtype=object)[order]) != [f"t{i % 100}" for i in ids.tolist()]:
            bad.append("cmp: tag differs from t<id % 100>")
        if bad:
            state["bad_rows"] = bad
        return state

    @staticmethod
    def _ids(state: dict) -> np.ndarray:
        parts = [np.arange(f, f + n) for f, n in state["ids"]]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def apply(self, state: dict, op: dict) -> dict:
        kind = op["kind"]
        if kind not in self.commit_kinds:
            return state
        ids = self._ids(state)
        negated = set(state["negated"])
        if kind == "grow":
            ids = np.concatenate([ids, np.arange(op["first"], op["first"] + op["count"])])
        elif kind == "shrink":
            ids = np.setdiff1d(ids, np.array(op["ids"], dtype=np.int64))
            negated -= set(op["ids"])
        elif kind == "revalue":
            negated ^= set(op["ids"])
        return {"ids": id_runs(ids), "negated": sorted(negated)}

    def invariant_problems(self, state: dict) -> list[str]:
        return [f"rows whose values do not match their key: {state['bad_rows']}"] if state.get("bad_rows") else []

    def next_op(self, rng: random.Random, state: dict) -> dict:
        ids = self._ids(state)
        roll = rng.random()
        if roll < 0.25 and len(ids) < self.MAX_ROWS:
            first = int(ids.max()) + 1 if len(ids) else 0
            return {"kind": "grow", "first": first, "count": rng.choice([rng.randint(100, 1500), rng.randint(4096, 9000)])}
        if roll < 0.50 and len(ids) > 1000:
            picked = rng.sample(ids.tolist(), rng.randint(50, 600))
            return {"kind": "shrink", "ids": sorted(picked)}
        if roll < 0.62 and len(ids):
            return {"kind": "revalue", "ids": sorted(rng.sample(ids.tolist(), min(len(ids), rng.randint(10, 120))))}
        if roll < 0.95:
            return {"kind": "compact"}
        return {"kind": "checkpoint"}

    def run_op(self, db, op: dict, scratch: str) -> None:
        table = db.table("cmp")
        kind = op["kind"]
        if kind == "grow":
            table.insert_many(self._rows(op["first"], op["count"]))
        elif kind == "shrink":
            with db.transaction():
                for row_id in op["ids"]:
                    table.delete(row_id)
        elif kind == "revalue":
            with db.transaction():
                for row_id in op["ids"]:
                    value = table.get(row_id)["value"]
                    table.update(row_id, {"value": -row_id if value == 3 * row_id else 3 * row_id})
        elif kind == "compact":
            table.compact()
        elif kind == "checkpoint":
            db.checkpoint()
        else:
            raise ValueError(f"unknown operation {kind!r}")


# -- concurrent committers sharing one fsync ----------------------------------------


class ConcurrentWorkload:
    """Several threads commit at once, so commits share fdatasync calls (group commit).

    Thread ``t`` inserts rows with ids ``t * THREAD_SPAN + n``, one per call
    or three in a transaction; ``seq`` and ``note`` follow from the id. Each
    thread has at most one change in flight, so after a kill every subset
    of the in-flight changes may be present.
    """

    name = "concurrent"
    commit_kinds = {"insert"}
    THREADS = 4
    THREAD_SPAN = 1_000_000

    def __init__(self, layout: str = "nsm") -> None:
        self.layout = layout

    def setup(self, db) -> None:
        db.create_table(
            "events",
            [("id", "int64", "not null"), ("thread", "int64", "not null"), ("note", "text")],
            primary_key="id",
            layout=self.layout,
            segment_rows=SEGMENT_ROWS,
        )

    def read_state(self, db) -> dict:
        data = scan_columns(db.table("events"), ["id", "thread", "note"])
        ids = np.asarray(data["id"], dtype=np.int64)
        state = {"ids": id_runs(ids)}
        bad = []
        if len(np.unique(ids)) != len(ids):
            bad.append("events: an id appears twice")
        if not np.array_equal(np.asarray(data["thread"]), ids // self.THREAD_SPAN):
            bad.append("events: thread differs from id // THREAD_SPAN")
        if list(data["note"]) != [f"note {i}" for i in ids.tolist()]:
            bad.append("events: note differs from note <id>")
        if bad:
            state["bad_rows"] = bad
        return state

    def apply(self, state: dict, op: dict) -> dict:
        if op["kind"] != "insert":
            return state
        runs = state["ids"]
        for item_id in op["ids"]:
            runs = add_run(runs, item_id, 1)
        return {"ids": runs}

    def invariant_problems(self, state: dict) -> list[str]:
        return [f"rows whose values do not match their key: {state['bad_rows']}"] if state.get("bad_rows") else []

    def first_ids(self, state: dict) -> list[int]:
        """The next free id of each thread."""
        ends = [f + n for f, n in state["ids"]]
        out = []
        for thread in range(self.THREADS):
            low, high = thread * self.THREAD_SPAN, (thread + 1) * self.THREAD_SPAN
            out.append(max([end for end in ends if low < end <= high], default=low))
        return out

    def next_op(self, rng: random.Random, next_id: int) -> dict:
        count = 3 if rng.random() < 0.25 else 1
        return {"kind": "insert", "ids": list(range(next_id, next_id + count))}

    def run_op(self, db, op: dict, scratch: str) -> None:
        table = db.table("events")
        rows = [{"id": i, "thread": i // self.THREAD_SPAN, "note": f"note {i}"} for i in op["ids"]]
        if len(rows) == 1:
            table.insert(rows[0])
        else:
            with db.transaction():
                for row in rows:
                    table.insert(row)


WORKLOADS = {"oltp": OltpWorkload, "bulk": BulkWorkload, "compact": CompactWorkload, "concurrent": ConcurrentWorkload}


def connect(path: str, synchronous: str, checkpoint_bytes: int):
    """Open a database the way both sides of a crash test do."""
    return storagedb.connect(path, synchronous=synchronous, checkpoint_bytes=checkpoint_bytes, pool_size=16 << 20)
