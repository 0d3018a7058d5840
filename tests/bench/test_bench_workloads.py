"""Operation lists of the OLTP workloads: mixes, key choice and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from storagedb.bench.workloads import INSERT, READ, READ_MODIFY_WRITE, SCAN, UPDATE, KeySpace, generate_ops


@pytest.fixture(scope="module")
def space() -> KeySpace:
    # TPC-H-like keys: orderkeys with gaps, 1 to 4 lines each.
    rng = np.random.default_rng(0)
    orderkeys = np.arange(1, 40_001, 4)
    lines = rng.integers(1, 5, size=len(orderkeys))
    keys = np.array(
        [(o, l) for o, n in zip(orderkeys.tolist(), lines.tolist()) for l in range(1, n + 1)], dtype=np.int64
    )
    return KeySpace.build(keys, seed=1, count=2000)


def _kinds(ops):
    return np.array([kind for kind, _ in ops])


def test_absent_keys_are_absent(space):
    present = {tuple(k) for k in space.keys.tolist()}
    assert not any(tuple(k) in present for k in space.absent.tolist())
    assert len(space.absent) >= 2000


def test_same_seed_same_operations(space):
    assert generate_ops("A", 1, 500, space, "zipfian", 9) == generate_ops("A", 1, 500, space, "zipfian", 9)
    assert generate_ops("A", 1, 500, space, "zipfian", 9) != generate_ops("A", 2, 500, space, "zipfian", 9)


@pytest.mark.parametrize(
    "workload, kind, share",
    [
        ("A", UPDATE, 0.5),
        ("B", UPDATE, 0.05),
        ("C", READ, 1.0),
        ("D", INSERT, 0.05),
        ("E", SCAN, 0.95),
        ("F", READ_MODIFY_WRITE, 0.5),
    ],
)
def test_mix_shares(space, workload, kind, share):
    kinds = _kinds(generate_ops(workload, 1, 4000, space, "uniform", 3))
    assert np.mean(kinds == kind) == pytest.approx(share, abs=0.03)


def test_reads_use_existing_keys(space):
    present = {tuple(k) for k in space.keys.tolist()}
    for kind, arg in generate_ops("C", 1, 1000, space, "zipfian", 3):
        assert kind == READ
        assert arg in present


def test_absent_lookups_use_absent_keys(space):
    present = {tuple(k) for k in space.keys.tolist()}
    assert not any(arg in present for _, arg in generate_ops("get_absent", 1, 500, space, "uniform", 3))


def test_latest_reads_only_keys_already_there(space):
    present = {tuple(k) for k in space.keys.tolist()}
    inserted = set()
    for kind, arg in generate_ops("D", 1, 3000, space, "zipfian", 3):
        if kind == INSERT:
            inserted.add((arg[0], arg[3]))
        else:
            assert arg in present or arg in inserted
    assert inserted


def test_latest_reads_favour_new_keys(space):
    ops = generate_ops("D", 1, 3000, space, "zipfian", 3)
    inserted = {(arg[0], arg[3]) for kind, arg in ops if kind == INSERT}
    newest_base = {tuple(k) for k in space.keys[-100:].tolist()}
    recent = sum(1 for kind, arg in ops if kind == READ and (arg in inserted or arg in newest_base))
    assert recent > 0.5 * sum(1 for kind, _ in ops if kind == READ)


def test_scans_stay_inside_loaded_keys(space):
    top = space.max_orderkey
    for kind, arg in generate_ops("E", 1, 1000, space, "zipfian", 3):
        if kind == SCAN:
            low, high = arg
            assert low <= high <= top


def test_inserted_keys_unique_across_runs_and_workloads(space):
    keys = []
    for workload in ("D", "E"):
        for run in range(3):
            keys += [
                (arg[0], arg[3])
                for kind, arg in generate_ops(workload, run, 2000, space, "uniform", 3)
                if kind == INSERT
            ]
    assert len(keys) == len(set(keys))
    assert min(k[0] for k in keys) > space.max_orderkey


def test_zipfian_choice_is_skewed(space):
    reads = [arg for _, arg in generate_ops("C", 1, 5000, space, "zipfian", 3)]
    _, counts = np.unique(np.array(reads), axis=0, return_counts=True)
    assert counts.max() > 50
