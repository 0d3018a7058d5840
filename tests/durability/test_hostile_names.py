"""Names read from disk cannot reach outside the database directory, and files are never code.

A forged catalog (valid checksum) or log record (valid checksum) names a
file or folder outside the database: ``../../etc/passwd``, ``/etc/passwd``,
``../x``. Opening must raise ``CorruptCatalogError`` or ``CorruptLogError``
and touch nothing outside: decoy files next to the database keep their
contents and stay where they are. A last test reads the package's source
and finds no unpickling or evaluation of anything.
"""

from __future__ import annotations

import ast
import os
import pathlib

import pytest
from durability_files import (
    LOG_RECORD_TYPES,
    append_log_records,
    catalog_payload,
    copy_database,
    read_catalog,
    write_catalog,
)

import storagedb
from storagedb import CorruptCatalogError, CorruptLogError

def connect(path):
    # A small buffer pool: allocating the default 128 MiB costs more than these tests' work.
    return storagedb.connect(path, pool_size=4 << 20)


BAD_FILE_NAMES = [
    "../../etc/passwd",
    "/etc/passwd",
    "../seg-000001.sdb",
    "seg-000001.sdb/../../x",
    "seg-000001.sdb\x00",
    "seg-1.sdb",
    "",
    None,
    17,
]
BAD_DIRECTORIES = ["../x", "..", "/tmp", "t000001/../../x", "./t000001", "t1", "", None]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("template") / "db"
    with connect(db_path) as db:
        table = db.create_table("t", [("id", "int64", "not null"), ("v", "int64")], primary_key="id")
        table.insert_many([(i, i) for i in range(50)])
    return db_path


@pytest.fixture
def world(tmp_path, template):
    """A copy of the template database inside ``outer/``, with decoy files where a traversal would land."""
    outer = tmp_path / "outer"
    db_path = pathlib.Path(copy_database(str(template), str(outer / "db")))
    decoys = {
        outer / "x": b"decoy x",
        outer / "seg-000001.sdb": b"decoy segment",
        outer / "t000009" / "seg-000002.sdb": b"decoy in a folder named like a table",
    }
    for path, content in decoys.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return db_path, decoys


def assert_outside_untouched(db_path: pathlib.Path, decoys: dict) -> None:
    for path, content in decoys.items():
        assert path.read_bytes() == content, f"{path} changed"
    outside = sorted(str(p.relative_to(db_path.parent)) for p in db_path.parent.rglob("*") if db_path not in p.parents)
    expected = sorted({"db", "x", "seg-000001.sdb", "t000009", os.path.join("t000009", "seg-000002.sdb")})
    assert outside == expected


@pytest.mark.parametrize("name", BAD_FILE_NAMES, ids=repr)
def test_catalog_segment_name_rejected(world, name):
    db_path, decoys = world
    catalog = read_catalog(str(db_path))
    catalog["tables"]["t"]["segments"][0]["file"] = name
    write_catalog(str(db_path), catalog)
    with pytest.raises(CorruptCatalogError, match="invalid segment"):
        connect(db_path)
    assert_outside_untouched(db_path, decoys)


@pytest.mark.parametrize("name", BAD_FILE_NAMES[:5], ids=repr)
def test_catalog_delete_vector_name_rejected(world, name):
    db_path, decoys = world
    catalog = read_catalog(str(db_path))
    catalog["tables"]["t"]["segments"][0]["delete_vector"] = name
    write_catalog(str(db_path), catalog)
    with pytest.raises(CorruptCatalogError, match="invalid delete vector"):
        connect(db_path)
    assert_outside_untouched(db_path, decoys)


@pytest.mark.parametrize("directory", BAD_DIRECTORIES, ids=repr)
def test_catalog_table_directory_rejected(world, directory):
    db_path, decoys = world
    catalog = read_catalog(str(db_path))
    catalog["tables"]["t"]["directory"] = directory
    write_catalog(str(db_path), catalog)
    with pytest.raises(CorruptCatalogError, match="invalid directory"):
        connect(db_path)
    assert_outside_untouched(db_path, decoys)


def test_check_rejects_bad_catalog_names(world):
    """``storagedb check`` reads the same catalog; it must report it, not follow it."""
    from durability_harness import run_check

    db_path, decoys = world
    catalog = read_catalog(str(db_path))
    catalog["tables"]["t"]["segments"][0]["file"] = "../../etc/passwd"
    write_catalog(str(db_path), catalog)
    status, output = run_check(str(db_path))
    assert status == 1
    assert "catalog" in output
    assert_outside_untouched(db_path, decoys)


def _table_id(db_path) -> int:
    return read_catalog(str(db_path))["tables"]["t"]["id"]


def _commit(records: list, txn: int = 900) -> list:
    return [(record_type, txn, payload) for record_type, payload in records] + [
        (LOG_RECORD_TYPES["COMMIT"], txn, b"")
    ]


@pytest.mark.parametrize("name", BAD_FILE_NAMES, ids=repr)
@pytest.mark.parametrize("record", ["ADD_SEGMENTS", "SEAL"])
def test_log_segment_name_rejected(world, record, name):
    db_path, decoys = world
    payload = catalog_payload(_table_id(db_path), {"files": [name]})
    append_log_records(str(db_path), _commit([(LOG_RECORD_TYPES[record], payload)]))
    with pytest.raises(CorruptLogError):
        connect(db_path)
    assert_outside_untouched(db_path, decoys)


@pytest.mark.parametrize("name", BAD_FILE_NAMES[:4], ids=repr)
def test_log_replace_segments_name_rejected(world, name):
    db_path, decoys = world
    old = read_catalog(str(db_path))["tables"]["t"]["segments"][0]["file"]
    payload = catalog_payload(_table_id(db_path), {"old": [old], "new": [name]})
    append_log_records(str(db_path), _commit([(LOG_RECORD_TYPES["REPLACE_SEGMENTS"], payload)]))
    with pytest.raises(CorruptLogError):
        connect(db_path)
    assert_outside_untouched(db_path, decoys)


@pytest.mark.parametrize("directory", BAD_DIRECTORIES, ids=repr)
def test_log_create_table_directory_rejected(world, directory):
    db_path, decoys = world
    entry = dict(read_catalog(str(db_path))["tables"]["t"])
    entry.update(id=7, directory=directory, segments=[])
    payload = catalog_payload(7, {"name": "evil", "entry": entry})
    append_log_records(str(db_path), _commit([(LOG_RECORD_TYPES["CREATE_TABLE"], payload)]))
    with pytest.raises(CorruptLogError, match="invalid table definition"):
        connect(db_path)
    assert_outside_untouched(db_path, decoys)


def test_log_names_missing_segment(world):
    """A well-formed name of a file that is not there is corruption too, not a FileNotFoundError."""
    db_path, decoys = world
    payload = catalog_payload(_table_id(db_path), {"files": ["seg-000777.sdb"]})
    append_log_records(str(db_path), _commit([(LOG_RECORD_TYPES["ADD_SEGMENTS"], payload)]))
    with pytest.raises(CorruptLogError, match="does not exist"):
        connect(db_path)
    assert_outside_untouched(db_path, decoys)


@pytest.mark.parametrize("name", ["../../evil", "/tmp/evil", "..", "t000009", "a/b"])
def test_table_name_stays_inside(world, name):
    """Table names are labels, not paths: any accepted name gets a folder inside the database."""
    db_path, decoys = world
    with connect(db_path) as db:
        table = db.create_table(name, [("id", "int64")])
        table.insert({"id": 1})
        assert os.path.dirname(table.directory) == str(db_path)
    with connect(db_path) as db:
        assert list(db.table(name).scan()) == [(1,)]
    assert_outside_untouched(db_path, decoys)


# -- files are data, never code ---------------------------------------------------------------------

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib", "yaml"}
UNSAFE_CALLS = {"eval", "exec", "compile"}


def _unsafe_uses(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in UNSAFE_MODULES:
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call):
            function = node.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
            if isinstance(function, ast.Name) and name in UNSAFE_CALLS:
                found.append(f"{name}() at line {node.lineno}")
            for keyword in node.keywords:
                if keyword.arg == "allow_pickle" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    found.append(f"allow_pickle at line {node.lineno}")
            if name in ("loads", "load") and isinstance(function, ast.Attribute):
                owner = function.value
                if isinstance(owner, ast.Name) and owner.id in UNSAFE_MODULES:
                    found.append(f"{owner.id}.{name}() at line {node.lineno}")
    return found


def test_unsafe_scan_finds_examples():
    """The scanner itself: it must flag each unsafe form it looks for."""
    sample = "import pickle\nfrom marshal import loads\neval('1')\nnp.load(f, allow_pickle=True)\nyaml.load(s)\n"
    assert len(_unsafe_uses(sample)) == 5


def test_package_never_unpickles_or_evaluates():
    package = pathlib.Path(storagedb.__file__).parent
    problems = []
    for path in sorted(package.rglob("*.py")):
        problems += [f"{path.relative_to(package)}: {use}" for use in _unsafe_uses(path.read_text())]
    assert not problems, "\n".join(problems)
