"""Changing a table: logged inserts, updates, deletes, bulk loads, sealing and
compaction, and their replay during recovery (a mixin of ``Table``).

Every change follows the same steps. It validates the input first, and
nothing is touched if the input is bad. It then appends the log record,
applies the change with the record's LSN stamped on the pages it dirties,
and registers how to undo it in the transaction. The ``_replay_*`` methods
apply committed log records during recovery, without logging and without
checks.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .batch import ColumnData
from .convert import arrays_to_columns, row_to_storage, rows_to_columns
from .errors import CorruptLogError, DuplicateKeyError, InvalidValueError, SchemaError, TransactionError
from .index.delete_vector import write_delete_vector
from .index.keyhash import hash_key_columns
from .segment import SealedSegment, SegmentStats, sort_order
from .transaction import Transaction
from .wal import records as payloads
from .wal.log import RecordType

__all__ = ["TableWrites", "BULK_THRESHOLD"]

log = logging.getLogger(__name__)

#: A bulk insert of at least this many rows goes straight into new sealed
#: segments instead of through the open segment.
BULK_THRESHOLD = 4096
#: Above this many candidate keys for one segment, a key check reads the
#: segment's key columns once instead of looking each key up.
VECTOR_KEY_CHECK = 2048


class TableWrites:
    """Changes to a table; mixed into :class:`storagedb.Table`."""

    # -- single rows -----------------------------------------------------

    def insert(self, row: Mapping[str, Any] | Sequence[Any]) -> None:
        """Insert one row, given as a dict by column name or a tuple in column order.

        Example:
            >>> orders.insert({"id": 1, "customer": "ada", "total": "12.50"})  # doctest: +SKIP

        Raises:
            DuplicateKeyError: the primary key is already present.
            InvalidValueError, NotNullError, SchemaError: a bad value or
                column; nothing is changed.
        """
        values = row_to_storage(self.schema, row)
        with self._db._write() as txn:
            self._check_open()
            key = self._key_from_values(values)
            if key is not None and self._locate(key, count=False) is not None:
                raise DuplicateKeyError(f"table {self.name!r}: duplicate primary key {self._show_key(key)}")
            self._insert_logged(txn, self._codec.encode(values), key)

    def update(self, key: Any, changes: Mapping[str, Any]) -> bool:
        """Change columns of the row with primary key ``key``; False if there is none.

        Example:
            >>> orders.update(1, {"total": "13.00"})  # doctest: +SKIP
            True

        Raises:
            DuplicateKeyError: the change moves the row onto an existing key.
            InvalidValueError, NotNullError, SchemaError: a bad value.
        """
        if not isinstance(changes, Mapping):
            raise SchemaError(f"changes must be a dict of column name to value, not {type(changes).__name__}")
        with self._db._write() as txn:
            self._check_open()
            old_key = self._normalise_key(key)
            found = self._locate(old_key, count=False)
            if found is None:
                return False
            old = self._read_found(found)
            merged = {c.name: c.type.from_storage(v) for c, v in zip(self.schema.columns, old)}
            merged.update(changes)
            values = row_to_storage(self.schema, merged)
            new_key = self._key_from_values(values)
            if new_key != old_key and self._locate(new_key, count=False) is not None:
                raise DuplicateKeyError(f"table {self.name!r}: duplicate primary key {self._show_key(new_key)}")
            record = self._codec.encode(values)
            where, position = found
            if where is None:
                old_record = self._codec.encode(old)
                payload = payloads.pack_update(self.table_id, self._key_codec.encode(old_key), record)
                lsn = self._db._log(txn, RecordType.UPDATE_OPEN, payload)
                self._open.update(position, old_key, record, new_key, lsn)
                txn.on_rollback(lambda: self._open.update(self._open.find(new_key), new_key, old_record, old_key))
            else:
                self._delete_sealed_logged(txn, where, position)
                self._insert_logged(txn, record, new_key)
            return True

    def delete(self, key: Any) -> bool:
        """Delete the row with primary key ``key``; False if there is none."""
        with self._db._write() as txn:
            self._check_open()
            key_tuple = self._normalise_key(key)
            found = self._locate(key_tuple, count=False)
            if found is None:
                return False
            where, position = found
            if where is None:
                old_record = self._open.heap.read(position)
                lsn = self._db._log(
                    txn, RecordType.DELETE_OPEN, payloads.pack_row(self.table_id, self._key_codec.encode(key_tuple))
                )
                self._open.delete(position, key_tuple, lsn)
                txn.on_rollback(lambda: self._open.insert(old_record, key_tuple))
            else:
                self._delete_sealed_logged(txn, where, position)
            return True

    def _insert_logged(self, txn: Transaction, record: bytes, key: tuple | None) -> None:
        lsn = self._db._log(txn, RecordType.INSERT, payloads.pack_row(self.table_id, record))
        opened = self._open_segment()
        rid = opened.insert(record, key, lsn)
        txn.on_rollback(lambda: opened.delete(opened.find(key) if key is not None else rid, key))
        if opened.rows >= self._segment_rows:
            txn.to_seal.add(self)

    def _delete_sealed_logged(self, txn: Transaction, segment: SealedSegment, row: int) -> None:
        payload = payloads.pack_sealed_delete(self.table_id, segment.number, row)
        self._db._log(txn, RecordType.DELETE_SEALED, payload)
        segment.mark_deleted(row)
        txn.on_rollback(lambda: segment.unmark_deleted(row))

    # -- many rows -------------------------------------------------------

    def insert_many(self, rows: Iterable[Any] | Mapping[str, Any]) -> int:
        """Insert many rows at once, all or nothing; returns the row count.

        ``rows`` is an iterable of dicts or tuples, or a dict mapping column
        names to equally long arrays (numpy arrays, masked arrays or lists).
        Arrays take the batch form that ``scan_batches`` yields, so its
        batches insert unchanged. An integer array for a ``decimal(p,s)``
        column contains the values times ``10**s``, but a float array or a
        list of Decimals contains the values themselves. Large inputs are
        written straight into new sealed segments, which the log records by
        file name rather than row by row.

        Example:
            >>> orders.insert_many({"id": np.arange(3), "total": np.array([1.5, 2.0, 0.25])})  # doctest: +SKIP
            3

        Raises:
            DuplicateKeyError: a key repeats in the input or is already in
                the table.
            InvalidValueError, NotNullError, SchemaError: a bad value; the
                message names the row and column. Nothing is inserted.
        """
        if isinstance(rows, Mapping):
            columns, count = arrays_to_columns(self.schema, rows)
        else:
            converted = [row_to_storage(self.schema, row, f"row {i}") for i, row in enumerate(rows)]
            count = len(converted)
            columns = rows_to_columns(self.schema, converted)
        self.load_columns([(columns, count, None)])
        return count

    def load_columns(
        self, batches: Iterable[tuple[list[ColumnData], int, np.ndarray | None]], source: str | None = None
    ) -> int:
        """Insert storage-form column batches atomically; the bulk path under ``insert_many``.

        Each batch is ``(columns, count, line_numbers)``; line numbers (or
        None) and ``source`` only name rows in error messages. Returns the
        rows inserted. On any error no row of any batch is inserted.
        """
        with self._db._write() as txn:
            self._check_open()
            written: list[SealedSegment] = []
            held: list[tuple[list[ColumnData], int, np.ndarray | None]] = []
            held_rows = 0
            total = 0
            try:
                for columns, count, lines in batches:
                    if not count:
                        continue
                    total += count
                    held.append((columns, count, lines))
                    held_rows += count
                    if held_rows >= self._segment_rows:
                        written.extend(self._write_held(held, source, written))
                        held, held_rows = [], 0
                if held and (written or held_rows >= BULK_THRESHOLD):
                    written.extend(self._write_held(held, source, written))
                    held = []
                if held:
                    self._insert_small(txn, held, source)
                if written:
                    self._add_segments_logged(txn, written)
            except BaseException:
                for segment in written:
                    if segment not in self._segments:
                        segment.close()
                        os.unlink(segment.path)
                raise
            return total

    def _write_held(self, held, source, written) -> list[SealedSegment]:
        columns, count, lines = _join_batches(held, self.schema)
        self._check_batch_keys(columns, count, lines, source, written)
        return self._write_segments(columns, count)

    def _insert_small(self, txn: Transaction, held, source) -> None:
        """Insert a small input row by row through the open segment."""
        columns, count, lines = _join_batches(held, self.schema)
        keys = self._check_batch_keys(columns, count, lines, source, [])
        values = [column.values.tolist() for column in columns]
        for column_values, column in zip(values, columns):
            if column.nulls is not None:
                for row in np.flatnonzero(column.nulls).tolist():
                    column_values[row] = None
        encode = self._codec.encode
        for index, row in enumerate(zip(*values)):
            self._insert_logged(txn, encode(row), keys[index] if keys is not None else None)

    def _add_segments_logged(self, txn: Transaction, written: list[SealedSegment]) -> None:
        names = [segment.name for segment in written]
        self._db._log(txn, RecordType.ADD_SEGMENTS, payloads.pack_catalog(self.table_id, {"files": names}))
        for segment in written:
            self._segments.append(segment)
            self._vector_files[segment.name] = None

        def undo() -> None:
            for segment in written:
                self._segments.remove(segment)
                self._vector_files.pop(segment.name, None)
                segment.close()
                os.unlink(segment.path)

        txn.on_rollback(undo)

    def _check_batch_keys(self, columns, count, lines, source, pending: list[SealedSegment]) -> list[tuple] | None:
        """Reject NaN keys, duplicates inside the batch and keys already stored.

        Returns the batch's keys as tuples (None for a table without a key).
        """
        if not self._key_indexes:
            return None
        key_columns = [columns[i].values for i in self._key_indexes]
        for column, ctype in zip(key_columns, self._key_types):
            if ctype.is_float and count:
                bad = np.flatnonzero(np.isnan(column))
                if len(bad):
                    raise InvalidValueError(f"{_where(source, lines, int(bad[0]))}primary key is NaN")
        if count > 1:
            order = sort_order(key_columns)
            same = np.ones(count - 1, dtype=bool)
            for column in key_columns:
                ordered = column[order]
                same &= ordered[1:] == ordered[:-1]
                if not same.any():
                    break
            if same.any():
                first = int(np.flatnonzero(same)[0])
                a, b = sorted((int(order[first]), int(order[first + 1])))
                key = tuple(_item(column[b]) for column in key_columns)
                detail = _where(source, lines, b)
                earlier = f" (first seen on line {int(lines[a])})" if lines is not None else f" (also row {a})"
                raise DuplicateKeyError(f"{detail}duplicate primary key {self._show_key(key)}{earlier}")
        segments = [s for s in self._segments + pending if s.rows]
        need_tuples = self._open is not None or count < BULK_THRESHOLD
        keys = list(zip(*(c.tolist() for c in key_columns))) if need_tuples or segments else []
        if self._open is not None:
            for i, key in enumerate(keys):
                if key in self._open.keys:
                    raise DuplicateKeyError(
                        f"{_where(source, lines, i)}duplicate primary key {self._show_key(key)} (already in the table)"
                    )
        if segments:
            hashes = hash_key_columns(key_columns, self._key_kinds)
            scratch = SegmentStats()
            for segment in segments:
                candidates = segment.bloom.may_contain_many(hashes) if segment.bloom is not None else np.ones(count, bool)
                candidates &= _in_range(key_columns, segment.first_key, segment.last_key)
                picked = np.flatnonzero(candidates)
                if len(picked) > VECTOR_KEY_CHECK:
                    # Many candidates: reading the segment's keys once beats
                    # one lookup each.
                    found = picked[self._stored_keys_match(segment, [c[picked] for c in key_columns], scratch)]
                else:
                    found = [i for i in picked.tolist() if segment.find(keys[i], int(hashes[i]), scratch) is not None]
                if len(found):
                    i = int(found[0])
                    key = tuple(_item(c[i]) for c in key_columns)
                    raise DuplicateKeyError(
                        f"{_where(source, lines, i)}duplicate primary key {self._show_key(key)} (already in the table)"
                    )
            self._stats.data_pages_read += scratch.data_pages_read
        return keys

    def _stored_keys_match(self, segment: SealedSegment, keys: list[np.ndarray], stats: SegmentStats) -> np.ndarray:
        """Return a mask over ``keys`` (columns of key values), True where a live row of ``segment`` has the key."""
        parts: list[list[np.ndarray]] = [[] for _ in keys]
        for first_row, columns in segment.scan(list(self._key_indexes), None, stats):
            live = segment.live_mask(first_row, len(columns[0].values))
            for part, column in zip(parts, columns):
                part.append(column.values if live is None else column.values[live])
        stored = [np.concatenate(part) if part else np.zeros(0, dtype=k.dtype) for part, k in zip(parts, keys)]
        count = len(keys[0])
        joined = [np.concatenate([mine, theirs]) for mine, theirs in zip(keys, stored)]
        order = sort_order(joined)
        same = np.ones(len(order) - 1, dtype=bool) if len(order) > 1 else np.zeros(0, dtype=bool)
        for column in joined:
            ordered = column[order]
            same &= ordered[1:] == ordered[:-1]
        # A batch key matches when it sits next to an equal stored key.
        # Batch keys are unique and so are live stored keys, so equal keys
        # come in pairs of one of each.
        from_batch = order < count
        pairs = np.flatnonzero(same & (from_batch[1:] != from_batch[:-1]))
        ends = np.concatenate([order[pairs], order[pairs + 1]])
        match = np.zeros(count, dtype=bool)
        match[ends[ends < count]] = True
        return match

    # -- segments --------------------------------------------------------

    def _write_segments(self, columns: list[ColumnData], count: int) -> list[SealedSegment]:
        """Write rows as new sealed segment files of at most ``segment_rows`` rows each."""
        if self._key_indexes and count > self._segment_rows:
            order = sort_order([columns[i].values for i in self._key_indexes])
            columns = [ColumnData(c.values[order], None if c.nulls is None else c.nulls[order]) for c in columns]
        written = []
        try:
            for start in range(0, count, self._segment_rows):
                stop = min(start + self._segment_rows, count)
                piece = [
                    ColumnData(c.values[start:stop], None if c.nulls is None else c.nulls[start:stop]) for c in columns
                ]
                name = f"seg-{self._db._new_file_id():06d}.sdb"
                written.append(
                    SealedSegment.write(
                        os.path.join(self.directory, name),
                        self._db._pool,
                        self.schema,
                        self.layout,
                        piece,
                        stop - start,
                        options=self._layout_options,
                        bloom_bits_per_key=self._bloom_bits,
                        chunk_cache=self._db._chunk_cache,
                    )
                )
        except BaseException:
            for segment in written:
                segment.close()
                os.unlink(segment.path)
            raise
        return written

    def seal(self) -> None:
        """Write the open segment's rows as a new sealed segment (nothing if it is empty).

        Sealing happens on its own when the open segment reaches
        ``segment_rows`` and at every checkpoint.

        Raises:
            TransactionError: called inside ``db.transaction()``.
        """
        with self._db._write() as txn:
            self._check_open()
            if txn.explicit:
                raise TransactionError("seal() cannot run inside a transaction; the open segment is sealed after commit")
            opened = self._open
            if opened is None:
                return
            if not opened.rows:
                opened.close()
                self._open = None
                return
            columns, count = opened.all_columns()
            written = self._write_segments(columns, count)
            try:
                names = [segment.name for segment in written]
                self._db._log(txn, RecordType.SEAL, payloads.pack_catalog(self.table_id, {"files": names}))
            except BaseException:
                for segment in written:
                    segment.close()
                    os.unlink(segment.path)
                raise
            self._install_sealed(written)
            log.info("table %s: sealed %d rows into %s", self.name, count, ", ".join(names))

    def _install_sealed(self, written: list[SealedSegment]) -> None:
        for segment in written:
            self._segments.append(segment)
            self._vector_files[segment.name] = None
        if self._open is not None:
            self._open.close()
            self._open = None

    def compact(self) -> dict[str, int]:
        """Merge every segment into as few sealed segments as possible.

        Deleted and superseded rows are dropped and a keyed table's rows are
        sorted across the whole table, so the new segments have disjoint key
        ranges. The log records the switch only after the new files are
        synced; the old files are removed after the next checkpoint.

        NOTE: compaction keeps every live row of the table in memory at once.

        Returns ``{"rows": live rows, "segments_before": n, "segments_after": m}``.

        Raises:
            TransactionError: called inside ``db.transaction()``.
        """
        if self._db._txn is not None and self._db._txn.explicit:
            raise TransactionError("compact() cannot run inside a transaction")
        self.seal()
        with self._db._write() as txn:
            self._check_open()
            before = len(self._segments)
            if before <= 1 and not any(s.deleted_count for s in self._segments):
                return {"rows": self.row_count(), "segments_before": before, "segments_after": before}
            wanted = list(range(len(self.schema.columns)))
            parts: list[list[ColumnData]] = []
            for segment in self._segments:
                for first_row, columns in segment.scan(wanted, None, self._stats):
                    mask = segment.live_mask(first_row, len(columns[0]))
                    if mask is not None:
                        picked = np.flatnonzero(mask)
                        columns = [
                            ColumnData(c.values[picked], None if c.nulls is None else c.nulls[picked]) for c in columns
                        ]
                    parts.append(columns)
            merged, count, _lines = _join_batches([(p, len(p[0].values), None) for p in parts], self.schema)
            if self._key_indexes and count > 1:
                order = sort_order([merged[i].values for i in self._key_indexes])
                merged = [ColumnData(c.values[order], None if c.nulls is None else c.nulls[order]) for c in merged]
            written = self._write_segments(merged, count) if count else []
            old_names = [segment.name for segment in self._segments]
            try:
                payload = payloads.pack_catalog(
                    self.table_id, {"old": old_names, "new": [segment.name for segment in written]}
                )
                self._db._log(txn, RecordType.REPLACE_SEGMENTS, payload)
            except BaseException:
                for segment in written:
                    segment.close()
                    os.unlink(segment.path)
                raise
            self._replace_segments(written)
            log.info("table %s: compacted %d segments into %d (%d rows)", self.name, before, len(written), count)
            return {"rows": count, "segments_before": before, "segments_after": len(written)}

    def _replace_segments(self, written: list[SealedSegment]) -> None:
        old = [(segment, self._segment_files(segment)) for segment in self._segments]
        self._segments = list(written)
        self._vector_files = {segment.name: None for segment in written}
        for segment, files in old:
            self._retire(segment, files)

    # -- checkpoint ------------------------------------------------------

    def _checkpoint_files(self) -> None:
        """Seal the open segment and write changed delete vectors, without logging.

        The checkpoint's catalog commit makes both durable; if it never
        happens, the new files are unreferenced and removed at the next open.
        """
        opened = self._open
        if opened is not None:
            if opened.rows:
                columns, count = opened.all_columns()
                self._install_sealed(self._write_segments(columns, count))
            else:
                opened.close()
                self._open = None
        for segment in self._segments:
            if segment.delete_vector_dirty:
                name = f"del-{self._db._new_file_id():06d}.sdb"
                write_delete_vector(os.path.join(self.directory, name), self._db._pool, segment.deleted)
                old = self._vector_files.get(segment.name)
                self._vector_files[segment.name] = name
                segment.delete_vector_dirty = False
                if old:
                    self._db._remove_after_checkpoint(os.path.join(self.directory, old))

    # -- replay ----------------------------------------------------------

    def _replay(self, record_type: int, payload: bytes, lsn: int) -> None:
        """Apply one committed log record during recovery."""
        if record_type == RecordType.INSERT:
            _, record = payloads.unpack_row(payload)
            values = self._codec.decode(record)
            self._open_segment().insert(record, self._key_from_values(values), lsn)
        elif record_type == RecordType.DELETE_OPEN:
            _, key_record = payloads.unpack_row(payload)
            key = self._replay_key(key_record, lsn)
            self._open.delete(self._open.find(key), key, lsn)
        elif record_type == RecordType.UPDATE_OPEN:
            _, key_record, record = payloads.unpack_update(payload)
            key = self._replay_key(key_record, lsn)
            new_key = self._key_from_values(self._codec.decode(record))
            self._open.update(self._open.find(key), key, record, new_key, lsn)
        elif record_type == RecordType.DELETE_SEALED:
            _, number, row = payloads.unpack_sealed_delete(payload)
            segment = next((s for s in self._segments if s.number == number), None)
            if segment is None or row >= segment.rows:
                raise CorruptLogError(
                    f"log record at LSN {lsn} deletes row {row} of segment {number}, which table {self.name!r} lacks"
                )
            segment.mark_deleted(row)
        elif record_type in (RecordType.ADD_SEGMENTS, RecordType.SEAL, RecordType.REPLACE_SEGMENTS):
            _, data = payloads.unpack_catalog(payload)
            files = data.get("files") if record_type != RecordType.REPLACE_SEGMENTS else data.get("new")
            opened = [self._open_segment_file(name, lsn) for name in self._checked_names(files, lsn)]
            if record_type == RecordType.ADD_SEGMENTS:
                for segment in opened:
                    self._segments.append(segment)
                    self._vector_files[segment.name] = None
            elif record_type == RecordType.SEAL:
                self._install_sealed(opened)
            else:
                for segment, files in [(s, self._segment_files(s)) for s in self._segments]:
                    segment.close()
                    for path in files:
                        self._db._remove_after_checkpoint(path)
                self._segments = opened
                self._vector_files = {segment.name: None for segment in opened}
        else:
            raise CorruptLogError(f"log record at LSN {lsn} has type {record_type}, which a table cannot apply")

    def _replay_key(self, key_record: bytes, lsn: int) -> tuple:
        key = self._key_codec.decode(key_record)
        if self._open is None or self._open.find(key) is None:
            raise CorruptLogError(f"log record at LSN {lsn} changes key {key!r} of table {self.name!r}, which it lacks")
        return key

    def _checked_names(self, files: Any, lsn: int) -> list[str]:
        from .catalog import valid_file_name

        if not isinstance(files, list) or not all(valid_file_name(name) for name in files):
            raise CorruptLogError(f"log record at LSN {lsn} names invalid segment files {files!r}")
        return files

    def _open_segment_file(self, name: str, lsn: int) -> SealedSegment:
        path = os.path.join(self.directory, name)
        if not os.path.exists(path):
            raise CorruptLogError(f"log record at LSN {lsn} names segment {path}, which does not exist")
        return SealedSegment.open(path, self._db._pool, self.schema, self._db._chunk_cache)


def _join_batches(batches, schema) -> tuple[list[ColumnData], int, np.ndarray | None]:
    """Concatenate batches of the same columns (and their line numbers)."""
    if len(batches) == 1:
        return batches[0]
    if not batches:
        return [ColumnData(np.zeros(0, c.type.storage_dtype)) for c in schema.columns], 0, None
    out = []
    for index in range(len(schema.columns)):
        parts = [batch[0][index] for batch in batches]
        values = np.concatenate([part.values for part in parts])
        if any(part.nulls is not None for part in parts):
            nulls = np.concatenate(
                [part.nulls if part.nulls is not None else np.zeros(len(part.values), bool) for part in parts]
            )
        else:
            nulls = None
        out.append(ColumnData(values, nulls))
    lines = None
    if all(batch[2] is not None for batch in batches):
        lines = np.concatenate([batch[2] for batch in batches])
    return out, sum(batch[1] for batch in batches), lines


def _in_range(key_columns: list[np.ndarray], low: tuple, high: tuple) -> np.ndarray:
    """Rows whose key lies in ``[low, high]``, compared column by column."""
    count = len(key_columns[0])
    above_low = np.zeros(count, dtype=bool)
    below_high = np.zeros(count, dtype=bool)
    tied_low = np.ones(count, dtype=bool)
    tied_high = np.ones(count, dtype=bool)
    for column, low_part, high_part in zip(key_columns, low, high):
        above_low |= tied_low & (column > low_part)
        tied_low &= column == low_part
        below_high |= tied_high & (column < high_part)
        tied_high &= column == high_part
    return (above_low | tied_low) & (below_high | tied_high)


def _where(source: str | None, lines: np.ndarray | None, row: int) -> str:
    if lines is not None:
        return f"{source or 'input'}:{int(lines[row])}: "
    return f"row {row}: "


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
