"""The operating-system calls every storagedb file write goes through.

Paged files, the write-ahead log and the catalog write, sync and rename
through these functions. Tests can therefore make the operating system fail
at chosen points with :class:`FaultInjector`: an fsync that reports an I/O
error, a short write, or a full disk. Nothing else is faked: the calls that
are not failed reach the real file system.

Reads are not routed here: a failed read surfaces as the read's own error.
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass, field

__all__ = ["pwrite", "write_all", "fsync", "fdatasync", "replace", "FaultInjector", "Fault"]


@dataclass
class Fault:
    """One planned failure: the ``after``-th matching call (0 = the next) fails.

    ``operation`` is ``"write"``, ``"fsync"`` or ``"replace"``; ``kind`` is
    ``"error"`` (EIO), ``"full"`` (ENOSPC) or ``"short"`` (a write that
    stores only half its bytes, then reports so). ``path_contains`` limits
    the fault to files whose path contains that text.
    """

    operation: str
    kind: str = "error"
    after: int = 0
    path_contains: str = ""
    fired: bool = field(default=False, init=False)


class FaultInjector:
    """Make chosen file operations fail while the ``with`` block runs.

    Example:
        >>> with FaultInjector(Fault("fsync", path_contains="wal")):  # doctest: +SKIP
        ...     table.insert(row)                  # raises StorageIOError
    """

    _active: "FaultInjector | None" = None
    _lock = threading.Lock()

    def __init__(self, *faults: Fault) -> None:
        self.faults = list(faults)
        self._counts: dict[int, int] = {}

    def __enter__(self) -> "FaultInjector":
        with FaultInjector._lock:
            if FaultInjector._active is not None:
                raise RuntimeError("fault injectors cannot be nested")
            FaultInjector._active = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        with FaultInjector._lock:
            FaultInjector._active = None

    def check(self, operation: str, path: str) -> Fault | None:
        for index, fault in enumerate(self.faults):
            if fault.fired or fault.operation != operation or fault.path_contains not in path:
                continue
            seen = self._counts.get(index, 0)
            self._counts[index] = seen + 1
            if seen == fault.after:
                fault.fired = True
                return fault
        return None

    @property
    def fired(self) -> int:
        return sum(1 for fault in self.faults if fault.fired)


def _planned(operation: str, path: str) -> Fault | None:
    injector = FaultInjector._active
    return injector.check(operation, path) if injector is not None else None


def _raise(kind: str, path: str) -> None:
    code = errno.ENOSPC if kind == "full" else errno.EIO
    raise OSError(code, os.strerror(code), path)


def pwrite(fd: int, data: memoryview | bytes, offset: int, path: str = "") -> int:
    """``os.pwrite``, or a planned failure. Returns the bytes written."""
    fault = _planned("write", path)
    if fault is not None:
        if fault.kind == "short":
            half = len(data) // 2
            return os.pwrite(fd, memoryview(data)[:half], offset)
        _raise(fault.kind, path)
    return os.pwrite(fd, data, offset)


def write_all(fd: int, data: bytes, path: str = "") -> None:
    """Write all of ``data`` at the current position (or fail as planned)."""
    fault = _planned("write", path)
    view = memoryview(data)
    if fault is not None:
        if fault.kind == "short":
            os.write(fd, view[: len(view) // 2])
            raise OSError(errno.ENOSPC, "short write: " + os.strerror(errno.ENOSPC), path)
        _raise(fault.kind, path)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync(fd: int, path: str = "") -> None:
    fault = _planned("fsync", path)
    if fault is not None:
        _raise(fault.kind, path)
    os.fsync(fd)


def fdatasync(fd: int, path: str = "") -> None:
    fault = _planned("fsync", path)
    if fault is not None:
        _raise(fault.kind, path)
    os.fdatasync(fd)


def replace(source: str, target: str) -> None:
    fault = _planned("replace", target)
    if fault is not None:
        _raise(fault.kind, target)
    os.replace(source, target)
