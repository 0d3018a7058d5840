import os

import pytest

from storagedb.errors import (
    CorruptPageError,
    FileFormatError,
    NotAStorageDBFileError,
    TruncatedFileError,
)
from storagedb.storage import page as page_mod
from storagedb.storage.buffer_pool import BufferPool
from storagedb.storage.page import PAGE_HEADER, PAGE_HEADER_SIZE, PageType
from storagedb.storage.paged_file import FILE_HEADER, FILE_HEADER_SIZE, FileKind, PagedFile


def test_page_header_struct_matches_documented_size():
    assert PAGE_HEADER.size == PAGE_HEADER_SIZE == 24


def test_file_header_struct_matches_documented_size():
    assert PAGE_HEADER_SIZE + FILE_HEADER.size == FILE_HEADER_SIZE == 64


def make_file(tmp_path, pages=3, page_size=4096):
    path = tmp_path / "data.sdb"
    file = PagedFile.create(path, FileKind.SCRATCH, page_size)
    pool = BufferPool(8, page_size)
    file_id = pool.register_file(file)
    numbers = []
    for index in range(pages):
        with pool.new_page(file_id, PageType.SLOTTED) as page:
            page.data[100:104] = bytes([index + 1]) * 4
            numbers.append(page.page_no)
    pool.sync_file(file_id)
    pool.unregister_file(file_id)
    file.close()
    return path, numbers


def test_create_then_open_keeps_header_fields(tmp_path):
    path, numbers = make_file(tmp_path, pages=3)
    assert numbers == [1, 2, 3]
    file = PagedFile.open(path)
    assert (file.page_size, file.page_count, file.kind) == (4096, 4, FileKind.SCRATCH)
    assert os.path.getsize(path) == 4 * 4096
    file.close()


def test_open_with_other_page_size_is_rejected(tmp_path):
    path, _ = make_file(tmp_path, pages=1)
    with pytest.raises(FileFormatError, match="page size is 4096"):
        PagedFile.open(path, page_size=8192)


def test_create_refuses_existing_file(tmp_path):
    path, _ = make_file(tmp_path, pages=1)
    with pytest.raises(FileExistsError):
        PagedFile.create(path, FileKind.SCRATCH)


def test_wrong_magic_is_not_a_storagedb_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"just some text, not pages at all" * 200)
    with pytest.raises(NotAStorageDBFileError, match="not a storagedb file"):
        PagedFile.open(path)


def test_empty_file_is_not_a_storagedb_file(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(NotAStorageDBFileError):
        PagedFile.open(path)


def test_file_cut_inside_header_is_truncated(tmp_path):
    path, _ = make_file(tmp_path, pages=1)
    with open(path, "r+b") as handle:
        handle.truncate(40)
    with pytest.raises(TruncatedFileError, match="truncated"):
        PagedFile.open(path)


def test_file_missing_its_last_page_is_truncated(tmp_path):
    path, _ = make_file(tmp_path, pages=3)
    with open(path, "r+b") as handle:
        handle.truncate(3 * 4096 + 100)
    with pytest.raises(TruncatedFileError, match="its header counts 4 pages"):
        PagedFile.open(path)


def test_unsupported_format_version_is_rejected(tmp_path):
    path, _ = make_file(tmp_path, pages=1)
    with open(path, "r+b") as handle:
        handle.seek(32)
        handle.write((2).to_bytes(2, "little"))
    with pytest.raises(FileFormatError, match="format version 2"):
        PagedFile.open(path)


def test_flipped_header_byte_fails_checksum(tmp_path):
    path, _ = make_file(tmp_path, pages=1)
    with open(path, "r+b") as handle:
        handle.seek(60)
        handle.write(b"\x01")
    with pytest.raises(CorruptPageError) as info:
        PagedFile.open(path)
    assert info.value.page_no == 0


@pytest.mark.parametrize("offset", [0, 4, 8, 16, 100, 4095])
def test_flipped_page_byte_fails_checksum(tmp_path, offset):
    path, numbers = make_file(tmp_path, pages=3)
    with open(path, "r+b") as handle:
        handle.seek(2 * 4096 + offset)
        original = handle.read(1)
        handle.seek(2 * 4096 + offset)
        handle.write(bytes([original[0] ^ 0x40]))
    file = PagedFile.open(path)
    pool = BufferPool(4)
    file_id = pool.register_file(file)
    with pool.read_page(file_id, 1) as page:
        assert page.data[100] == 1
    with pytest.raises(CorruptPageError) as info:
        with pool.read_page(file_id, 2):
            pass
    assert info.value.page_no == 2
    assert str(path) in str(info.value)
    assert "page 2" in str(info.value)
    # The failed read leaves no frame pinned and the pool usable.
    assert pool.pinned_frames() == 0
    with pool.read_page(file_id, 3) as page:
        assert page.data[100] == 3
    file.close()


def test_checksum_message_shows_stored_and_computed(tmp_path):
    path, _ = make_file(tmp_path, pages=1)
    with open(path, "r+b") as handle:
        handle.seek(4096 + 200)
        handle.write(b"\xff")
    file = PagedFile.open(path)
    frame = memoryview(bytearray(4096))
    with pytest.raises(CorruptPageError, match=r"stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}"):
        file.read_into(1, frame)
    file.close()


def test_page_written_at_wrong_offset_is_detected(tmp_path):
    path, _ = make_file(tmp_path, pages=2)
    data = path.read_bytes()
    # Copy page 1 over page 2: its checksum is valid but it names page 1.
    path.write_bytes(data[: 2 * 4096] + data[4096 : 2 * 4096])
    file = PagedFile.open(path)
    with pytest.raises(CorruptPageError, match="holds the contents of page 1"):
        file.read_into(2, memoryview(bytearray(4096)))
    file.close()


def test_read_page_out_of_range(tmp_path):
    path, _ = make_file(tmp_path, pages=2)
    file = PagedFile.open(path)
    pool = BufferPool(4)
    file_id = pool.register_file(file)
    with pytest.raises(CorruptPageError, match="out of range"):
        with pool.read_page(file_id, 3):
            pass
    with pytest.raises(CorruptPageError, match="out of range"):
        with pool.read_page(file_id, 0):
            pass
    assert os.path.getsize(path) == 3 * 4096
    file.close()


def test_all_zero_page_is_never_valid(tmp_path):
    path, _ = make_file(tmp_path, pages=1)
    with open(path, "r+b") as handle:
        handle.seek(4096)
        handle.write(bytes(4096))
    file = PagedFile.open(path)
    with pytest.raises(CorruptPageError, match="checksum mismatch"):
        file.read_into(1, memoryview(bytearray(4096)))
    file.close()


def test_unsupported_page_size_is_rejected():
    with pytest.raises(ValueError, match="power of two"):
        page_mod.validate_page_size(3000)
    with pytest.raises(ValueError):
        page_mod.validate_page_size(65536)
