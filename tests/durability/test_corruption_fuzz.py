"""Damaged and hostile files: flip bytes and truncate every kind of file, then open and scan.

Each case copies a known database, damages one file and hands the copy to a
sandboxed probe process (``durability_probe.py``: time limit, address-space
limit). Opening, scanning every table and looking up keys may then

* raise a ``storagedb.StorageDBError``, or
* return exactly the known data (a byte that nothing reads may change
  nothing),

and nothing else: no hang, no crash, no MemoryError, no IndexError,
KeyError, numpy ValueError or UnicodeDecodeError, no wrong result.

Two kinds of damage are applied:

* *raw*: bytes flipped as a bad disk would, so page checksums catch them;
  ``storagedb check`` must then exit 1 and name the file and the page;
* *re-stamped*: bytes flipped and the page checksum recomputed, as a
  forger would, so the damage reaches the parsers behind the checksum
  (slotted pages, overflow chains, column chunks, zone maps, fence keys,
  Bloom filters, descriptors, delete vectors). The data has no second
  checksum, so a changed answer is allowed here, but only storagedb's own
  errors are.

Damage to the write-ahead log follows its own rule: a record that fails
its checksum is a torn tail unless a later record proves the log was
durable past it. The database must then show exactly the transactions
committed before the damaged record, or raise ``CorruptLogError`` when the
damage is provably in the middle.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess

import pytest
from durability_files import (
    LOG_HEADER_BLOCK,
    LOG_NAME,
    PAGE_SIZE,
    copy_database,
    file_header,
    flip_byte,
    page_roles,
    read_log_records,
    read_page,
    table_files,
    truncate_file,
    write_page,
)
from durability_known import LOOKUPS, build_log_database, build_segment_database
from durability_probe import Probe

LAYOUTS = ["nsm", "dsm", "pax"]
SEGMENT_ROLES = {
    "nsm": ["file header", "slotted", "overflow", "directory", "zones", "fences", "bloom", "descriptor"],
    "dsm": ["file header", "chunk", "directory", "zones", "fences", "bloom", "descriptor"],
    "pax": ["file header", "chunk", "directory", "zones", "fences", "bloom", "descriptor"],
}


@pytest.fixture(scope="module")
def probe():
    handle = Probe(headroom_mb=512, timeout=30.0)
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def known(tmp_path_factory, probe):
    """Known databases and what reading them must return: one per layout, and one with a full log."""
    root = tmp_path_factory.mktemp("known")
    databases = {}
    for layout in LAYOUTS:
        path = str(root / layout)
        build_segment_database(path, layout)
        databases[layout] = path
    databases["log"] = str(root / "log")
    build_log_database(databases["log"])

    expected = {}
    for name, path in databases.items():
        result = probe.read(copy_database(path, str(root / f"{name}-read")), LOOKUPS)
        assert result["status"] == "ok", result
        expected[name] = result["dump"]
    return databases, expected


# -- running one case ----------------------------------------------------------------


class Cases:
    """Runs damaged copies through the probe and collects every rule broken."""

    def __init__(self, tmp_path, probe: Probe) -> None:
        self.tmp_path = tmp_path
        self.probe = probe
        self.count = 0
        self.failures: list[str] = []
        self.outcomes: dict[str, int] = {}

    def copy(self, source: str) -> str:
        self.count += 1
        return copy_database(source, str(self.tmp_path / f"case{self.count}"))

    def read(self, label: str, db_path: str, allowed: list[dict] | None) -> dict:
        """Open and scan; ``allowed`` lists the dumps a successful read may return (None: any)."""
        result = self.probe.read(db_path, LOOKUPS)
        status = result["status"]
        self.outcomes[status] = self.outcomes.get(status, 0) + 1
        if status in ("hang", "crash", "unexpected"):
            detail = result.get("traceback") or result.get("message")
            self.failures.append(f"{label}: {status} {result.get('type', '')}: {detail}")
        elif status == "ok" and allowed is not None and result["dump"] not in allowed:
            self.failures.append(f"{label}: wrong answer: no error, but the data differs from the known data")
        shutil.rmtree(db_path, ignore_errors=True)
        return result

    def check(self, label: str, db_path: str, must_name: tuple[str, ...] | None) -> None:
        """Run ``storagedb check``; with ``must_name`` it must exit 1 and mention each string."""
        result = self.probe.check(db_path)
        if result["status"] != "ok":
            self.failures.append(f"{label}: storagedb check: {result['status']} {result.get('traceback') or result}")
            return
        if must_name is None:
            return
        if result["exit"] != 1:
            self.failures.append(f"{label}: storagedb check exited {result['exit']}, expected 1: {result['output'][:300]}")
        for text in must_name:
            if text not in result["output"]:
                self.failures.append(f"{label}: storagedb check output does not name {text!r}: {result['output'][:300]}")

    def assert_clean(self) -> None:
        print(f"{self.count} cases: {self.outcomes}")
        assert not self.failures, f"{len(self.failures)} of {self.count} cases broke a rule:\n" + "\n".join(
            self.failures[:15]
        )


def _flip_in_page(path: str, page_no: int, rng: random.Random, restamp: bool) -> int:
    """Flip one byte of a page; returns the file offset. Re-stamped flips favour the first bytes of the body."""
    if restamp and rng.random() < 0.5:
        offset_in_page = rng.randrange(24, 96)
    else:
        offset_in_page = rng.randrange(0 if not restamp else 4, PAGE_SIZE)
    page = read_page(path, page_no)
    page[offset_in_page] ^= rng.randrange(1, 256)
    write_page(path, page_no, page, restamp=restamp)
    return page_no * PAGE_SIZE + offset_in_page


# -- sealed segments and delete vectors --------------------------------------------------------


@pytest.mark.parametrize(
    "layout, role", [(layout, role) for layout in LAYOUTS for role in SEGMENT_ROLES[layout]]
)
def test_segment_page_damage(tmp_path, probe, known, layout, role):
    databases, expected = known
    rng = random.Random(f"{layout}-{role}")
    cases = Cases(tmp_path, probe)
    for restamp in (False, False, True, True, True, True):
        db_path = cases.copy(databases[layout])
        _directory, segments, _vectors = table_files(db_path, "t")
        candidates = [(s, p) for s in segments for p, r in page_roles(s).items() if r == role]
        assert candidates, f"no {role} page in the {layout} segments"
        segment, page_no = rng.choice(candidates)
        offset = _flip_in_page(segment, page_no, rng, restamp)
        name = os.path.basename(segment)
        label = f"{layout} {role} page {page_no} of {name}, byte {offset}{' re-stamped' if restamp else ''}"
        if restamp:
            cases.check(label, db_path, None)
            cases.read(label, db_path, None)
        else:
            cases.check(label, db_path, (name, f"page {page_no}") if page_no else (name,))
            cases.read(label, db_path, [expected[layout]])
    cases.assert_clean()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_delete_vector_damage(tmp_path, probe, known, layout):
    databases, expected = known
    rng = random.Random(f"vector-{layout}")
    cases = Cases(tmp_path, probe)
    for restamp in (False, False, True, True, True, True, True):
        db_path = cases.copy(databases[layout])
        _directory, _segments, vectors = table_files(db_path, "t")
        assert vectors, "the known database has no delete vector"
        page_no = rng.randrange(file_header(vectors[0])["page_count"])
        offset = _flip_in_page(vectors[0], page_no, rng, restamp)
        name = os.path.basename(vectors[0])
        label = f"{layout} delete vector {name} page {page_no}, byte {offset}{' re-stamped' if restamp else ''}"
        if restamp:
            cases.check(label, db_path, None)
            cases.read(label, db_path, None)
        else:
            cases.check(label, db_path, (name, f"page {page_no}") if page_no else (name,))
            cases.read(label, db_path, [expected[layout]])
    cases.assert_clean()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_segment_and_vector_truncation(tmp_path, probe, known, layout):
    databases, expected = known
    rng = random.Random(f"truncate-{layout}")
    cases = Cases(tmp_path, probe)
    for target in ("segment", "segment", "segment", "segment", "vector", "vector"):
        db_path = cases.copy(databases[layout])
        _directory, segments, vectors = table_files(db_path, "t")
        path = rng.choice(segments) if target == "segment" else vectors[0]
        size = os.path.getsize(path)
        length = rng.choice([0, rng.randrange(1, 64), rng.randrange(64, PAGE_SIZE), rng.randrange(PAGE_SIZE, size)])
        truncate_file(path, length)
        label = f"{layout} {os.path.basename(path)} truncated to {length} of {size} bytes"
        cases.check(label, db_path, (os.path.basename(path),))
        cases.read(label, db_path, [expected[layout]])
    cases.assert_clean()


# -- the catalog ---------------------------------------------------------------------


def test_catalog_damage(tmp_path, probe, known):
    databases, expected = known
    rng = random.Random("catalog")
    cases = Cases(tmp_path, probe)
    for number in range(16):
        db_path = cases.copy(databases["dsm"])
        path = os.path.join(db_path, "catalog.sdb")
        size = os.path.getsize(path)
        if number < 11:
            offset = rng.randrange(16) if number < 4 else rng.randrange(size)
            flip_byte(path, offset, rng.randrange(1, 256))
            label = f"catalog.sdb byte {offset} flipped"
        else:
            length = rng.randrange(size)
            truncate_file(path, length)
            label = f"catalog.sdb truncated to {length} of {size} bytes"
        cases.check(label, db_path, ("catalog.sdb",))
        cases.read(label, db_path, [expected["dsm"]])
    cases.assert_clean()


# -- the write-ahead log -------------------------------------------------------------


@pytest.fixture(scope="module")
def log_prefixes(known, probe, tmp_path_factory):
    """The dump after each prefix of committed transactions of the known log: a clean cut after COMMIT k."""
    databases, _expected = known
    records = read_log_records(databases["log"])
    commit_ends = [r.offset + r.size for r in records if r.type == 10]
    assert len(commit_ends) >= 8, "the known log contains too few transactions"
    root = tmp_path_factory.mktemp("prefixes")
    dumps = []
    for index, end in enumerate([LOG_HEADER_BLOCK] + commit_ends):
        path = copy_database(databases["log"], str(root / f"prefix{index}"))
        with open(os.path.join(path, LOG_NAME), "r+b") as handle:
            handle.seek(end)
            handle.write(bytes(records[-1].offset + records[-1].size - end))
        result = probe.read(path, LOOKUPS)
        assert result["status"] == "ok", result
        dumps.append(result["dump"])
    return records, commit_ends, dumps


def _allowed_after_log_damage(records, commit_ends, dumps, offset: int) -> tuple[list[dict] | None, bool]:
    """What a read may return after damage at ``offset``: the allowed dumps, and whether it must raise."""
    if offset < 36:
        return [], True  # the header is checksummed
    for index, record in enumerate(records):
        if record.offset <= offset < record.offset + record.size:
            if offset >= record.offset + 40 + record.length:
                return [dumps[-1]], False  # padding after the payload is not read
            provable = any(later.synced_lsn > record.lsn for later in records[index + 1 :])
            committed = sum(1 for end in commit_ends if end <= record.offset)
            return [dumps[committed]], provable
    return [dumps[-1]], False  # before the first record or after the last one


def test_log_byte_flips(tmp_path, probe, known, log_prefixes):
    databases, _expected = known
    records, commit_ends, dumps = log_prefixes
    end = records[-1].offset + records[-1].size
    rng = random.Random("log flips")
    cases = Cases(tmp_path, probe)
    offsets = [rng.randrange(36) for _ in range(3)] + [rng.randrange(36, LOG_HEADER_BLOCK)]
    offsets += [rng.randrange(LOG_HEADER_BLOCK, end) for _ in range(24)]
    offsets += [rng.choice(records).offset + rng.randrange(40) for _ in range(6)]  # record headers
    offsets += [end + rng.randrange(4096)]
    for offset in offsets:
        db_path = cases.copy(databases["log"])
        flip_byte(os.path.join(db_path, LOG_NAME), offset, rng.randrange(1, 256))
        allowed, must_raise = _allowed_after_log_damage(records, commit_ends, dumps, offset)
        label = f"wal.log byte {offset} flipped"
        if must_raise:
            cases.check(label, db_path, ("wal.log",))
        result = cases.read(label, db_path, allowed)
        if must_raise and result["status"] == "ok":
            cases.failures.append(f"{label}: damage before a durable record must raise CorruptLogError")
        if result["status"] == "storagedb_error" and not must_raise and offset >= 36:
            if result["type"] != "CorruptLogError":
                cases.failures.append(f"{label}: raised {result['type']}: {result['message']}")
    cases.assert_clean()


def test_log_truncation(tmp_path, probe, known, log_prefixes):
    databases, _expected = known
    records, commit_ends, dumps = log_prefixes
    end = records[-1].offset + records[-1].size
    rng = random.Random("log truncation")
    cases = Cases(tmp_path, probe)
    lengths = [0, rng.randrange(1, 36), rng.randrange(36, LOG_HEADER_BLOCK)] + [
        rng.randrange(LOG_HEADER_BLOCK, end) for _ in range(9)
    ]
    for length in lengths:
        db_path = cases.copy(databases["log"])
        truncate_file(os.path.join(db_path, LOG_NAME), length)
        committed = sum(1 for commit_end in commit_ends if commit_end <= length)
        # NOTE: a cut inside the records reads as a torn tail, although the
        # log was preallocated past it, so the lost transactions go unreported.
        allowed = [] if length < 36 else [dumps[committed]]
        label = f"wal.log truncated to {length} bytes"
        if length < 36:
            cases.check(label, db_path, ("wal.log",))
        cases.read(label, db_path, allowed)
    cases.assert_clean()


# -- storagedb check from the command line ------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_check_names_file_and_page(tmp_path, known, layout):
    """One damaged page of every role in one copy: ``storagedb check`` lists each."""
    databases, _expected = known
    db_path = copy_database(databases[layout], str(tmp_path / "db"))
    _directory, segments, vectors = table_files(db_path, "t")
    damaged = []
    for role in SEGMENT_ROLES[layout][1:]:
        segment, page_no = next((s, p) for s in segments for p, r in page_roles(s).items() if r == role)
        flip_byte(segment, page_no * PAGE_SIZE + 100)
        damaged.append((role, os.path.basename(segment), page_no))
    flip_byte(vectors[0], PAGE_SIZE + 30)
    damaged.append(("delete vector", os.path.basename(vectors[0]), 1))

    run = subprocess.run(["storagedb", "check", db_path], capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    lines = output.splitlines()
    for role, name, page_no in damaged:
        assert any(name in line and f"page {page_no}" in line for line in lines), f"{role}: {name} page {page_no}"
