"""A table against a dict model: random inserts, updates, deletes, scans and reopens."""

import datetime as dt
import decimal
import math
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import storagedb
import storagedb.table
from storagedb.errors import DuplicateKeyError

COLUMNS = [
    ("id", "int64", "not null"),
    ("name", "text"),
    ("amount", "decimal(10,2)"),
    ("flag", "bool"),
    ("day", "date"),
    ("score", "float64"),
]
NAMES = [c[0] for c in COLUMNS]

KEYS = st.integers(-50, 50)
VALUES = st.fixed_dictionaries(
    {
        "name": st.one_of(st.none(), st.text(max_size=12), st.text(min_size=3000, max_size=5000)),
        "amount": st.one_of(st.none(), st.integers(-(10**8), 10**8).map(lambda v: decimal.Decimal(v).scaleb(-2))),
        "flag": st.one_of(st.none(), st.booleans()),
        "day": st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))),
        "score": st.one_of(st.none(), st.floats(allow_nan=False)),
    }
)


def same_row(a, b):
    assert a.keys() == b.keys()
    for name in a:
        x, y = a[name], b[name]
        if isinstance(x, float) and isinstance(y, float):
            assert x == y or (math.isnan(x) and math.isnan(y)), (name, x, y)
        else:
            assert x == y, (name, x, y)


class TableMachine(RuleBasedStateMachine):
    layout = "nsm"

    def __init__(self):
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="sdb-table-")
        self.path = f"{self.directory}/db"
        self.model: dict[int, dict] = {}
        self.db = None

    @initialize()
    def start(self):
        self.db = storagedb.connect(self.path, pool_size=64 * 4096)
        self.table = self.db.create_table(
            "t", COLUMNS, primary_key="id", layout=self.layout, segment_rows=17, row_group_rows=5
        )

    def _row(self, key, values):
        row = {"id": key, **values}
        return row

    @rule(key=KEYS, values=VALUES)
    def insert(self, key, values):
        row = self._row(key, values)
        if key in self.model:
            with pytest.raises(DuplicateKeyError):
                self.table.insert(row)
        else:
            self.table.insert(row)
            self.model[key] = row

    @rule(keys=st.lists(KEYS, max_size=40), values=VALUES, as_arrays=st.booleans())
    def insert_many(self, keys, values, as_arrays):
        rows = [self._row(k, values) for k in keys]
        duplicate = len(set(keys)) != len(keys) or any(k in self.model for k in keys)
        if as_arrays:
            payload = {name: [row[name] for row in rows] for name in NAMES}
        else:
            payload = rows
        if duplicate:
            with pytest.raises(DuplicateKeyError):
                self.table.insert_many(payload)
        else:
            assert self.table.insert_many(payload) == len(rows)
            for row in rows:
                self.model[row["id"]] = row

    @rule(key=KEYS)
    def get(self, key):
        got = self.table.get(key)
        if key in self.model:
            same_row(got, self.model[key])
        else:
            assert got is None

    @rule(key=KEYS, values=VALUES)
    def update(self, key, values):
        changed = self.table.update(key, values)
        assert changed == (key in self.model)
        if changed:
            self.model[key].update(values)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), new_key=KEYS)
    def update_key(self, data, new_key):
        key = data.draw(st.sampled_from(sorted(self.model)))
        if new_key != key and new_key in self.model:
            with pytest.raises(DuplicateKeyError):
                self.table.update(key, {"id": new_key})
            return
        assert self.table.update(key, {"id": new_key})
        row = self.model.pop(key)
        row["id"] = new_key
        self.model[new_key] = row

    @rule(key=KEYS)
    def delete(self, key):
        assert self.table.delete(key) == (key in self.model)
        self.model.pop(key, None)

    @rule()
    def seal(self):
        self.table.seal()

    @rule()
    def compact(self):
        result = self.table.compact()
        assert result["rows"] == len(self.model)

    @rule()
    def checkpoint(self):
        self.db.checkpoint()

    @rule(keys=st.lists(KEYS, min_size=1, max_size=5), values=VALUES, fail=st.booleans())
    def transaction(self, keys, values, fail):
        """Several changes in one transaction: all of them, or none after an error."""
        staged = {key: dict(row) for key, row in self.model.items()}
        try:
            with self.db.transaction():
                for key in keys:
                    if key in staged:
                        self.table.update(key, values)
                        staged[key].update(values)
                    else:
                        self.table.insert(self._row(key, values))
                        staged[key] = self._row(key, values)
                if fail:
                    raise RuntimeError("roll back")
        except RuntimeError:
            return
        self.model = staged

    @rule()
    def reopen(self):
        self.db.close()
        self.db = storagedb.connect(self.path, pool_size=64 * 4096)
        self.table = self.db.table("t")

    @invariant()
    def scan_matches_model(self):
        if self.db is None:
            return
        rows = list(self.table.scan())
        assert len(rows) == len(self.model) == self.table.row_count()
        by_key = {row[0]: dict(zip(NAMES, row)) for row in rows}
        assert set(by_key) == set(self.model)
        for key, row in by_key.items():
            same_row(row, self.model[key])

    def teardown(self):
        if self.db is not None:
            self.db.close()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def small_bulk_threshold(monkeypatch):
    # Let small hypothesis batches exercise the bulk path that writes segments.
    monkeypatch.setattr(storagedb.table, "BULK_THRESHOLD", 8)


def make_machine(layout):
    machine = type(f"TableMachine_{layout}", (TableMachine,), {"layout": layout})
    case = machine.TestCase
    case.settings = settings(
        max_examples=40, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    return case


TestTableNsm = make_machine("nsm")
TestTableDsm = make_machine("dsm")
TestTablePax = make_machine("pax")
