"""Fail every I/O call of a workload in turn, then reopen and compare.

A fixed workload on an existing database (single-row commits, a
transaction, a bulk load, deletes and an update of sealed rows,
checkpoints, a compaction, close) makes a known number of write, fsync and
rename calls. For each call number ``n``
and each kind of failure, a fresh run makes call ``n`` fail. The change
that was running may raise only ``StorageIOError``. The database is then
closed and reopened. It must show the acknowledged changes, plus the
failed change entirely or not at all, pass ``storagedb check`` and keep
no file its catalog does not list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from durability_files import copy_database, stray_files
from durability_harness import run_check

import storagedb
from storagedb import StorageDBError, StorageIOError
from storagedb.storage.fileio import Fault, FaultInjector

BULK_IDS = list(range(1000, 4000))


def connect(path):
    return storagedb.connect(path, pool_size=4 << 20)


@dataclass
class Step:
    name: str
    run: Callable
    apply: Callable[[dict], dict]


def _insert(ids):
    def run(db):
        table = db.table("t")
        if len(ids) == 1:
            table.insert({"id": ids[0], "v": ids[0]})
        else:
            with db.transaction():
                for i in ids:
                    table.insert({"id": i, "v": i})

    return Step(f"insert {ids[0]}..{ids[-1]}", run, lambda m: {**m, **{i: i for i in ids}})


def _bulk(db):
    ids = np.array(BULK_IDS)
    db.table("t").insert_many({"id": ids, "v": ids})


def _delete(key):
    def apply(model):
        return {k: v for k, v in model.items() if k != key}

    return Step(f"delete {key}", lambda db: db.table("t").delete(key), apply)


def _unchanged(model):
    return model


STEPS = [
    *[_insert([i]) for i in range(4)],
    _insert(list(range(10, 15))),
    Step("bulk load", _bulk, lambda m: {**m, **{i: i for i in BULK_IDS}}),
    Step("checkpoint", lambda db: db.checkpoint(), _unchanged),
    _delete(1),
    _delete(1500),
    Step("update 10", lambda db: db.table("t").update(10, {"v": -10}), lambda m: {**m, 10: -10}),
    Step("checkpoint", lambda db: db.checkpoint(), _unchanged),
    Step("compact", lambda db: db.table("t").compact(), _unchanged),
    _insert([20]),
    Step("close", lambda db: db.close(), _unchanged),
]


def create_database(path) -> None:
    with connect(path) as db:
        db.create_table("t", [("id", "int64", "not null"), ("v", "int64")], primary_key="id", layout="pax")


def run_workload(path) -> tuple[dict, dict | None, str | None]:
    """Run the steps until one raises; returns the model so far, the failed step's model and its error."""
    model: dict = {}
    try:
        db = connect(path)
    except StorageIOError as exc:
        return model, None, f"opening: {exc}"
    try:
        for step in STEPS:
            try:
                step.run(db)
            except StorageDBError as exc:
                if not isinstance(exc, StorageIOError):
                    raise AssertionError(f"step {step.name!r} raised {type(exc).__name__}: {exc}") from exc
                return model, step.apply(model), f"{step.name}: {exc}"
            model = step.apply(model)
        return model, None, None
    finally:
        try:
            db.close()
        except StorageIOError:
            pass  # the checkpoint at close met the same failure; reopening recovers


def reopened_model(path) -> dict:
    with connect(path) as db:
        return {row[0]: row[1] for row in db.table("t").scan()}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "db"
    create_database(path)
    return path


def count_calls(template, tmp_path) -> dict[str, int]:
    """How many write, fsync and rename calls the workload makes when nothing fails."""
    never = 10**9
    injector = FaultInjector(Fault("write", after=never), Fault("fsync", after=never), Fault("replace", after=never))
    with injector:
        run_workload(copy_database(str(template), str(tmp_path / "count")))
    return {name: injector._counts.get(index, 0) for index, name in enumerate(("write", "fsync", "replace"))}


@pytest.mark.slow
@pytest.mark.parametrize(
    "operation, kind, stride",
    [("write", "full", 2), ("write", "short", 3), ("write", "error", 5), ("fsync", "error", 1), ("replace", "error", 1)],
)
def test_every_io_call_failing(template, tmp_path, operation, kind, stride):
    calls = count_calls(template, tmp_path)[operation]
    assert calls > 0
    failures = []
    fired = 0
    for number in range(0, calls, stride):
        path = copy_database(str(template), str(tmp_path / f"run{number}"))
        with FaultInjector(Fault(operation, kind=kind, after=number)) as injector:
            try:
                acknowledged, failed, error = run_workload(path)
            except AssertionError as exc:
                failures.append(f"call {number}: {exc}")
                continue
        fired += injector.fired
        found = reopened_model(path)
        allowed = [acknowledged] + ([failed] if failed is not None else [])
        if found not in allowed:
            lost = sorted(set(acknowledged) - set(found))[:5]
            extra = sorted(set(found) - set(acknowledged))[:5]
            failures.append(f"call {number} ({error}): lost {lost}, unexpected {extra}")
        status, output = run_check(str(path))
        if status != 0:
            failures.append(f"call {number} ({error}): storagedb check exited {status}: {output[:300]}")
        stray = stray_files(str(path))
        if stray:
            failures.append(f"call {number} ({error}): files the catalog does not list: {stray}")
    assert fired > 0
    assert not failures, f"{len(failures)} of {len(range(0, calls, stride))} runs broke a rule:\n" + "\n".join(
        failures[:10]
    )


@pytest.mark.parametrize("operation, kind, number", [("write", "full", 2), ("fsync", "error", 3)])
def test_failed_creation_can_be_reopened(tmp_path, operation, kind, number):
    path = tmp_path / "db"
    with FaultInjector(Fault(operation, kind=kind, after=number)) as injector:
        with pytest.raises(StorageIOError):
            create_database(path)
    assert injector.fired == 1
    create_database(path)
    assert reopened_model(path) == {}
