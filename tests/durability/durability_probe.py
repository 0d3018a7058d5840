"""A sandboxed process that opens damaged databases, so that a hang or runaway allocation is caught.

Started by :class:`Probe` (in this module), it reads one JSON request per
line on stdin and writes one JSON result per line on stdout:

* ``{"op": "read", "db": PATH, "keys": [[table, key], ...]}`` opens the
  database (which recovers it), scans every table and looks up ``keys``;
  the result is ``{"status": "ok", "dump": ...}``;
* ``{"op": "check", "db": PATH}`` runs ``storagedb check``; the result is
  ``{"status": "ok", "exit": N, "output": ...}``.

Errors become results too: ``"status": "storagedb_error"`` for a
``storagedb.StorageDBError``, ``"status": "unexpected"`` (with the
traceback) for anything else, MemoryError included. Before the first
request the process caps its address space at what it uses after start-up
plus ``--headroom-mb``, so an allocation sized by a damaged file fails here
instead of exhausting the machine. The parent times every request out and
restarts the process after a hang or a crash.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import resource
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def read_database(path: str, keys: list) -> dict:
    import storagedb

    dump: dict = {"tables": {}, "gets": []}
    db = storagedb.connect(path, pool_size=4 << 20)
    try:
        for name in db.table_names():
            rows = [[jsonable(v) for v in row] for row in db.table(name).scan()]
            rows.sort(key=lambda row: json.dumps(row))
            dump["tables"][name] = rows
        for table, key in keys:
            row = db.table(table).get(key) if table in dump["tables"] else "no table"
            dump["gets"].append(row if not isinstance(row, dict) else {k: jsonable(v) for k, v in row.items()})
    finally:
        db.close()
    return dump


def check_database(path: str) -> tuple[int, str]:
    from storagedb import cli

    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        status = cli.main(["check", path])
    return status, output.getvalue()


def handle(request: dict) -> dict:
    import storagedb

    try:
        if request["op"] == "read":
            return {"status": "ok", "dump": read_database(request["db"], request.get("keys", []))}
        status, output = check_database(request["db"])
        return {"status": "ok", "exit": status, "output": output}
    except storagedb.StorageDBError as exc:
        return {"status": "storagedb_error", "type": type(exc).__name__, "message": str(exc)}
    except BaseException as exc:  # the finding: anything that is not storagedb's own error
        return {"status": "unexpected", "type": type(exc).__name__, "message": str(exc)[:500],
                "traceback": traceback.format_exc()[-4000:]}


def _virtual_memory_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmSize missing from /proc/self/status")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--headroom-mb", type=int, default=512)
    args = parser.parse_args()

    import numpy  # noqa: F401  (loaded before the cap, like storagedb itself)

    import storagedb  # noqa: F401
    from storagedb import cli  # noqa: F401

    # The buffer pool of each open database is allocated under the cap.
    limit = _virtual_memory_bytes() + args.headroom_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.stdout.write(json.dumps({"status": "started", "limit": limit}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        started = time.monotonic()
        result = handle(json.loads(line))
        # A closed database stays in memory until the cycle collector runs
        # (see test_closed_database_frees_pool), so one request's memory
        # could make the next one fail under the cap.
        gc.collect()
        result["seconds"] = round(time.monotonic() - started, 3)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


class Probe:
    """The parent's handle on a probe process; restarts it after a hang or crash."""

    def __init__(self, headroom_mb: int = 512, timeout: float = 30.0) -> None:
        self.headroom_mb = headroom_mb
        self.timeout = timeout
        self.process: subprocess.Popen | None = None

    def _start(self) -> None:
        environment = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "durability_probe.py"), "--headroom-mb", str(self.headroom_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
            text=True,
        )
        started = self.process.stdout.readline()
        if not started:
            raise RuntimeError("the probe process exited during start-up")

    def request(self, request: dict) -> dict:
        """Send one request; ``{"status": "hang"}`` or ``{"status": "crash"}`` if the process does not reply."""
        import selectors

        if self.process is None or self.process.poll() is not None:
            self._start()
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        ready = selector.select(self.timeout)
        selector.close()
        if not ready:
            self.close()
            return {"status": "hang", "message": f"no result within {self.timeout} s"}
        line = self.process.stdout.readline()
        if not line:
            returncode = self.process.wait()
            self.process = None
            return {"status": "crash", "message": f"the probe process died with status {returncode}"}
        return json.loads(line)

    def read(self, db_path: str, keys: list | None = None) -> dict:
        return self.request({"op": "read", "db": db_path, "keys": keys or []})

    def check(self, db_path: str) -> dict:
        return self.request({"op": "check", "db": db_path})

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None


if __name__ == "__main__":
    sys.exit(main())
