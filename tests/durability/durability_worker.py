"""Child process of the crash tests: run a workload until the parent kills it.

Usage::

    python durability_worker.py WORKLOAD DB --seed N --synchronous full|normal
                                [--layout L] [--checkpoint-bytes N] [--scratch DIR]

Writes one JSON line to stdout per event, flushed before going on:

* ``{"event": "ready", "digest": ...}`` once the database is open (and
  recovered), with the digest of the state it shows;
* ``{"event": "begin", "seq": n, "op": {...}}`` before a change starts;
* ``{"event": "ack", "seq": n}`` after the call (or transaction block)
  returned, which is when the change counts as acknowledged;
* ``{"event": "error", ...}`` if a change raised, then the process exits 3.

The ``concurrent`` workload runs one thread per id range; its events carry
a ``thread`` field, and each thread has at most one change in flight.

An ``ack`` is written only after the engine reported success, so every
change the parent saw acknowledged must survive the kill.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import traceback

from durability_workload import WORKLOADS, connect, digest


_emit_lock = threading.Lock()


def emit(event: dict) -> None:
    line = json.dumps(event) + "\n"
    with _emit_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("db")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--synchronous", choices=["full", "normal"], required=True)
    parser.add_argument("--layout", default="nsm")
    parser.add_argument("--checkpoint-bytes", type=int, default=64 << 10)
    parser.add_argument("--scratch", default=None)
    parser.add_argument("--max-ops", type=int, default=100_000)
    args = parser.parse_args()

    workload = WORKLOADS[args.workload](args.layout)
    rng = random.Random(args.seed)
    scratch = args.scratch or os.path.dirname(os.path.abspath(args.db))
    db = connect(args.db, args.synchronous, args.checkpoint_bytes)
    state = workload.read_state(db)
    emit({"event": "ready", "digest": digest(state)})

    if args.workload == "concurrent":
        return run_threads(workload, db, state, args)

    for seq in range(args.max_ops):
        op = workload.next_op(rng, state)
        emit({"event": "begin", "seq": seq, "op": op})
        try:
            if op["kind"] == "reopen":
                db.close()
                db = connect(args.db, args.synchronous, args.checkpoint_bytes)
            else:
                workload.run_op(db, op, scratch)
        except Exception as exc:
            emit({"event": "error", "seq": seq, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
            return 3
        emit({"event": "ack", "seq": seq})
        state = workload.apply(state, op)
    db.close()
    return 0


def run_threads(workload, db, state: dict, args) -> int:
    """One thread per id range, each committing on its own; the first error ends the process."""
    failed = threading.Event()

    def loop(thread: int, next_id: int) -> None:
        rng = random.Random(args.seed * 100 + thread)
        for seq in range(args.max_ops):
            if failed.is_set():
                return
            op = workload.next_op(rng, next_id)
            next_id += len(op["ids"])
            emit({"event": "begin", "thread": thread, "seq": seq, "op": op})
            try:
                workload.run_op(db, op, "")
            except Exception as exc:
                emit({"event": "error", "thread": thread, "error": f"{type(exc).__name__}: {exc}",
                      "trace": traceback.format_exc()})
                failed.set()
                return
            emit({"event": "ack", "thread": thread, "seq": seq})

    threads = [
        threading.Thread(target=loop, args=(thread, first), daemon=True)
        for thread, first in enumerate(workload.first_ids(state))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed.is_set():
        os._exit(3)
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
