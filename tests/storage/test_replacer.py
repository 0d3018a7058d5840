import pytest

from storagedb.errors import BufferPoolFullError
from storagedb.storage.buffer_pool import BufferPool
from storagedb.storage.page import PageType
from storagedb.storage.paged_file import FileKind, PagedFile
from storagedb.storage.replacer import ClockReplacer, LRUKReplacer, make_replacer


def access_all(replacer, frames):
    for frame in frames:
        replacer.record_access(frame)


def drain(replacer):
    order = []
    while (frame := replacer.evict()) is not None:
        order.append(frame)
    return order


def test_lru2_evicts_single_access_frames_first():
    replacer = LRUKReplacer(7, k=2)
    access_all(replacer, [1, 2, 3, 4, 5, 6, 1])
    for frame in range(1, 7):
        replacer.set_evictable(frame, True)
    assert drain(replacer) == [2, 3, 4, 5, 6, 1]


def test_lru2_orders_by_second_most_recent_access():
    replacer = LRUKReplacer(4, k=2)
    # Ticks: A=0 at 1 and 5, B=1 at 2 and 3, C=2 at 4 and 6.
    access_all(replacer, [0, 1, 1, 2, 0, 2])
    for frame in range(3):
        replacer.set_evictable(frame, True)
    # Backward 2-distances: A's 2nd most recent access is tick 1, B's tick 2,
    # C's tick 4. Plain LRU would evict B first (last touched at tick 3).
    assert drain(replacer) == [0, 1, 2]


def test_lru2_infinite_distance_beats_any_finite_distance():
    replacer = LRUKReplacer(3, k=2)
    access_all(replacer, [0, 0, 1, 2, 2])
    for frame in range(3):
        replacer.set_evictable(frame, True)
    assert drain(replacer) == [1, 0, 2]


def test_lru3_trace():
    replacer = LRUKReplacer(5, k=3)
    # Ticks 1..10.
    access_all(replacer, [0, 1, 2, 0, 1, 0, 3, 1, 2, 4])
    # Frame histories: 0: [1,4,6] (3rd recent = 1); 1: [2,5,8] (2);
    # 2: [3,9] (<3, first 3); 3: [7] (<3, first 7); 4: [10] (<3, first 10).
    for frame in range(5):
        replacer.set_evictable(frame, True)
    assert drain(replacer) == [2, 3, 4, 0, 1]


def test_lru3_access_after_full_history_moves_kth_access():
    replacer = LRUKReplacer(2, k=3)
    access_all(replacer, [0, 0, 0, 1, 1, 1, 0])
    # Frame 0 history [2,3,7] -> 3rd most recent tick 2; frame 1 [4,5,6] -> 4.
    replacer.set_evictable(0, True)
    replacer.set_evictable(1, True)
    assert drain(replacer) == [0, 1]


def test_lruk_never_evicts_non_evictable_frames():
    replacer = LRUKReplacer(4, k=2)
    access_all(replacer, [0, 1, 2, 3])
    replacer.set_evictable(0, True)
    replacer.set_evictable(2, True)
    assert replacer.size() == 2
    assert drain(replacer) == [0, 2]
    assert replacer.evict() is None


def test_lruk_pin_after_unpin_invalidates_old_heap_entry():
    replacer = LRUKReplacer(3, k=2)
    access_all(replacer, [0, 1])
    replacer.set_evictable(0, True)
    replacer.set_evictable(1, True)
    replacer.set_evictable(0, False)  # pinned again
    assert replacer.evict() == 1
    assert replacer.evict() is None
    replacer.set_evictable(0, True)
    assert replacer.evict() == 0


def test_lruk_heap_stays_bounded_under_repeated_pins():
    replacer = LRUKReplacer(4, k=2)
    for _ in range(10_000):
        replacer.record_access(1)
        replacer.set_evictable(1, False)
        replacer.set_evictable(1, True)
    assert len(replacer._heap) <= 4 * 4 + 64
    assert replacer.evict() == 1


def test_evict_forgets_history():
    replacer = LRUKReplacer(2, k=2)
    access_all(replacer, [0, 0, 1])
    replacer.set_evictable(0, True)
    replacer.set_evictable(1, True)
    assert replacer.evict() == 1
    access_all(replacer, [1])  # a new page in frame 1: one access, infinite distance
    replacer.set_evictable(1, True)
    assert replacer.evict() == 1


def test_clock_second_chance_trace():
    replacer = ClockReplacer(4)
    access_all(replacer, [0, 1, 2, 3])
    for frame in range(4):
        replacer.set_evictable(frame, True)
    # Every bit is set: the first sweep clears them all, the second takes 0.
    assert replacer.evict() == 0
    replacer.record_access(1)
    # Hand is at 1: its bit is set again, so it is skipped; 2 is clear.
    assert replacer.evict() == 2
    assert replacer.evict() == 3
    assert replacer.evict() == 1
    assert replacer.evict() is None


def test_clock_skips_pinned_frames():
    replacer = ClockReplacer(3)
    access_all(replacer, [0, 1, 2])
    replacer.set_evictable(1, True)
    assert replacer.evict() == 1
    assert replacer.evict() is None


def test_unknown_replacer_name_is_rejected():
    with pytest.raises(ValueError, match="lru-k, lru, clock"):
        make_replacer("mru", 4)


@pytest.mark.parametrize("policy", ["lru-k", "lru", "clock"])
def test_pool_with_every_frame_pinned_raises_full(tmp_path, policy):
    file = PagedFile.create(tmp_path / "f", FileKind.SCRATCH)
    pool = BufferPool(3, replacer=policy)
    file_id = pool.register_file(file)
    guards = [pool.new_page(file_id, PageType.SLOTTED) for _ in range(3)]
    for guard in guards:
        guard.__enter__()
    with pytest.raises(BufferPoolFullError, match="all 3 buffer-pool frames are pinned"):
        with pool.new_page(file_id, PageType.SLOTTED):
            pass
    for guard in guards:
        guard.__exit__(None, None, None)
    with pool.new_page(file_id, PageType.SLOTTED) as page:
        assert page.page_no == 4
    file.close()


def test_pool_lru2_keeps_hot_page_through_a_scan(tmp_path):
    file = PagedFile.create(tmp_path / "f", FileKind.SCRATCH)
    pool = BufferPool(4, replacer="lru-k")
    file_id = pool.register_file(file)
    pages = []
    for _ in range(12):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            pages.append(page.page_no)
    pool.flush_all()
    hot = pages[0]
    for _ in range(2):
        with pool.read_page(file_id, hot):
            pass
    for page_no in pages[1:]:  # a scan touching every other page once
        with pool.read_page(file_id, page_no):
            pass
    assert pool.is_resident(file_id, hot)
    file.close()


def test_pool_lru_scan_evicts_hot_page(tmp_path):
    file = PagedFile.create(tmp_path / "f", FileKind.SCRATCH)
    pool = BufferPool(4, replacer="lru")
    file_id = pool.register_file(file)
    pages = []
    for _ in range(12):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            pages.append(page.page_no)
    pool.flush_all()
    hot = pages[0]
    for _ in range(2):
        with pool.read_page(file_id, hot):
            pass
    for page_no in pages[1:]:
        with pool.read_page(file_id, page_no):
            pass
    assert not pool.is_resident(file_id, hot)
    file.close()
