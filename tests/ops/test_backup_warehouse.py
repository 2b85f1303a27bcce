"""Backup and restore of the registry warehouse: a consistent one-file snapshot, checked on
restore (checksum, schema version), put back in one rename."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pht.core.errors import PhtError
from pht.ops.backup import MANIFEST, create_backup, restore_backup
from pht.registry.warehouse import Warehouse


def _contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        con.close()


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    with Warehouse.open(path) as wh:
        wh.init()
        wh.con.con.execute(
            "CREATE TABLE extra AS SELECT range AS i, 'K' || range AS id, range / 7.0 AS x "
            "FROM range(20000)"
        )
    return path


def test_round_trip(warehouse: Path, tmp_path: Path) -> None:
    before = _contents(warehouse)
    create_backup(tmp_path / "b", warehouse=warehouse, app_db=False)
    con = duckdb.connect(str(warehouse))
    con.execute("DELETE FROM extra WHERE i % 2 = 0")
    con.execute("CREATE TABLE later AS SELECT 1 AS y")
    con.close()
    assert _contents(warehouse) != before
    report = restore_backup(tmp_path / "b", warehouse=warehouse, app_db=False)
    assert report.restored == ("warehouse",)
    assert _contents(warehouse) == before


def test_a_write_ahead_log_left_by_a_crash_is_in_the_backup(
    warehouse: Path, tmp_path: Path
) -> None:
    # a writer that dies without closing leaves its last commit in the .wal beside the file
    script = (
        "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]);"
        "con.execute(\"SET checkpoint_threshold = '1TB'\");"
        "con.execute(\"INSERT INTO extra VALUES (-1, 'late', 0.5)\"); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script, str(warehouse)], check=True)
    assert warehouse.with_name(warehouse.name + ".wal").exists()
    create_backup(tmp_path / "b", warehouse=warehouse, app_db=False)
    snapshot = tmp_path / "b" / "warehouse.duckdb"
    assert not snapshot.with_name(snapshot.name + ".wal").exists()
    con = duckdb.connect(str(snapshot), read_only=True)
    assert con.execute("SELECT count(*) FROM extra WHERE id = 'late'").fetchone() == (1,)
    con.close()


def test_schema_version_that_does_not_fit_is_refused(warehouse: Path, tmp_path: Path) -> None:
    create_backup(tmp_path / "b", warehouse=warehouse, app_db=False)
    path = tmp_path / "b" / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["warehouse"]["schema_version"] = 999
    path.write_text(json.dumps(manifest))
    before = _contents(warehouse)
    with pytest.raises(PhtError, match="schema version 999"):
        restore_backup(tmp_path / "b", warehouse=warehouse, app_db=False)
    assert _contents(warehouse) == before


def test_damaged_snapshot_is_refused(warehouse: Path, tmp_path: Path) -> None:
    create_backup(tmp_path / "b", warehouse=warehouse, app_db=False)
    file = tmp_path / "b" / "warehouse.duckdb"
    data = bytearray(file.read_bytes())
    data[-100] ^= 0x01
    file.write_bytes(bytes(data))
    with pytest.raises(PhtError, match="checksum"):
        restore_backup(tmp_path / "b", warehouse=warehouse, app_db=False)


def test_missing_manifest_says_so(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(PhtError, match=r"not a pht backup: manifest\.json is missing"):
        restore_backup(tmp_path / "x", warehouse=tmp_path / "wh.duckdb", app_db=False)
