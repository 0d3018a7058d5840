import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from storagedb.errors import BufferPoolFullError, PageGuardError
from storagedb.storage.buffer_pool import BufferPool
from storagedb.storage.page import PAGE_HEADER_SIZE, PageType, page_lsn, set_page_lsn
from storagedb.storage.paged_file import FileKind, PagedFile


@pytest.fixture
def pool_and_file(tmp_path):
    file = PagedFile.create(tmp_path / "pool.sdb", FileKind.SCRATCH)
    pool = BufferPool(4)
    file_id = pool.register_file(file)
    yield pool, file_id, file
    file.close()


def test_guard_pins_inside_block_and_unpins_after(pool_and_file):
    pool, file_id, _ = pool_and_file
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        page_no = page.page_no
        assert pool.pin_count(file_id, page_no) == 1
    assert pool.pin_count(file_id, page_no) == 0
    with pool.read_page(file_id, page_no) as page:
        with pool.read_page(file_id, page_no):
            assert pool.pin_count(file_id, page_no) == 2
    assert pool.pin_count(file_id, page_no) == 0


def test_guard_used_after_close_raises(pool_and_file):
    pool, file_id, _ = pool_and_file
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        pass
    with pytest.raises(PageGuardError, match="outside its 'with' block"):
        page.data
    with pytest.raises(PageGuardError):
        page.array
    with pytest.raises(PageGuardError, match="entered only once"):
        with page:
            pass


def test_guard_used_before_enter_raises(pool_and_file):
    pool, file_id, _ = pool_and_file
    guard = pool.read_page(file_id, 1)
    with pytest.raises(PageGuardError):
        guard.data


def test_write_guard_marks_dirty_and_eviction_writes_back(pool_and_file):
    pool, file_id, file = pool_and_file
    numbers = []
    for index in range(4):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            page.data[PAGE_HEADER_SIZE] = index
            numbers.append(page.page_no)
    assert pool.stats.writes == 0
    # A fifth page forces an eviction of a dirty page, which is written first.
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        numbers.append(page.page_no)
    assert pool.stats.evictions == 1
    assert pool.stats.writes == 1
    pool.flush_all()
    for index, page_no in enumerate(numbers[:4]):
        with pool.read_page(file_id, page_no) as page:
            assert page.data[PAGE_HEADER_SIZE] == index


def test_read_guard_does_not_mark_dirty(pool_and_file):
    pool, file_id, _ = pool_and_file
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        page_no = page.page_no
    pool.flush_all()
    writes = pool.stats.writes
    with pool.read_page(file_id, page_no):
        pass
    assert pool.flush_all() == 0
    assert pool.stats.writes == writes


def test_counters_count_hits_misses_reads(pool_and_file):
    pool, file_id, _ = pool_and_file
    numbers = []
    for _ in range(6):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            numbers.append(page.page_no)
    pool.flush_all()
    before = pool.stats.as_dict()
    with pool.read_page(file_id, numbers[-1]):  # still resident
        pass
    with pool.read_page(file_id, numbers[0]):  # evicted long ago
        pass
    after = pool.stats.as_dict()
    assert set(after) == {"hits", "misses", "reads", "writes", "evictions"}
    assert after["hits"] - before["hits"] == 1
    assert after["misses"] - before["misses"] == 1
    assert after["reads"] - before["reads"] == 1


def test_frames_are_numpy_views_without_copy(pool_and_file):
    pool, file_id, _ = pool_and_file
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        page.data[100:108] = (12345).to_bytes(8, "little")
        value = np.frombuffer(page.data, dtype="<i8", count=1, offset=96 + 4)
        assert value[0] == 12345
        assert np.shares_memory(page.array, pool.frames)
        assert pool.frames[page.frame, 100] == 12345 & 0xFF


def test_freed_page_is_reused_before_the_file_grows(pool_and_file):
    pool, file_id, file = pool_and_file
    numbers = []
    for _ in range(3):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            numbers.append(page.page_no)
    pool.free_page(file_id, numbers[1])
    assert file.free_count == 1
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        assert page.page_no == numbers[1]
    assert file.free_count == 0
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        assert page.page_no == 4


def test_free_list_survives_reopen(tmp_path):
    path = tmp_path / "f.sdb"
    file = PagedFile.create(path, FileKind.SCRATCH)
    pool = BufferPool(3)
    file_id = pool.register_file(file)
    for _ in range(5):
        with pool.new_page(file_id, PageType.SLOTTED):
            pass
    pool.free_page(file_id, 2)
    pool.free_page(file_id, 4)
    pool.sync_file(file_id)
    pool.unregister_file(file_id)
    file.close()

    file = PagedFile.open(path)
    assert (file.free_head, file.free_count) == (4, 2)
    pool = BufferPool(3)
    file_id = pool.register_file(file)
    got = []
    for _ in range(3):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            got.append(page.page_no)
    assert got == [4, 2, 6]
    file.close()


def test_freeing_a_pinned_page_raises(pool_and_file):
    pool, file_id, _ = pool_and_file
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        with pytest.raises(PageGuardError, match="pinned"):
            pool.free_page(file_id, page.page_no)


def test_double_free_of_a_resident_page_raises(pool_and_file):
    pool, file_id, _ = pool_and_file
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        page_no = page.page_no
    pool.free_page(file_id, page_no)
    with pytest.raises(ValueError, match="already free"):
        pool.free_page(file_id, page_no)


def test_log_flusher_runs_before_page_write(pool_and_file):
    pool, file_id, _ = pool_and_file
    seen = []
    pool.log_flusher = seen.append
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        set_page_lsn(page.data, 77)
        page_no = page.page_no
    pool.flush(file_id, page_no)
    assert seen == [77]
    with pool.read_page(file_id, page_no) as page:
        assert page_lsn(page.data) == 77


def test_failed_log_flush_keeps_page_dirty_and_unwritten(pool_and_file):
    pool, file_id, _ = pool_and_file

    def refuse(lsn):
        raise OSError("log device gone")

    pool.log_flusher = refuse
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        set_page_lsn(page.data, 5)
        page_no = page.page_no
    with pytest.raises(OSError):
        pool.flush(file_id, page_no)
    assert pool.stats.writes == 0
    pool.log_flusher = None
    assert pool.flush(file_id, page_no)


def test_write_new_pages_appends_without_caching(pool_and_file):
    pool, file_id, file = pool_and_file
    images = np.zeros((3, 4096), dtype=np.uint8)
    images[:, 4] = PageType.RUN
    images[:, 100] = [7, 8, 9]
    first = pool.write_new_pages(file_id, images)
    assert first == 1
    assert file.page_count == 4
    assert not pool.is_resident(file_id, 2)
    with pool.read_page(file_id, 2) as page:
        assert page.data[100] == 8


def test_pin_pages_releases_everything_on_error(pool_and_file):
    pool, file_id, _ = pool_and_file
    for _ in range(2):
        with pool.new_page(file_id, PageType.SLOTTED):
            pass
    with pytest.raises(Exception):
        pool.pin_pages(file_id, [1, 2, 99])
    assert pool.pinned_frames() == 0


def test_pool_needs_two_frames():
    with pytest.raises(ValueError, match="at least 2 frames"):
        BufferPool(1)


def test_registering_file_of_other_page_size_is_rejected(tmp_path):
    file = PagedFile.create(tmp_path / "big", FileKind.SCRATCH, page_size=8192)
    with pytest.raises(ValueError, match="8192-byte pages"):
        BufferPool(4, page_size=4096).register_file(file)
    file.close()


def test_concurrent_readers_see_correct_pages(tmp_path):
    file = PagedFile.create(tmp_path / "threads.sdb", FileKind.SCRATCH)
    pool = BufferPool(16)
    file_id = pool.register_file(file)
    numbers = []
    for index in range(64):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            page.data[200:208] = index.to_bytes(8, "little")
            numbers.append(page.page_no)
    pool.flush_all()
    errors = []

    def reader(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(2000):
                index = int(rng.integers(0, 64))
                with pool.read_page(file_id, numbers[index]) as page:
                    found = int.from_bytes(page.data[200:208], "little")
                    if found != index:
                        errors.append((index, found))
        except Exception as exc:  # collected, then asserted below
            errors.append(exc)

    before = pool.stats.hits + pool.stats.misses
    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert pool.pinned_frames() == 0
    assert pool.stats.hits + pool.stats.misses - before == 4 * 2000
    file.close()


BODY = st.binary(min_size=1, max_size=64)


class BufferPoolMachine(RuleBasedStateMachine):
    """Random new/read/write/pin/unpin/flush/free/reopen steps against a dict."""

    def __init__(self):
        super().__init__()
        import tempfile

        self.directory = tempfile.mkdtemp(prefix="sdb-pool-")
        self.path = f"{self.directory}/pool.sdb"
        self.model: dict[int, bytes] = {}
        self.pinned: list[tuple[int, int]] = []  # (frame, page_no)
        self.file = None

    @initialize(frames=st.integers(3, 8), policy=st.sampled_from(["lru-k", "clock", "lru"]))
    def setup(self, frames, policy):
        self.frames = frames
        self.policy = policy
        self.file = PagedFile.create(self.path, FileKind.SCRATCH)
        self._new_pool()

    def _new_pool(self):
        self.pool = BufferPool(self.frames, replacer=self.policy)
        self.file_id = self.pool.register_file(self.file)

    def _all_pinned_and_absent(self, page_no):
        return len({f for f, _ in self.pinned}) == self.frames and not self.pool.is_resident(self.file_id, page_no)

    def _pool_full(self):
        return len({f for f, _ in self.pinned}) == self.frames

    @rule(body=BODY)
    def new_page(self, body):
        if self._pool_full():
            with pytest.raises(BufferPoolFullError):
                with self.pool.new_page(self.file_id, PageType.SLOTTED):
                    pass
            return
        with self.pool.new_page(self.file_id, PageType.SLOTTED) as page:
            page.data[PAGE_HEADER_SIZE : PAGE_HEADER_SIZE + len(body)] = body
            self.model[page.page_no] = body

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def read_page(self, data):
        page_no = data.draw(st.sampled_from(sorted(self.model)))
        if self._all_pinned_and_absent(page_no):
            with pytest.raises(BufferPoolFullError):
                with self.pool.read_page(self.file_id, page_no):
                    pass
            return
        body = self.model[page_no]
        with self.pool.read_page(self.file_id, page_no) as page:
            assert bytes(page.data[PAGE_HEADER_SIZE : PAGE_HEADER_SIZE + len(body)]) == body

    @precondition(lambda self: self.model)
    @rule(data=st.data(), body=BODY)
    def write_page(self, data, body):
        page_no = data.draw(st.sampled_from(sorted(self.model)))
        if self._all_pinned_and_absent(page_no):
            return
        with self.pool.write_page(self.file_id, page_no) as page:
            old = self.model[page_no]
            page.data[PAGE_HEADER_SIZE : PAGE_HEADER_SIZE + len(old)] = bytes(len(old))
            page.data[PAGE_HEADER_SIZE : PAGE_HEADER_SIZE + len(body)] = body
        self.model[page_no] = body

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def pin(self, data):
        page_no = data.draw(st.sampled_from(sorted(self.model)))
        if self._all_pinned_and_absent(page_no):
            with pytest.raises(BufferPoolFullError):
                self.pool.pin(self.file_id, page_no)
            return
        frame = self.pool.pin(self.file_id, page_no)
        self.pinned.append((frame, page_no))

    @precondition(lambda self: self.pinned)
    @rule(data=st.data())
    def unpin(self, data):
        index = data.draw(st.integers(0, len(self.pinned) - 1))
        frame, _page_no = self.pinned.pop(index)
        self.pool.unpin(frame)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def flush_one(self, data):
        page_no = data.draw(st.sampled_from(sorted(self.model)))
        self.pool.flush(self.file_id, page_no)

    @rule()
    def flush_all(self):
        self.pool.flush_all()

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def free(self, data):
        page_no = data.draw(st.sampled_from(sorted(self.model)))
        if any(p == page_no for _, p in self.pinned):
            with pytest.raises(PageGuardError):
                self.pool.free_page(self.file_id, page_no)
            return
        if self._all_pinned_and_absent(page_no):
            return
        self.pool.free_page(self.file_id, page_no)
        del self.model[page_no]

    @rule()
    def reopen(self):
        for frame, _ in self.pinned:
            self.pool.unpin(frame)
        self.pinned.clear()
        self.pool.sync_file(self.file_id)
        self.pool.unregister_file(self.file_id)
        self.file.close()
        self.file = PagedFile.open(self.path)
        self._new_pool()

    @invariant()
    def pins_match(self):
        if self.file is None:
            return
        for frame, page_no in self.pinned:
            assert self.pool.pin_count(self.file_id, page_no) >= 1
        assert self.pool.pinned_frames() == len({f for f, _ in self.pinned})

    def teardown(self):
        if self.file is not None:
            self.file.close()
        import shutil

        shutil.rmtree(self.directory, ignore_errors=True)


TestBufferPoolMachine = BufferPoolMachine.TestCase
TestBufferPoolMachine.settings = settings(
    max_examples=60, stateful_step_count=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_pin_pages_never_evicts_own_pins(tmp_path):
    file = PagedFile.create(tmp_path / "mixed.sdb", FileKind.SCRATCH)
    pool = BufferPool(4)
    file_id = pool.register_file(file)
    numbers = []
    for index in range(8):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            page.data[200] = index
            numbers.append(page.page_no)
    pool.flush_all()
    with pool.read_page(file_id, numbers[0]):
        pass  # resident and evictable
    # Hits on resident pages, then misses that need victims: the hits must
    # not be chosen, or a frame would hold two pages at once.
    resident = [n for n in numbers if pool.is_resident(file_id, n)][:2]
    absent = [n for n in numbers if not pool.is_resident(file_id, n)][:2]
    frames = pool.pin_pages(file_id, resident + absent)
    assert len(set(frames)) == 4
    for frame, page_no in zip(frames, resident + absent):
        assert pool.frames[frame, 200] == numbers.index(page_no)
    pool.unpin_frames(frames)
    file.close()
