"""The CLI as a separate process: exit codes, stderr, locks, damaged pages, progress and demo.

These run ``python -m storagedb.cli`` in a subprocess where the exit status,
the exact bytes on stderr, or a second process holding the database matter.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storagedb.cli import main

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
TIMEOUT = 120


def run(*args: object, **options) -> subprocess.CompletedProcess:
    """Run ``storagedb`` in a new Python process and capture its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "storagedb.cli", *[str(arg) for arg in args]],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        **options,
    )


def cli(*args: object) -> tuple[int, str, str]:
    """Run the CLI in this process; return its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in args])
    return code, out.getvalue(), err.getvalue()


def assert_one_error_line(stderr: str) -> None:
    assert stderr.startswith("storagedb: error: "), stderr
    assert stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr


@pytest.fixture(scope="module")
def orders_db(tmp_path_factory) -> Path:
    """A database with seeds/orders.csv in table ``orders`` (nsm) and ``orders_pax``."""
    db = tmp_path_factory.mktemp("process") / "orders.db"
    for table, layout in (("orders", "nsm"), ("orders_pax", "pax")):
        code, _, err = cli("load", db, table, SEEDS / "orders.csv", "--primary-key", "o_orderkey", "--layout", layout)
        assert code == 0, err
    return db


# -- exit codes and stderr ---------------------------------------------------------


def test_load_success_prints_one_line(tmp_path):
    result = run("load", tmp_path / "db", "flights", SEEDS / "flights.csv", "--layout", "dsm")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("loaded 8,832 rows into flights (dsm, 1 segment) in ")
    assert result.stdout.count("\n") == 1


def test_progress_bar_absent_without_terminal(tmp_path):
    # Output captured in pipes is not a terminal, so load draws nothing.
    result = run("load", tmp_path / "db", "lineitem", SEEDS / "lineitem.csv")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("loaded 60,175 rows")


def test_progress_bar_on_terminal_goes_to_stderr(tmp_path):
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "storagedb.cli", "load", str(tmp_path / "db"), "o", str(SEEDS / "orders.csv")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
        )
        os.close(follower)
        drawn = bytearray()
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # Linux reports the closed terminal as EIO
                break
            if not chunk:
                break
            drawn += chunk
        stdout = child.stdout.read()
        child.stdout.close()
        assert child.wait(timeout=TIMEOUT) == 0
    finally:
        os.close(leader)
    assert b"loading orders.csv" in drawn
    assert stdout.startswith(b"loaded 15,000 rows")
    assert b"loading" not in stdout


def test_get_absent_key_exit_1(orders_db):
    result = run("get", orders_db, "orders", "8")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "not found" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_get_existing_key_exit_0(orders_db):
    result = run("get", orders_db, "orders_pax", "3", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["o_custkey"] == 1234


def test_bad_input_file_exit_2(orders_db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("k,v\n1,x\n2\n", encoding="utf-8")
    result = run("load", orders_db, "other", bad)
    assert result.returncode == 2
    assert result.stdout == ""
    assert_one_error_line(result.stderr)
    assert f"{bad}:3:" in result.stderr


def test_usage_error_exit_2(orders_db):
    result = run("scan", orders_db, "orders", "--format", "xml")
    assert result.returncode == 2
    assert "invalid choice: 'xml'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_where_exit_2(orders_db):
    result = run("scan", orders_db, "orders", "--format", "csv", "--where", "o_orderkey >> 3")
    assert result.returncode == 2
    assert result.stdout == ""
    assert_one_error_line(result.stderr)


def test_missing_table_exit_1(orders_db):
    result = run("info", orders_db, "nosuch")
    assert result.returncode == 1
    assert_one_error_line(result.stderr)
    assert "'nosuch'" in result.stderr


def test_debug_shows_traceback(tmp_path):
    result = run("--debug", "load", tmp_path / "db", "t", tmp_path / "missing.csv")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "LoadError" in result.stderr


def test_closed_pipe_is_not_an_error(orders_db):
    child = subprocess.Popen(
        [sys.executable, "-m", "storagedb.cli", "scan", str(orders_db), "orders", "--format", "csv"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout.readline().startswith(b"o_orderkey,")
    child.stdout.close()
    stderr = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=TIMEOUT) == 0
    assert "Traceback" not in stderr
    assert stderr == ""


def test_reopen_prints_no_warning(orders_db):
    result = run("info", orders_db)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_failed_first_load_leaves_no_warning(tmp_path):
    # The database is created and closed without a write, whose log must
    # not read back as a torn tail that needs recovery.
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    failed = run("load", tmp_path / "db", "t", empty)
    assert failed.returncode == 2
    result = run("info", tmp_path / "db")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# -- a load that stops half way ----------------------------------------------------------


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory) -> Path:
    """seeds/lineitem.csv four times over (240,700 rows), which takes a second or more to load."""
    path = tmp_path_factory.mktemp("long") / "long.csv"
    header, _, body = (SEEDS / "lineitem.csv").read_text(encoding="utf-8").partition("\n")
    path.write_text(header + "\n" + body * 4, encoding="utf-8")
    return path


def start_load_on_terminal(db: Path, table: str, path: Path):
    """Start a load with stderr on a pseudo-terminal; return it once its progress bar shows."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "storagedb.cli", "load", str(db), table, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    drawn = b""
    while b"loading" not in drawn:
        chunk = os.read(leader, 4096)
        assert chunk, "the load ended before its progress bar showed"
        drawn += chunk
    # Let the load get into its first batch, which takes about a second.
    time.sleep(0.3)
    return child, leader


def test_interrupted_load_leaves_table_absent(orders_db, long_csv, tmp_path):
    import signal

    db = tmp_path / "interrupted.db"
    shutil.copytree(orders_db, db)
    before = sorted(path.name for path in db.iterdir())
    child, leader = start_load_on_terminal(db, "lineitem", long_csv)
    try:
        child.send_signal(signal.SIGINT)
        stdout = child.stdout.read()
        child.stdout.close()
        assert child.wait(timeout=TIMEOUT) == 130
    finally:
        os.close(leader)
    assert b"loaded" not in stdout

    code, out, err = cli("info", db, "--json")
    assert code == 0, err
    assert err == ""
    assert [table["name"] for table in json.loads(out)["tables"]] == ["orders", "orders_pax"]
    assert sorted(path.name for path in db.iterdir()) == before
    assert cli("check", db)[0] == 0


def test_killed_load_leaves_table_absent(orders_db, long_csv, tmp_path):
    import signal

    db = tmp_path / "killed.db"
    shutil.copytree(orders_db, db)
    child, leader = start_load_on_terminal(db, "lineitem", long_csv)
    try:
        child.send_signal(signal.SIGKILL)
        child.stdout.close()
        assert child.wait(timeout=TIMEOUT) == -signal.SIGKILL
    finally:
        os.close(leader)

    code, out, err = cli("info", db, "--json")
    assert code == 0, err
    assert [table["name"] for table in json.loads(out)["tables"]] == ["orders", "orders_pax"]
    assert all(line.startswith("storagedb: warning: ") for line in err.splitlines()), err
    code, out, err = cli("scan", db, "orders", "--where", "o_orderkey = 1", "--format", "csv", "--columns", "o_custkey")
    assert (code, out) == (0, "o_custkey\n370\n"), err
    assert cli("check", db)[0] == 0


# -- a second process holding the database --------------------------------------------


@contextlib.contextmanager
def holder(db: Path, readonly: bool = False):
    """Keep ``db`` open in a child process until the block ends."""
    code = (
        "import sys, storagedb\n"
        "db = storagedb.connect(sys.argv[1], readonly=sys.argv[2] == 'ro')\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
        "db.close()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(db), "ro" if readonly else "rw"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "ready\n"
        yield child
    finally:
        child.stdin.close()
        child.wait(timeout=TIMEOUT)
        child.stdout.close()


def test_writer_lock_blocks_load(orders_db, tmp_path):
    db = tmp_path / "locked.db"
    shutil.copytree(orders_db, db)
    extra = tmp_path / "extra.csv"
    extra.write_text("k\n1\n", encoding="utf-8")

    with holder(db):
        result = run("load", db, "extra", extra)
        assert result.returncode == 1
        assert_one_error_line(result.stderr)
        assert "database is locked" in result.stderr
        assert "readonly=True" not in result.stderr

    result = run("load", db, "extra", extra)
    assert result.returncode == 0, result.stderr


def test_writer_lock_blocks_other_commands(orders_db, tmp_path):
    db = tmp_path / "locked.db"
    shutil.copytree(orders_db, db)
    commands = [("scan", "orders", "--limit", "1"), ("info",), ("get", "orders", "1"), ("check",), ("compact", "orders")]
    with holder(db):
        results = {command[0]: cli(command[0], db, *command[1:]) for command in commands}
    for name, (code, out, err) in results.items():
        assert code == 1, name
        assert out == "", name
        assert_one_error_line(err)
        assert "database is locked" in err, name


def test_lock_message_readonly_hint(orders_db, tmp_path):
    import storagedb

    db = tmp_path / "api.db"
    shutil.copytree(orders_db, db)
    with holder(db):
        with pytest.raises(storagedb.DatabaseLockedError) as raised:
            storagedb.connect(db)
        assert "a writer has" in str(raised.value)
        assert "readonly=True" not in str(raised.value)
        with pytest.raises(storagedb.DatabaseLockedError, match="a writer has"):
            storagedb.connect(db, readonly=True)
    with holder(db, readonly=True):
        with pytest.raises(storagedb.DatabaseLockedError, match="readonly=True") as raised:
            storagedb.connect(db)
        assert "another process reads" in str(raised.value)
        with storagedb.connect(db, readonly=True) as reader:
            assert reader.table("orders").stats()["rows"] > 0


def test_reader_blocks_load_not_scan(orders_db, tmp_path):
    db = tmp_path / "shared.db"
    shutil.copytree(orders_db, db)
    extra = tmp_path / "extra.csv"
    extra.write_text("k\n1\n", encoding="utf-8")
    with holder(db, readonly=True):
        code, _, err = cli("load", db, "extra", extra)
        assert code == 1
        assert "database is locked" in err
        code, out, err = cli("scan", db, "orders", "--limit", "1", "--format", "csv")
        assert code == 0, err
        assert out.startswith("o_orderkey,")


# -- check ----------------------------------------------------------------------------------


def test_check_passes_on_fresh_database(orders_db):
    result = run("check", orders_db)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("ok: ")
    assert "30,000 rows checked" in result.stdout


@pytest.mark.parametrize("table", ["orders", "orders_pax"])
def test_check_names_damaged_page(orders_db, tmp_path, table):
    db = tmp_path / "damaged.db"
    shutil.copytree(orders_db, db)
    code, out, err = cli("info", db, table, "--json")
    assert code == 0, err
    info = json.loads(out)
    (segment,) = info["segments"]
    (path,) = db.rglob(segment["file"])
    page_size = json.loads(cli("info", db, "--json")[1])["page_size"]
    pages = path.stat().st_size // page_size
    page = pages // 2
    offset = page * page_size + page_size // 2

    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x5A]))

    result = run("check", db)
    assert result.returncode == 1
    assert not result.stdout.startswith("ok")
    assert path.name in result.stderr
    assert f"page {page}" in result.stderr
    assert "check failed" in result.stderr
    assert "run 'storagedb check" not in result.stderr
    assert "Traceback" not in result.stderr


def test_scan_of_damaged_page_fails_cleanly(orders_db, tmp_path):
    db = tmp_path / "damaged.db"
    shutil.copytree(orders_db, db)
    code, out, err = cli("info", db, "orders", "--json")
    assert code == 0, err
    (path,) = db.rglob(json.loads(out)["segments"][0]["file"])
    with open(path, "r+b") as handle:
        handle.seek(3 * 4096 + 100)
        byte = handle.read(1)
        handle.seek(3 * 4096 + 100)
        handle.write(bytes([byte[0] ^ 0xFF]))

    result = run("scan", db, "orders", "--format", "csv")
    assert result.returncode == 1
    assert_one_error_line(result.stderr)
    assert path.name in result.stderr
    assert "page 3" in result.stderr


def segment_path(db: Path, table: str) -> Path:
    code, out, err = cli("info", db, table, "--json")
    assert code == 0, err
    (segment,) = json.loads(out)["segments"]
    (path,) = db.rglob(segment["file"])
    return path


def test_check_names_missing_segment_file(orders_db, tmp_path):
    db = tmp_path / "missing.db"
    shutil.copytree(orders_db, db)
    path = segment_path(db, "orders_pax")
    path.unlink()

    code, out, err = cli("check", db)
    assert code == 1
    assert out == ""
    assert f"{path.name} is missing, although the catalog lists it" in err
    assert "check failed: 1 problem in 2 files" in err


def test_scan_with_missing_segment_file(orders_db, tmp_path):
    db = tmp_path / "missing.db"
    shutil.copytree(orders_db, db)
    path = segment_path(db, "orders")
    path.unlink()

    code, out, err = cli("scan", db, "orders", "--limit", "1")
    assert code == 1
    assert out == ""
    assert_one_error_line(err)
    assert path.name in err
    assert f"run 'storagedb check {db}'" in err


def test_check_names_truncated_segment_file(orders_db, tmp_path):
    db = tmp_path / "truncated.db"
    shutil.copytree(orders_db, db)
    path = segment_path(db, "orders")
    with open(path, "r+b") as handle:
        handle.truncate(5 * 4096 + 10)

    code, out, err = cli("check", db)
    assert code == 1
    assert f"{path.name}: file is truncated" in err


def test_check_names_damaged_catalog(orders_db, tmp_path):
    db = tmp_path / "catalog.db"
    shutil.copytree(orders_db, db)
    catalog = db / "catalog.sdb"
    data = bytearray(catalog.read_bytes())
    data[len(data) // 2] ^= 0x01
    catalog.write_bytes(bytes(data))

    code, out, err = cli("check", db)
    assert code == 1
    assert "catalog.sdb" in err
    assert "checksum mismatch" in err
    code, out, err = cli("info", db)
    assert code == 1
    assert_one_error_line(err)
    assert "catalog.sdb" in err


def test_check_names_damaged_log_header(orders_db, tmp_path):
    db = tmp_path / "log.db"
    shutil.copytree(orders_db, db)
    log = db / "wal.log"
    data = bytearray(log.read_bytes())
    data[24] ^= 0x10  # start_lsn, inside the header's checksum
    log.write_bytes(bytes(data))

    code, out, err = cli("check", db)
    assert code == 1
    assert out == ""
    assert "wal.log" in err
    assert "checksum mismatch" in err


def test_check_names_damaged_log_and_segment(orders_db, tmp_path):
    db = tmp_path / "both.db"
    shutil.copytree(orders_db, db)
    path = segment_path(db, "orders")
    with open(path, "r+b") as handle:
        handle.seek(3 * 4096 + 100)
        byte = handle.read(1)
        handle.seek(3 * 4096 + 100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    log = db / "wal.log"
    data = bytearray(log.read_bytes())
    data[24] ^= 0x10  # start_lsn, inside the header's checksum
    log.write_bytes(bytes(data))

    code, out, err = cli("check", db)
    assert code == 1
    assert f"{path.name}: page 3" in err
    assert "wal.log" in err
    assert "check failed: 2 problems" in err


def test_check_names_missing_log(orders_db, tmp_path):
    db = tmp_path / "nolog.db"
    shutil.copytree(orders_db, db)
    (db / "wal.log").unlink()

    code, out, err = cli("check", db)
    assert code == 1
    assert "wal.log" in err
    assert "missing" in err


# -- demo -------------------------------------------------------------------------------------


def test_demo_prints_info_scan_and_lookup():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "loaded 60,175 rows of lineitem.csv" in out
    assert "loaded 15,000 rows of orders.csv" in out
    assert "loaded 8,832 rows of flights.csv" in out
    assert "buffer pool:" in out
    assert "scan lineitem where" in out
    assert "33794" in out
    assert "get lineitem (1, 1):" in out
    assert "egular courts above the" in out
    assert "--keep DIR" in out


def test_demo_keep_refuses_directory_of_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    code, out, err = cli("demo", "--keep", tmp_path)
    assert code == 2
    assert out == ""
    assert "contains other files (notes.txt)" in err
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_check_counts_log_only_rows(tmp_path):
    db = tmp_path / "wal_only.db"
    code = (
        "import os, sys, storagedb\n"
        "db = storagedb.connect(sys.argv[1])\n"
        "table = db.create_table('t', [('k', 'int64', 'not null'), ('v', 'text')], primary_key='k')\n"
        "table.insert_many([(i, f'v{i}') for i in range(49)])\n"
        "os._exit(0)  # no close, no checkpoint: the rows are only in the log\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, timeout=TIMEOUT)

    result = run("check", db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("and 49 rows from the write-ahead log checked\n")
    status, out, err = cli("scan", db, "t", "--format", "csv")
    assert status == 0, err
    assert out.count("\n") == 50


def test_damaged_table_leaves_other_tables_readable(orders_db, tmp_path):
    import storagedb

    db = tmp_path / "one_damaged.db"
    shutil.copytree(orders_db, db)
    path = segment_path(db, "orders")
    with open(path, "r+b") as handle:
        handle.truncate(2 * 4096)

    with storagedb.connect(db, readonly=True) as reader:
        assert reader.table_names() == ["orders_pax"]
        assert list(reader.unreadable_tables()) == ["orders"]
        assert path.name in reader.unreadable_tables()["orders"]
        assert reader.table("orders_pax").row_count() == 15_000
        with pytest.raises(storagedb.StorageDBError, match=path.name):
            reader.table("orders")
    with pytest.raises(storagedb.StorageDBError, match=path.name):
        storagedb.connect(db)

    code, out, err = cli("scan", db, "orders_pax", "--format", "csv", "--limit", "2")
    assert code == 0, err
    assert out.count("\n") == 3
    assert err == ""
    code, out, err = cli("info", db)
    assert code == 0, err
    assert "orders_pax" in out
    assert err.startswith("storagedb: warning: table 'orders' cannot be read: ")
    assert path.name in err
    code, out, err = cli("scan", db, "orders", "--limit", "1")
    assert code == 1
    assert out == ""
    assert path.name in err
    code, out, err = cli("check", db)
    assert code == 1
    assert path.name in err
