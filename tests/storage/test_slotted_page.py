import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from storagedb.errors import CorruptPageError
from storagedb.storage import overflow, slotted_page
from storagedb.storage.buffer_pool import BufferPool
from storagedb.storage.overflow import OVERFLOW_HEADER, OVERFLOW_HEADER_SIZE, STUB, STUB_SIZE
from storagedb.storage.page import PageType, init_page
from storagedb.storage.paged_file import FileKind, PagedFile
from storagedb.storage.slotted_page import SLOT, SLOT_SIZE, SLOTTED_HEADER, SLOTTED_HEADER_SIZE


def test_slotted_structs_match_documented_sizes():
    assert SLOTTED_HEADER.size == SLOTTED_HEADER_SIZE == 16
    assert SLOT.size == SLOT_SIZE == 4
    assert STUB.size == STUB_SIZE == 12
    assert OVERFLOW_HEADER.size == OVERFLOW_HEADER_SIZE == 8


def blank_page(size=4096):
    page = memoryview(bytearray(size))
    init_page(page, PageType.SLOTTED, 1)
    slotted_page.format_page(page)
    return page


def test_insert_read_round_trip_and_slot_numbers_grow():
    page = blank_page()
    assert slotted_page.insert(page, b"alpha") == 0
    assert slotted_page.insert(page, b"") == 1
    assert slotted_page.insert(page, b"gamma!") == 2
    assert bytes(slotted_page.read(page, 0)) == b"alpha"
    assert bytes(slotted_page.read(page, 1)) == b""
    assert bytes(slotted_page.read(page, 2)) == b"gamma!"
    assert slotted_page.check_page(page) == []


def test_insert_fills_page_from_both_ends():
    page = blank_page()
    slotted_page.insert(page, b"x" * 10)
    header = slotted_page.read_slotted_header(page)
    assert header.free_start == 40 + 4
    assert header.free_end == 4096 - 10
    assert slotted_page.slot_entry(page, 0) == (4086, 10, False)


def test_deleted_slot_is_reused_by_next_insert():
    page = blank_page()
    for word in (b"a", b"bb", b"ccc"):
        slotted_page.insert(page, word)
    slotted_page.delete(page, 1)
    assert slotted_page.insert(page, b"dddd") == 1
    assert [bytes(slotted_page.read(page, s)) for s in range(3)] == [b"a", b"dddd", b"ccc"]


def test_reading_a_deleted_slot_raises():
    page = blank_page()
    slotted_page.insert(page, b"a")
    slotted_page.delete(page, 0)
    with pytest.raises(CorruptPageError, match="slot 0 is empty"):
        slotted_page.read(page, 0)
    with pytest.raises(CorruptPageError, match="does not exist"):
        slotted_page.read(page, 5)


def test_page_fills_then_insert_returns_none():
    page = blank_page()
    record = b"r" * 100
    count = 0
    while slotted_page.insert(page, record) is not None:
        count += 1
    assert count == (4096 - 40) // (100 + 4)
    assert slotted_page.free_space(page) < 100


def test_max_size_record_fits_empty_page_exactly():
    page = blank_page()
    size = slotted_page.max_record_size(4096)
    assert slotted_page.insert(page, b"m" * size) == 0
    assert slotted_page.free_space(page) == -4
    assert slotted_page.insert(page, b"") is None


def test_free_space_zero_still_takes_an_empty_record():
    page = blank_page()
    size = slotted_page.max_record_size(4096)
    assert slotted_page.insert(page, b"m" * (size - 4)) == 0
    assert slotted_page.free_space(page) == 0
    assert slotted_page.insert(page, b"") == 1
    assert slotted_page.free_space(page) == -4


def test_insert_compacts_when_only_dead_bytes_make_room():
    page = blank_page()
    slots = [slotted_page.insert(page, bytes([i]) * 1000) for i in range(4)]
    assert slotted_page.insert(page, b"z" * 1000) is None
    slotted_page.delete(page, slots[1])
    slotted_page.delete(page, slots[2])
    assert slotted_page.insert(page, b"z" * 1500) == 1
    assert bytes(slotted_page.read(page, 0)) == b"\x00" * 1000
    assert bytes(slotted_page.read(page, 3)) == b"\x03" * 1000
    assert slotted_page.check_page(page) == []


def test_update_smaller_and_larger_record():
    page = blank_page()
    slotted_page.insert(page, b"hello world")
    assert slotted_page.update(page, 0, b"hi")
    assert bytes(slotted_page.read(page, 0)) == b"hi"
    assert slotted_page.read_slotted_header(page).dead_bytes == 9
    assert slotted_page.update(page, 0, b"a much longer record than before")
    assert bytes(slotted_page.read(page, 0)) == b"a much longer record than before"
    assert slotted_page.check_page(page) == []


def test_update_too_large_changes_nothing():
    page = blank_page()
    slotted_page.insert(page, b"a" * 2000)
    slotted_page.insert(page, b"b" * 2000)
    before = bytes(page)
    assert not slotted_page.update(page, 0, b"c" * 2100)
    assert bytes(page) == before


def test_update_that_fits_only_after_compaction():
    page = blank_page()
    slotted_page.insert(page, b"a" * 1000)
    slotted_page.insert(page, b"b" * 1000)
    slotted_page.insert(page, b"c" * 1000)
    slotted_page.delete(page, 1)
    assert slotted_page.update(page, 0, b"d" * 2000)
    assert bytes(slotted_page.read(page, 0)) == b"d" * 2000
    assert bytes(slotted_page.read(page, 2)) == b"c" * 1000
    assert slotted_page.check_page(page) == []


def test_compact_keeps_slot_numbers_and_reclaims_dead_bytes():
    page = blank_page()
    for i in range(10):
        slotted_page.insert(page, bytes([65 + i]) * (i + 1) * 10)
    for slot in (0, 3, 7):
        slotted_page.delete(page, slot)
    expected = {s: bytes(slotted_page.read(page, s)) for s, *_ in slotted_page.live_slots(page)}
    slotted_page.compact(page)
    header = slotted_page.read_slotted_header(page)
    assert header.dead_bytes == 0
    assert header.free_end == 4096 - sum(len(v) for v in expected.values())
    assert {s: bytes(slotted_page.read(page, s)) for s, *_ in slotted_page.live_slots(page)} == expected


def test_check_page_reports_overlapping_records():
    page = blank_page()
    slotted_page.insert(page, b"a" * 10)
    slotted_page.insert(page, b"b" * 10)
    SLOT.pack_into(page, 44, 4090, 10)  # slot 1 now overlaps slot 0's bytes
    problems = slotted_page.check_page(page)
    assert any("overlap" in problem or "outside" in problem for problem in problems)


@pytest.fixture
def pool_file(tmp_path):
    file = PagedFile.create(tmp_path / "records.sdb", FileKind.SCRATCH)
    pool = BufferPool(6)
    file_id = pool.register_file(file)
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        slotted_page.format_page(page.data)
        page_no = page.page_no
    yield pool, file_id, page_no, file
    file.close()


def test_large_record_uses_overflow_chain(pool_file):
    pool, file_id, page_no, file = pool_file
    big = bytes(range(256)) * 40  # 10,240 bytes: three overflow pages
    slot = overflow.insert_record(pool, file_id, page_no, big)
    assert overflow.read_record(pool, file_id, page_no, slot) == big
    assert file.page_count == 1 + 1 + 3
    with pool.read_page(file_id, page_no) as page:
        assert slotted_page.slot_entry(page.data, slot)[1:] == (STUB_SIZE, True)


def test_deleting_an_overflow_record_frees_its_chain(pool_file):
    pool, file_id, page_no, file = pool_file
    slot = overflow.insert_record(pool, file_id, page_no, b"q" * 9000)
    overflow.delete_record(pool, file_id, page_no, slot)
    assert file.free_count == 3
    slot = overflow.insert_record(pool, file_id, page_no, b"w" * 9000)
    assert file.free_count == 0
    assert file.page_count == 5


def test_updating_overflow_record_to_small_frees_chain(pool_file):
    pool, file_id, page_no, file = pool_file
    slot = overflow.insert_record(pool, file_id, page_no, b"q" * 5000)
    assert overflow.update_record(pool, file_id, page_no, slot, b"tiny")
    assert overflow.read_record(pool, file_id, page_no, slot) == b"tiny"
    assert file.free_count == 2


def test_overflow_chain_cut_short_is_reported(pool_file):
    pool, file_id, page_no, file = pool_file
    slot = overflow.insert_record(pool, file_id, page_no, b"q" * 9000)
    with pool.read_page(file_id, page_no) as page:
        stub = bytes(slotted_page.read(page.data, slot))
    size, first = STUB.unpack(stub)
    with pool.write_page(file_id, first) as page:
        OVERFLOW_HEADER.pack_into(page.data, 24, 0, 4064)  # drop the link to page 2
    with pytest.raises(CorruptPageError, match="ends after 4064 of 9000 bytes"):
        overflow.read_record(pool, file_id, page_no, slot)


def test_overflow_stub_huge_size_rejected(pool_file):
    pool, file_id, page_no, _ = pool_file
    with pytest.raises(CorruptPageError, match="above the"):
        overflow.read_chain(pool, file_id, STUB.pack(1 << 50, 2))


RECORD = st.one_of(
    st.binary(max_size=300),
    st.binary(min_size=1000, max_size=4100),
    st.integers(4000, 13000).map(lambda n: bytes((i * 7) & 0xFF for i in range(n))),
)


class SlottedPageMachine(RuleBasedStateMachine):
    """A slotted page with overflow, against a dict of slot -> bytes."""

    def __init__(self):
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="sdb-slotted-")
        self.file = PagedFile.create(f"{self.directory}/p.sdb", FileKind.SCRATCH)
        self.pool = BufferPool(5)
        self.file_id = self.pool.register_file(self.file)
        with self.pool.new_page(self.file_id, PageType.SLOTTED) as page:
            slotted_page.format_page(page.data)
            self.page_no = page.page_no
        self.model: dict[int, bytes] = {}

    @initialize()
    def start(self):
        pass

    @rule(record=RECORD)
    def insert(self, record):
        slot = overflow.insert_record(self.pool, self.file_id, self.page_no, record)
        if slot is None:
            with self.pool.read_page(self.file_id, self.page_no) as page:
                room = slotted_page.free_space(page.data)
            needed = len(record) if len(record) <= slotted_page.max_record_size(4096) else STUB_SIZE
            assert room < needed
            return
        assert slot not in self.model
        self.model[slot] = record

    @precondition(lambda self: self.model)
    @rule(data=st.data(), record=RECORD)
    def update(self, data, record):
        slot = data.draw(st.sampled_from(sorted(self.model)))
        if overflow.update_record(self.pool, self.file_id, self.page_no, slot, record):
            self.model[slot] = record

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete(self, data):
        slot = data.draw(st.sampled_from(sorted(self.model)))
        overflow.delete_record(self.pool, self.file_id, self.page_no, slot)
        del self.model[slot]

    @rule()
    def compact(self):
        with self.pool.write_page(self.file_id, self.page_no) as page:
            slotted_page.compact(page.data)

    @invariant()
    def matches_model(self):
        for slot, record in self.model.items():
            assert overflow.read_record(self.pool, self.file_id, self.page_no, slot) == record
        with self.pool.read_page(self.file_id, self.page_no) as page:
            assert slotted_page.check_page(page.data) == []
            assert {s for s, *_ in slotted_page.live_slots(page.data)} == set(self.model)

    @invariant()
    def no_pages_leak(self):
        capacity = overflow.chain_capacity(4096)
        chains = sum(-(-len(r) // capacity) for r in self.model.values() if len(r) > slotted_page.max_record_size(4096))
        used = self.file.page_count - 1 - self.file.free_count
        assert used == 1 + chains

    def teardown(self):
        self.file.close()
        shutil.rmtree(self.directory, ignore_errors=True)


TestSlottedPageMachine = SlottedPageMachine.TestCase
TestSlottedPageMachine.settings = settings(
    max_examples=80, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_worked_example_in_file_format_doc_matches_bytes():
    page = blank_page()
    slotted_page.insert(page, b"alpha")
    slotted_page.insert(page, b"")
    assert bytes(page[24:34]).hex(" ") == "02 00 30 00 fb 0f 00 00 02 00"
    assert bytes(page[40:48]).hex(" ") == "fb 0f 05 00 fb 0f 00 00"
    assert bytes(page[4091:4096]) == b"alpha"
