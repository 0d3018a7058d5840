"""The parent side of the crash tests: start a worker, SIGKILL it, check what survived.

One iteration of :func:`run_crash_loop`:

1. start ``durability_worker.py`` on the database, which recovers it;
2. read its events until the planned moment, then SIGKILL it. The moment
   is a random time after start (often during recovery), a random time
   after it reported ready, or a random delay after it began an operation
   of a chosen kind (a bulk load, a compaction);
3. work out the states the database may now show: the state after the last
   acknowledged change, and that state with the unacknowledged change
   applied, if one had begun (with several threads: any subset of their
   unacknowledged changes);
4. most iterations (and always the last), reopen the database in this
   process, read its whole state and require it to equal one of those
   states exactly, then run ``storagedb check`` and look for files the
   catalog does not list. The other iterations go straight on, so the next
   worker recovers from the crash itself and may be killed while it does.

The parent never trusts the worker's view: the worker only reports what it
did and a digest of what it found, and the parent compares.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import random
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

from durability_files import stray_files
from durability_workload import WORKLOADS, connect, digest

from storagedb import cli

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "durability_worker.py")
#: A worker that has not reported ready after this long is hung.
READY_TIMEOUT = 60.0


@dataclass
class CrashConfig:
    workload: str
    synchronous: str
    layout: str
    checkpoint_bytes: int = 64 << 10
    #: Share of iterations that reopen and verify in the parent.
    verify_share: float = 0.75
    #: Kills after "ready" land uniformly in this many seconds.
    kill_window: float = 1.0
    #: Operation kinds to aim kills at, and the delay window after one begins.
    target_kinds: tuple[str, ...] = ()
    target_window: float = 0.3
    #: Share of kills aimed at the worker's start-up and recovery.
    startup_share: float = 0.12


@dataclass
class CrashSummary:
    kills: int = 0
    verifications: int = 0
    #: Acknowledged commits whose effects a passing verification covered.
    commits_checked: int = 0
    pending_present: int = 0
    pending_absent: int = 0
    kills_by_phase: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def merge(self, other: "CrashSummary") -> None:
        self.kills += other.kills
        self.verifications += other.verifications
        self.commits_checked += other.commits_checked
        self.pending_present += other.pending_present
        self.pending_absent += other.pending_absent
        self.kills_by_phase.update(other.kills_by_phase)
        self.failures.extend(other.failures)

    def describe(self) -> str:
        phases = ", ".join(f"{name} {count}" for name, count in self.kills_by_phase.most_common())
        return (
            f"{self.kills} kills ({phases}); {self.verifications} reopen checks covering "
            f"{self.commits_checked} acknowledged commits; unacknowledged change present after "
            f"{self.pending_present} kills, absent after {self.pending_absent}; {len(self.failures)} failures"
        )


def run_check(db_path: str) -> tuple[int, str]:
    """Run ``storagedb check DB`` in this process; returns its exit status and output."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        status = cli.main(["check", db_path])
    return status, output.getvalue()


def describe_difference(expected: dict, found: dict, limit: int = 8) -> str:
    """The first ``limit`` paths where two nested dicts differ."""
    lines: list[str] = []

    def walk(a, b, path: str) -> None:
        if len(lines) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{path}/{key}")
        elif a != b:
            lines.append(f"{path}: expected {str(a)[:120]}, found {str(b)[:120]}")

    walk(expected, found, "")
    return "; ".join(lines)


class _Worker:
    """One running worker and the events it has written so far."""

    def __init__(self, db_path: str, config: CrashConfig, seed: int, scratch: str) -> None:
        self.stderr = tempfile.TemporaryFile()
        command = [
            sys.executable,
            WORKER,
            config.workload,
            db_path,
            "--seed",
            str(seed),
            "--synchronous",
            config.synchronous,
            "--layout",
            config.layout,
            "--checkpoint-bytes",
            str(config.checkpoint_bytes),
            "--scratch",
            scratch,
        ]
        environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.stderr, env=environment)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.buffer = b""
        self.events: list[dict] = []
        self.eof = False

    def poll(self, timeout: float) -> None:
        """Read whatever arrives within ``timeout`` seconds."""
        if self.eof:
            time.sleep(max(0.0, timeout))
            return
        if self.selector.select(max(0.0, timeout)):
            chunk = os.read(self.process.stdout.fileno(), 1 << 16)
            if not chunk:
                self.eof = True
            self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        self.events.extend(json.loads(line) for line in lines if line.strip())

    def kill(self) -> int:
        """SIGKILL the worker (if it still runs), then collect everything it wrote."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        returncode = self.process.wait()
        while not self.eof:
            self.poll(1.0)
        self.selector.close()
        self.process.stdout.close()
        return returncode

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-3000:]


def _wait_for_planned_moment(worker: _Worker, config: CrashConfig, rng: random.Random) -> None:
    """Read the worker's events until the moment chosen for the kill (or a time limit)."""
    roll = rng.random()
    if roll < config.startup_share:
        plan, delay = "startup", rng.uniform(0.0, 1.0)
    elif config.target_kinds and roll < config.startup_share + 0.6:
        plan, delay = "target", rng.uniform(0.0, config.target_window)
    else:
        plan, delay = "ready", rng.uniform(0.0, config.kill_window)
    nth_target = rng.randint(1, 3)
    deadline = worker.started + delay if plan == "startup" else None
    hard_stop = worker.started + READY_TIMEOUT
    while True:
        now = time.monotonic()
        if deadline is None:
            if plan == "ready" and any(e["event"] == "ready" for e in worker.events):
                deadline = now + delay
            elif plan == "target":
                targets = [e for e in worker.events if e["event"] == "begin" and e["op"]["kind"] in config.target_kinds]
                if len(targets) >= nth_target:
                    deadline = now + delay
        if deadline is not None and now >= deadline:
            break
        if now >= hard_stop or worker.process.poll() is not None and worker.eof:
            break
        worker.poll(min(0.05, deadline - now) if deadline is not None else 0.05)


def run_crash_loop(
    db_path: str,
    config: CrashConfig,
    iterations: int,
    seed: int,
    failure_dir: str | None = None,
    progress=None,
) -> CrashSummary:
    """Kill a worker ``iterations`` times on one database and check each outcome.

    ``failure_dir``, when given, receives a copy of the database after each
    failed check. ``progress(iteration, summary)`` is called after each
    iteration.
    """
    workload = WORKLOADS[config.workload](config.layout)
    rng = random.Random(seed)
    summary = CrashSummary()
    scratch = tempfile.mkdtemp(prefix="storagedb-crash-")

    def fresh_database() -> list[dict]:
        if os.path.exists(db_path):
            shutil.rmtree(db_path)
        with connect(db_path, config.synchronous, config.checkpoint_bytes) as db:
            workload.setup(db)
            return [workload.read_state(db)]

    def fail(iteration: int, message: str) -> None:
        label = f"{config.workload}/{config.synchronous}/{config.layout} seed {seed} iteration {iteration}"
        summary.failures.append(f"{label}: {message}")
        if failure_dir:
            target = os.path.join(failure_dir, f"{config.workload}-{config.synchronous}-{config.layout}-{seed}-{iteration}")
            shutil.copytree(db_path, target, dirs_exist_ok=True)

    candidates = fresh_database()
    unverified_commits = 0
    try:
        for iteration in range(iterations):
            worker = _Worker(db_path, config, seed * 10_000 + iteration, scratch)
            _wait_for_planned_moment(worker, config, rng)
            returncode = worker.kill()
            summary.kills += 1

            # What the worker reported: a digest of the recovered state,
            # then begun and acknowledged changes.
            events = worker.events
            errors = [e for e in events if e["event"] == "error"]
            if errors:
                fail(iteration, f"worker raised {errors[0]['error']}\n{errors[0]['trace']}")
            elif returncode != -signal.SIGKILL:
                fail(iteration, f"worker exited with status {returncode}: {worker.stderr_text()}")
            ready = next((e for e in events if e["event"] == "ready"), None)
            if ready is None:
                summary.kills_by_phase["startup and recovery"] += 1
                if time.monotonic() - worker.started >= READY_TIMEOUT:
                    fail(iteration, f"worker did not open the database within {READY_TIMEOUT} s")
            else:
                known = {digest(state): state for state in candidates}
                if ready["digest"] not in known:
                    fail(
                        iteration,
                        "the worker recovered a state that is neither the acknowledged state nor the "
                        "acknowledged state plus the unacknowledged change",
                    )
                    candidates = _read_state(db_path, workload, config) or fresh_database()
                    continue
                base = known[ready["digest"]]
                in_flight: dict[int, dict] = {}
                for event in events:
                    thread = event.get("thread", 0)
                    if event["event"] == "begin":
                        in_flight[thread] = event["op"]
                    elif event["event"] == "ack":
                        done = in_flight.pop(thread)
                        base = workload.apply(base, done)
                        unverified_commits += done["kind"] in workload.commit_kinds
                candidates = _with_any_subset(workload, base, list(in_flight.values()))
                if len(in_flight) == 1:
                    summary.kills_by_phase[f"during {next(iter(in_flight.values()))['kind']}"] += 1
                elif in_flight:
                    summary.kills_by_phase["during concurrent changes"] += 1
                else:
                    summary.kills_by_phase["between changes"] += 1

            last = iteration == iterations - 1
            if last or rng.random() < config.verify_share:
                try:
                    candidates, checked = _verify(db_path, workload, config, candidates, summary)
                    if checked:
                        summary.commits_checked += unverified_commits
                        unverified_commits = 0
                except _VerifyFailed as exc:
                    fail(iteration, str(exc))
                    candidates = exc.state_now if exc.state_now else fresh_database()
                    unverified_commits = 0
            if progress:
                progress(iteration, summary)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return summary


def _with_any_subset(workload, base: dict, in_flight: list[dict]) -> list[dict]:
    """``base`` with every subset of the in-flight changes applied; ``base`` itself first."""
    states = {digest(base): base}
    for size in range(1, len(in_flight) + 1):
        for subset in itertools.combinations(in_flight, size):
            state = base
            for op in subset:
                state = workload.apply(state, op)
            states.setdefault(digest(state), state)
    return list(states.values())


def _read_state(db_path, workload, config: CrashConfig) -> list[dict] | None:
    """The state a database shows now, or None if it does not open."""
    try:
        with connect(db_path, config.synchronous, config.checkpoint_bytes) as db:
            return [workload.read_state(db)]
    except Exception:
        return None


class _VerifyFailed(Exception):
    def __init__(self, message: str, state_now: list[dict] | None) -> None:
        super().__init__(message)
        self.state_now = state_now


def _verify(db_path, workload, config: CrashConfig, candidates: list[dict], summary: CrashSummary):
    """Reopen in this process and compare; returns the resolved state and whether it passed."""
    try:
        with connect(db_path, config.synchronous, config.checkpoint_bytes) as db:
            state = workload.read_state(db)
    except Exception as exc:  # any failure to reopen is the finding itself
        raise _VerifyFailed(f"reopening after the kill raised {type(exc).__name__}: {exc}", None) from exc
    summary.verifications += 1

    problems = workload.invariant_problems(state)
    digests = [digest(c) for c in candidates]
    found = digest(state)
    if found not in digests:
        problems.append(
            "the database shows neither the acknowledged state nor the acknowledged state plus "
            f"the unacknowledged change: {describe_difference(candidates[0], state)}"
        )
    elif len(candidates) > 1:
        if digests.index(found) > 0:
            summary.pending_present += 1
        else:
            summary.pending_absent += 1
    status, output = run_check(db_path)
    if status != 0:
        problems.append(f"storagedb check exited {status}: {output.strip()[:1500]}")
    stray = stray_files(db_path)
    if stray:
        problems.append(f"files the catalog does not list remain after a clean reopen: {stray}")
    if problems:
        raise _VerifyFailed("; ".join(problems), [state])
    return [state], True
