"""Filtered scans over sealed and open segments, against a Python model of the rows."""

import operator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storagedb
from storagedb import col

LAYOUTS = ["nsm", "dsm", "pax"]
WORDS = ["alpha", "beta", "gamma", "δέλτα", ""]
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def model_match(row, column, op, value):
    found = row[column]
    return found is not None and OPS[op](found, value)


def build(path, layout, sealed, changes):
    """Create a table whose rows are ``sealed`` (bulk loaded) plus the ``changes`` applied one by one."""
    db = storagedb.connect(path)
    options = {} if layout == "nsm" else {"row_group_rows": 64}
    table = db.create_table(
        "t", [("id", "int64", "not null"), ("n", "int64"), ("w", "text")], primary_key="id",
        layout=layout, **options,
    )
    model = {}
    if sealed:
        ids = np.array(sorted(sealed), dtype=np.int64)
        table.insert_many({"id": ids, "n": ids % 7, "w": np.array([WORDS[i % len(WORDS)] for i in ids], dtype=object)})
        model = {i: {"id": i, "n": i % 7, "w": WORDS[i % len(WORDS)]} for i in ids.tolist()}
    for kind, key, number, word in changes:
        if kind == "insert" and key not in model:
            table.insert((key, number, word))
            model[key] = {"id": key, "n": number, "w": word}
        elif kind == "update" and key in model:
            table.update((key,), {"n": number, "w": word})
            model[key] = {"id": key, "n": number, "w": word}
        elif kind == "delete" and key in model:
            table.delete((key,))
            del model[key]
    return db, table, model


changes = st.lists(
    st.tuples(
        st.sampled_from(["insert", "insert", "update", "delete"]),
        st.integers(0, 400),
        st.none() | st.integers(-3, 9),
        st.none() | st.sampled_from(WORDS),
    ),
    max_size=120,
)
predicates = st.tuples(
    st.sampled_from(["id", "n", "w"]), st.sampled_from(sorted(OPS))
).flatmap(
    lambda pair: st.tuples(
        st.just(pair[0]),
        st.just(pair[1]),
        st.integers(-5, 410) if pair[0] == "id" else st.integers(-3, 9) if pair[0] == "n" else st.sampled_from(WORDS),
    )
)


@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sealed=st.sets(st.integers(0, 400), max_size=300), changes=changes, predicate=predicates)
def test_filtered_scan_matches_model(tmp_path_factory, layout, sealed, changes, predicate):
    path = tmp_path_factory.mktemp("db") / "db"
    db, table, model = build(path, layout, sealed, changes)
    column, op, value = predicate
    where = OPS[op](col(column), value)
    try:
        found = sorted(tuple(row) for row in table.scan(["id", "w"], where=where))
        expected = sorted((row["id"], row["w"]) for row in model.values() if model_match(row, column, op, value))
        both = (col("id") >= 100) & where
        found_both = sorted(row[0] for row in table.scan(["id"], where=both))
        expected_both = sorted(
            row["id"] for row in model.values() if row["id"] >= 100 and model_match(row, column, op, value)
        )
    finally:
        db.close()

    assert found == expected
    assert found_both == expected_both
