"""Reading a table: point lookups, scans and aggregates (a mixin of ``Table``)."""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .batch import ColumnData, plain
from .convert import to_batch_array, to_python_list
from .errors import PredicateError, SchemaError
from .index.keyhash import hash_key
from .segment import SealedSegment

__all__ = ["TableReads"]


class TableReads:
    """Lookups, scans and aggregates; mixed into :class:`storagedb.Table`."""

    # -- point reads -----------------------------------------------------

    def get(self, key: Any) -> dict[str, Any] | None:
        """Return the row with primary key ``key`` as a dict, or None if there is none.

        A composite key is a tuple in key-column order.

        Example:
            >>> orders.get(1)  # doctest: +SKIP
            {'id': 1, 'customer': 'ada', 'total': Decimal('12.50')}

        Raises:
            UnsupportedError: the table has no primary key.
            InvalidValueError: the key does not fit the key columns' types.
        """
        with self._db._lock:
            self._check_open()
            key_tuple = self._normalise_key(key)
            values = self._fetch(key_tuple)
        if values is None:
            return None
        row = dict(zip(self._column_names, values))
        for index, name, convert in self._converted_columns:
            value = values[index]
            if value is not None:
                row[name] = convert(value)
        return row

    def _fetch(self, key: tuple) -> tuple | None:
        """Return the storage-form values of the live row with ``key``, or None, and count a lookup."""
        stats = self._stats
        stats.lookups += 1
        if self._open is not None:
            rid = self._open.find(key)
            if rid is not None:
                return self._open.read(rid)
        if not self._segments:
            return None
        key_hash = hash_key(key, self._key_kinds)
        for segment in reversed(self._segments):
            found = segment.lookup(key, key_hash, stats)
            if found is not None:
                return found[1]
        return None

    def _locate(self, key: tuple, count: bool) -> tuple[SealedSegment | None, int] | None:
        """Find the live row with ``key`` and return (None, record id), (segment, row id) or None."""
        stats = self._stats
        if count:
            stats.lookups += 1
        if self._open is not None:
            rid = self._open.find(key)
            if rid is not None:
                return None, rid
        if not self._segments:
            return None
        key_hash = hash_key(key, self._key_kinds)
        for segment in reversed(self._segments):
            row = segment.find(key, key_hash, stats)
            if row is not None:
                return segment, row
        return None

    def _read_found(self, found: tuple[SealedSegment | None, int]) -> tuple:
        where, position = found
        if where is None:
            return self._open.read(position)
        return where.read_row(position, self._stats)

    # -- scans -----------------------------------------------------------

    def scan(self, columns: Sequence[str] | None = None, where: Any = None) -> Iterator[tuple]:
        """Yield matching rows as tuples of Python values, in ``columns`` order.

        Rows come segment by segment (oldest first, then the open segment),
        sorted by primary key within each sealed segment; there is no
        global order.

        Example:
            >>> for row in orders.scan(columns=["id", "total"], where=storagedb.col("total") > 10):  # doctest: +SKIP
            ...     print(row)

        Raises:
            SchemaError: an unknown column.
            PredicateError: a malformed ``where``.
        """
        wanted = self._wanted(columns)
        schema_columns = [self.schema.columns[i] for i in wanted]
        for batch in self._scan_storage(wanted, where):
            lists = [to_python_list(column, data) for column, data in zip(schema_columns, batch)]
            yield from zip(*lists)

    def scan_batches(self, columns: Sequence[str] | None = None, where: Any = None) -> Iterator[dict[str, np.ndarray]]:
        """Yield matching rows as dicts of numpy arrays, one entry per column.

        Dates come as ``datetime64[D]``, timestamps as ``datetime64[us]``,
        decimals as int64 counts of ``10**-scale`` (exact), text and blobs as
        object arrays. Nullable columns come as ``np.ma.MaskedArray``.

        Example:
            >>> for batch in lineitem.scan_batches(["l_quantity"]):  # doctest: +SKIP
            ...     total += batch["l_quantity"].sum()
        """
        wanted = self._wanted(columns)
        schema_columns = [self.schema.columns[i] for i in wanted]
        for batch in self._scan_storage(wanted, where):
            yield {c.name: to_batch_array(c, data) for c, data in zip(schema_columns, batch)}

    def _wanted(self, columns: Sequence[str] | None) -> list[int]:
        if columns is None:
            return list(range(len(self.schema.columns)))
        if isinstance(columns, str):
            columns = [part.strip() for part in columns.split(",")]
        return [self.schema.index_of(name) for name in columns]

    def _bind(self, where: Any):
        if where is None:
            return None
        from .predicate import Predicate

        if not isinstance(where, Predicate):
            raise PredicateError(
                f"where= takes an expression built with storagedb.col(...), not {type(where).__name__}"
            )
        return where.bind(self.schema)

    def _scan_storage(self, wanted: list[int], where: Any, keep_encoded: bool = False) -> Iterator[list[Any]]:
        """Yield lists of storage-form columns ``wanted`` for matching live rows.

        With ``keep_encoded``, a batch that needs no row selection keeps its
        dictionary and run-length columns unexpanded (for aggregates).
        """
        bound = self._bind(where)
        needed = list(wanted)
        if bound is not None:
            for name in sorted(bound.columns):
                index = self.schema.index_of(name)
                if index not in needed:
                    needed.append(index)
        positions = [needed.index(i) for i in wanted]
        with self._db._lock:
            self._check_open()
            segments = list(self._segments)
            self._active_scans += 1
        try:
            yield from self._scan_segments(segments, bound, needed, positions, keep_encoded)
        finally:
            with self._db._lock:
                self._active_scans -= 1
                if not self._closed:
                    self._release_retired()

    def _scan_segments(self, segments, bound, needed, positions, keep_encoded) -> Iterator[list[Any]]:
        zone_filter = self._zone_filter(bound) if bound is not None else None
        for segment in segments:
            if bound is not None:
                wanted = [needed[p] for p in positions]
                yield from self._scan_lazy(segment, zone_filter, bound, wanted, keep_encoded)
                continue
            iterator = segment.scan(needed, zone_filter, self._stats, raw=bound is not None or keep_encoded)
            while True:
                with self._db._lock:
                    self._check_open()
                    item = next(iterator, None)
                if item is None:
                    break
                first_row, columns = item
                count = len(columns[0]) if columns else 0
                mask = segment.live_mask(first_row, count)
                selected = self._select(columns, count, mask, bound, needed, positions, keep_encoded)
                if selected is not None:
                    yield selected
        if bound is not None:
            yield from self._scan_open_where(bound, [needed[p] for p in positions])
            return
        with self._db._lock:
            self._check_open()
            open_batches = list(self._open.scan(needed)) if self._open is not None else []
        for columns, rids in open_batches:
            selected = self._select(columns, len(rids), None, None, needed, positions)
            if selected is not None:
                yield selected

    def _scan_open_where(self, bound, wanted: list[int]) -> Iterator[list[Any]]:
        """Filter the open segment on the predicate's columns, then decode ``wanted`` at the matches."""
        names = sorted(bound.columns)
        tested = [self.schema.index_of(name) for name in names]

        def keep(columns: list[ColumnData], count: int) -> np.ndarray:
            return bound.evaluate(dict(zip(names, columns)), count)

        with self._db._lock:
            self._check_open()
            batches = list(self._open.scan_where(tested, keep, wanted)) if self._open is not None else []
        for columns, _rids in batches:
            yield [plain(column) for column in columns]

    def _scan_lazy(self, segment, zone_filter, bound, wanted, keep_encoded) -> Iterator[list[Any]]:
        """Filter a segment one conjunct at a time (late materialisation).

        Each AND-ed part of the predicate reads its columns only at the rows
        the earlier parts kept, and the output columns are read only at the
        rows that match in the end.
        """
        conjuncts = [(part, [(name, self.schema.index_of(name)) for name in sorted(part.columns)]) for part in bound.parts]
        iterator = segment.scan_groups(zone_filter, self._stats)
        while True:
            with self._db._lock:
                self._check_open()
                group = next(iterator, None)
                if group is None:
                    break
                try:
                    selected = self._filter_group(group, conjuncts, segment.live_mask(group.first_row, group.count))
                    if selected is None:
                        out = None
                    elif len(selected) == group.count:
                        out = [group.column(index, raw=keep_encoded) for index in wanted]
                    else:
                        out = [group.take(index, selected, raw=keep_encoded) for index in wanted]
                finally:
                    group.close()
                self._stats.pages_read += group.pages
            if out is not None:
                yield out if keep_encoded else [plain(column) for column in out]

    @staticmethod
    def _filter_group(group, conjuncts, live) -> np.ndarray | None:
        """Row positions of a group that pass every conjunct and are live; None if none do."""
        selected = None
        for part, columns in conjuncts:
            if selected is None:
                named = {name: group.column(index, raw=True) for name, index in columns}
                selected = np.flatnonzero(part.evaluate(named, group.count))
            else:
                named = {name: group.take(index, selected, raw=True) for name, index in columns}
                selected = selected[part.evaluate(named, len(selected))]
            if not len(selected):
                return None
        if live is not None:
            selected = selected[live[selected]]
        return selected if len(selected) else None

    def _select(self, columns, count, mask, bound, needed, positions, keep_encoded=False) -> list[Any] | None:
        if bound is not None:
            named = {self.schema.columns[i].name: c for i, c in zip(needed, columns)}
            matches = bound.evaluate(named, count)
            mask = matches if mask is None else (mask & matches)
        if mask is None and keep_encoded:
            return [columns[p] for p in positions] if count else None
        out = [plain(columns[p]) for p in positions]
        if mask is None:
            return out if count else None
        if not mask.any():
            return None
        if mask.all():
            return out
        picked = np.flatnonzero(mask)
        return [ColumnData(c.values[picked], None if c.nulls is None else c.nulls[picked]) for c in out]

    def _zone_filter(self, bound):
        """A function from a segment to the bool array of zones a scan must read.

        Plain comparisons are checked against whole zone-map arrays first;
        only the zones they leave are asked ``may_match`` one by one.
        """
        from .predicate import ZoneStats

        indexes = [(name, self.schema.index_of(name)) for name in bound.columns]
        tests = [(self.schema.index_of(name), op, value) for name, op, value in bound.range_tests()]

        def zones_to_read(segment: SealedSegment) -> np.ndarray:
            keep = np.ones(segment.zone_count(), dtype=bool)
            for index, op, value in tests:
                zone_map = segment.zone_maps[index]
                with np.errstate(invalid="ignore"):
                    if op == "<":
                        possible = zone_map.minimum < value
                    elif op == "<=":
                        possible = zone_map.minimum <= value
                    elif op == ">":
                        possible = zone_map.maximum > value
                    elif op == ">=":
                        possible = zone_map.maximum >= value
                    else:
                        possible = (zone_map.minimum <= value) & (zone_map.maximum >= value)
                keep &= zone_map.has_value & np.asarray(possible, dtype=bool)
            for zone in np.flatnonzero(keep).tolist():
                zones = {name: ZoneStats(*segment.zone_stats(index, zone)) for name, index in indexes}
                keep[zone] = bound.may_match(zones)
            return keep

        return zones_to_read

    # -- aggregates ------------------------------------------------------

    def aggregate(
        self,
        group_by: Sequence[str] = (),
        aggregates: Mapping[str, tuple[str, str]] | None = None,
        where: Any = None,
    ):
        """Group matching rows and compute aggregates, vectorised.

        ``aggregates`` maps an output name to ``(function, argument)`` with
        function one of ``count``, ``sum``, ``min``, ``max``, ``avg`` and
        argument a column name, ``"*"`` (``("count", "*")`` counts rows) or
        an arithmetic expression such as ``col("price") * (1 - col("discount"))``
        (see ``expression.py`` for its exact typing). Decimal sums and
        averages are exact.
        Returns an ``AggregateResult`` with ``names``, ``rows`` (one tuple
        per group, sorted by group key) and ``columns()``.

        Example:
            >>> result = lineitem.aggregate(group_by=["l_returnflag"],
            ...     aggregates={"qty": ("sum", "l_quantity"), "n": ("count", "*")})  # doctest: +SKIP
            >>> result.rows  # doctest: +SKIP
            [('A', 3774200, 147790), ...]

        Raises:
            SchemaError, PredicateError: unknown columns or functions, or a
                function that does not apply to a column's type.
        """
        from .aggregate import AggregateSpec
        from .expression import Expression
        from .predicate import ColumnRef
        from .schema import Column, Schema

        if isinstance(group_by, str):
            group_by = [part.strip() for part in group_by.split(",") if part.strip()]
        # Expressions become extra columns, computed per batch from real ones.
        derived: dict[str, Any] = {}
        calls: dict[str, tuple[str, str]] = {}
        for output, spec_item in dict(aggregates or {}).items():
            if not isinstance(spec_item, (tuple, list)) or len(spec_item) != 2:
                raise SchemaError(f"aggregate {output!r} must be (function, column or expression), not {spec_item!r}")
            function, argument = spec_item
            if isinstance(argument, ColumnRef):
                argument = argument.name
            if isinstance(argument, Expression):
                bound = argument.bind(self.schema)
                name = f"\x00expression {len(derived)}"
                derived[name] = bound
                argument = name
            calls[output] = (function, argument)
        schema = self.schema
        if derived:
            extra = tuple(Column(name, bound.type, True) for name, bound in derived.items())
            schema = Schema(self.schema.columns + extra, self.schema.primary_key)
        spec = AggregateSpec.build(schema, group_by=list(group_by), aggregates=calls)
        real = [name for name in spec.input_columns if name not in derived]
        for bound in derived.values():
            real.extend(name for name in sorted(bound.columns) if name not in real)
        wanted = [self.schema.index_of(name) for name in real] or [0]
        accumulator = spec.accumulator()
        for batch in self._scan_storage(wanted, where, keep_encoded=True):
            length = len(batch[0])
            named = {name: column for name, column in zip(real, batch)}
            for name, bound in derived.items():
                named[name] = bound.evaluate(named, length)
            accumulator.add({name: named[name] for name in spec.input_columns}, length)
        return accumulator.result()

