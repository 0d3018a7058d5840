"""storagedb: an embedded, disk-backed relational storage engine.

Example:
    >>> import storagedb
    >>> with storagedb.connect("shop.db") as db:  # doctest: +SKIP
    ...     orders = db.create_table(
    ...         "orders",
    ...         [("id", "int64", "not null"), ("customer", "text"), ("total", "decimal(12,2)")],
    ...         primary_key="id", layout="pax")
    ...     orders.insert({"id": 1, "customer": "ada", "total": "12.50"})
    ...     orders.get(1)
"""

from __future__ import annotations

from .database import Database, connect
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _error_names
from .table import Table

__version__ = "0.1.0"

__all__ = ["__version__", "connect", "Database", "Table", "col", *_error_names]


def __getattr__(name: str):
    # The predicate module is imported on first use of storagedb.col.
    if name == "col":
        from .predicate import col

        return col
    raise AttributeError(f"module 'storagedb' has no attribute {name!r}")
