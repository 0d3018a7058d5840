"""Table schemas: named, typed columns and a primary key.

A :class:`Schema` is immutable once built. Column names are case-sensitive,
unique, and may contain any characters except control characters. The
primary key columns are NOT NULL even when they are declared nullable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .errors import SchemaError
from .types import ColumnType, parse_type

__all__ = ["Column", "Schema", "parse_column_spec"]

#: Names longer than this are almost certainly a mistake (a pasted row).
MAX_NAME_LENGTH = 128
MAX_COLUMNS = 4096


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name, type and whether it may hold NULL."""

    name: str
    type: ColumnType
    nullable: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.name, "nullable": self.nullable}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Column":
        return cls(str(data["name"]), parse_type(str(data["type"])), bool(data["nullable"]))


def _validate_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise SchemaError(f"{what} name must be a non-empty string, not {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise SchemaError(f"{what} name {name[:40]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise SchemaError(f"{what} name {name!r} contains a control character")
    return name


def parse_column_spec(spec: Any) -> Column:
    """Build a Column from the forms ``create_table`` accepts.

    ``("id", "int64")``, ``("id", "int64", "not null")``, ``("id", "int64",
    "null")``, a :class:`Column`, or ``{"name": ..., "type": ...,
    "nullable": ...}``.

    Raises:
        SchemaError: for any other form, naming the bad spec.
    """
    if isinstance(spec, Column):
        return spec
    if isinstance(spec, dict):
        unknown = set(spec) - {"name", "type", "nullable"}
        if unknown or "name" not in spec or "type" not in spec:
            raise SchemaError(f"column spec {spec!r} needs exactly the keys name, type and optionally nullable")
        return Column(_validate_name(spec["name"], "column"), parse_type(spec["type"]), bool(spec.get("nullable", True)))
    if isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        name = _validate_name(spec[0], "column")
        ctype = spec[1] if isinstance(spec[1], ColumnType) else parse_type(spec[1])
        nullable = True
        if len(spec) == 3:
            constraint = " ".join(str(spec[2]).lower().split())
            if constraint == "not null":
                nullable = False
            elif constraint != "null":
                raise SchemaError(f"column {name!r}: unknown constraint {spec[2]!r}; use 'not null' or 'null'")
        return Column(name, ctype, nullable)
    raise SchemaError(f"column spec {spec!r} is not a (name, type) or (name, type, 'not null') tuple")


@dataclass(frozen=True)
class Schema:
    """The columns of a table, in order, and the names of its key columns."""

    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.columns:
            raise SchemaError("a table needs at least one column")
        if len(self.columns) > MAX_COLUMNS:
            raise SchemaError(f"a table may have at most {MAX_COLUMNS} columns, got {len(self.columns)}")
        index: dict[str, int] = {}
        for position, column in enumerate(self.columns):
            if column.name in index:
                raise SchemaError(f"column {column.name!r} is defined twice")
            index[column.name] = position
        object.__setattr__(self, "_index", index)
        seen = set()
        for name in self.primary_key:
            if name not in index:
                raise SchemaError(f"primary key column {name!r} is not a column of the table")
            if name in seen:
                raise SchemaError(f"primary key names column {name!r} twice")
            seen.add(name)
        # Key columns are NOT NULL even when they are declared nullable.
        if self.primary_key:
            fixed = tuple(
                Column(c.name, c.type, False) if c.name in seen and c.nullable else c for c in self.columns
            )
            object.__setattr__(self, "columns", fixed)

    @classmethod
    def build(cls, columns: Iterable[Any], primary_key: str | Sequence[str] | None = None) -> "Schema":
        """Build a schema from column specs (see :func:`parse_column_spec`).

        ``primary_key`` is a column name, a comma-separated list of names, or
        a sequence of names.
        """
        parsed = tuple(parse_column_spec(spec) for spec in columns)
        if primary_key is None:
            key: tuple[str, ...] = ()
        elif isinstance(primary_key, str):
            key = tuple(part.strip() for part in primary_key.split(",") if part.strip())
            if not key:
                raise SchemaError(f"primary key {primary_key!r} names no column")
        else:
            key = tuple(primary_key)
        return cls(parsed, key)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def __len__(self) -> int:
        return len(self.columns)

    def index_of(self, name: str) -> int:
        """Position of a column by name.

        Raises:
            SchemaError: no such column; the message lists the columns.
        """
        try:
            return self._index[name]
        except KeyError:
            raise SchemaError(f"unknown column {name!r}; the table has columns {', '.join(self.names)}") from None

    def column(self, name: str) -> Column:
        return self.columns[self.index_of(name)]

    def has_column(self, name: str) -> bool:
        return name in self._index

    @property
    def key_indexes(self) -> tuple[int, ...]:
        return tuple(self._index[name] for name in self.primary_key)

    def to_json(self) -> dict[str, Any]:
        return {"columns": [c.to_json() for c in self.columns], "primary_key": list(self.primary_key)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Schema":
        return cls(tuple(Column.from_json(c) for c in data["columns"]), tuple(data.get("primary_key", ())))
