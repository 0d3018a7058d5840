"""Point reads of DSM and PAX rows out of every chunk encoding, with NULLs, runs and bools."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storagedb

COMPRESSIONS = ["auto", "none", "dictionary", "rle", "bitpack", "delta", "for", "zstd", "lz4"]
COLUMNS = [
    ("k", "int64", "not null"),
    ("flag", "bool"),
    ("n", "int32"),
    ("word", "text"),
    ("x", "float64"),
    ("day", "date"),
]

# Few distinct values and long repeats, so that dictionary and run-length
# encodings apply and runs cross NULLs.
cells = st.tuples(
    st.none() | st.booleans(),
    st.none() | st.sampled_from([-7, 0, 3, 2**31 - 1]),
    st.none() | st.sampled_from(["", "a", "δ", "long " * 20]),
    st.none() | st.sampled_from([0.0, -0.0, 1.5, float("inf")]),
    st.none() | st.sampled_from([dt.date(1970, 1, 1), dt.date(1998, 12, 1)]),
)
row_lists = st.lists(st.tuples(st.integers(1, 8), cells), min_size=1, max_size=40)


def same(found, expected):
    if isinstance(expected, float) and isinstance(found, float):
        return str(found) == str(expected)  # keeps -0.0 and 0.0 apart
    return found == expected and type(found) is type(expected)


@pytest.mark.parametrize("layout", ["dsm", "pax"])
@pytest.mark.parametrize("compression", COMPRESSIONS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=row_lists)
def test_get_returns_each_row_of_sealed_chunks(tmp_path_factory, layout, compression, runs):
    rows = []
    for repeat, values in runs:
        for _ in range(repeat):
            rows.append((len(rows), *values))
    path = tmp_path_factory.mktemp("db")
    with storagedb.connect(path) as db:
        table = db.create_table(
            "t", COLUMNS, primary_key="k", layout=layout, row_group_rows=16, compression=compression
        )
        table.insert_many(rows)
        db.checkpoint()
        assert table.stats()["open_segment_rows"] == 0
        names = [column[0] for column in COLUMNS]
        for row in rows:
            found = table.get(row[0])
            for name, expected in zip(names, row):
                assert same(found[name], expected), (name, found[name], expected)
        assert table.get(len(rows)) is None
