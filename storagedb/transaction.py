"""Transactions: atomic groups of changes, logged and undone as a unit.

A transaction collects the log records of its changes; its COMMIT record
makes them count. Changes are applied to the in-memory and on-page state as
they happen, and each one registers an *undo action*; rolling back runs
them newest first. Crash recovery never needs them: it replays only
committed transactions onto the last checkpoint, whose files hold no
uncommitted change (checkpoints run only between transactions, and sealing
an open segment waits for the transaction that filled it to end).

Outside ``with db.transaction():`` every call is a transaction of its own.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable

from .errors import TransactionError

if TYPE_CHECKING:
    from .database import Database
    from .table import Table

__all__ = ["Transaction", "TransactionBlock", "WriteScope"]

log = logging.getLogger(__name__)


class Transaction:
    """One open transaction of a database."""

    __slots__ = ("id", "explicit", "thread", "undo", "records", "to_seal", "failed", "force_sync")

    def __init__(self, txn_id: int, explicit: bool) -> None:
        self.id = txn_id
        self.explicit = explicit
        self.thread = threading.get_ident()
        self.undo: list[Callable[[], None]] = []
        #: Log records appended so far; a transaction with none commits nothing.
        self.records = 0
        #: Tables whose open segment outgrew its size; sealed after commit.
        self.to_seal: set["Table"] = set()
        #: Set when a change failed half-way; the transaction can only roll back.
        self.failed: str | None = None
        #: Sync the log at commit whatever the database's synchronous mode.
        self.force_sync = False

    def on_rollback(self, action: Callable[[], None]) -> None:
        """Register how to undo the change just applied."""
        self.undo.append(action)


class WriteScope:
    """Context manager every changing table or catalog operation runs in.

    It takes the database lock and joins the calling thread's explicit
    transaction, or starts one for this call alone and commits it on exit.
    The commit's wait for durability happens after the lock is released, so
    committers on other threads share one fsync (group commit).
    """

    __slots__ = ("db", "txn", "auto", "records_before")

    def __init__(self, db: "Database") -> None:
        self.db = db

    def __enter__(self) -> Transaction:
        db = self.db
        db._lock.acquire()
        try:
            db._check_writable()
            txn = db._txn
            if txn is not None and txn.thread == threading.get_ident():
                if txn.failed:
                    raise TransactionError(
                        f"the transaction failed earlier ({txn.failed}); leave the 'with' block to roll it back"
                    )
                self.auto = False
            else:
                txn = db._begin(explicit=False)
                self.auto = True
            self.txn = txn
            self.records_before = txn.records
        except BaseException:
            db._lock.release()
            raise
        return txn

    def __exit__(self, exc_type, exc, traceback) -> None:
        db = self.db
        txn = self.txn
        commit_lsn = None
        try:
            if exc_type is not None:
                if self.auto:
                    db._rollback(txn)
                elif txn.records != self.records_before:
                    # Part of this call may be applied; only a rollback is safe now.
                    txn.failed = f"{exc_type.__name__}: {exc}"
                return
            if self.auto:
                commit_lsn = db._commit(txn)
        finally:
            db._lock.release()
        if commit_lsn is not None:
            db._wait_durable(commit_lsn)
        if self.auto:
            db._after_commit(txn)


class TransactionBlock:
    """``with db.transaction():``: one atomic commit for every change inside.

    An exception leaving the block rolls every change back and propagates.
    The block holds the database lock, so other threads wait until it ends.
    """

    def __init__(self, db: "Database") -> None:
        self.db = db
        self.txn: Transaction | None = None

    def __enter__(self) -> "TransactionBlock":
        db = self.db
        db._lock.acquire()
        try:
            db._check_writable()
            if db._txn is not None:
                raise TransactionError("a transaction is already open; transactions do not nest")
            self.txn = db._begin(explicit=True)
        except BaseException:
            db._lock.release()
            raise
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        db = self.db
        txn = self.txn
        commit_lsn = None
        try:
            if exc_type is not None or txn.failed:
                db._rollback(txn)
                if exc_type is None:
                    raise TransactionError(f"the transaction was rolled back: a change failed ({txn.failed})")
                return
            commit_lsn = db._commit(txn)
        finally:
            db._lock.release()
        if commit_lsn is not None:
            db._wait_durable(commit_lsn)
        db._after_commit(txn)
