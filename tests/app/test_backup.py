"""Backup and restore of the app database: a populated database backed up, wiped, restored,
and every table equal (SQLite here; the PostgreSQL lane runs the same tests with pg_dump)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pht.core.errors import PhtError
from pht.ops.backup import MANIFEST, create_backup, restore_backup, verify_backup


def _tables() -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the app database, its rows in a fixed order."""
    from django.db import connection

    out: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cur:
        for table in sorted(connection.introspection.table_names(cur)):
            cur.execute(f'SELECT * FROM "{table}"')
            out[table] = sorted(cur.fetchall(), key=repr)
    return out


@pytest.fixture
def populated(transactional_db: Any) -> Iterator[None]:
    """The small bundle, the demo users and an audit entry, committed (pg_dump reads in a
    session of its own). The audit table's triggers refuse the flush after the test, so they
    are dropped for it."""
    from django.db import connection

    from pht.app.accounts.demo import create_demo_users
    from pht.app.audit import triggers
    from pht.app.audit.log import record
    from pht.app.audit.models import AuditAction
    from pht.app.care.loading import load_bundle
    from tests.app.bundle import make_bundle

    triggers.install(connection)
    load_bundle(make_bundle())
    create_demo_users()
    record(user=None, action=next(iter(AuditAction)), reason="before the backup")
    yield
    triggers.remove(connection)


def _wipe() -> None:
    from django.core.management import call_command
    from django.db import connection

    from pht.app.audit import triggers

    triggers.remove(connection)
    call_command("flush", interactive=False, verbosity=0)


def test_round_trip_gives_every_table_back(populated: None, tmp_path: Path) -> None:
    from django.db import connection

    before = _tables()
    assert sum(len(rows) for rows in before.values()) > 100
    report = create_backup(tmp_path / "b", app_db=True)
    assert report.path.exists() and not list(tmp_path.glob(".*partial*"))
    _wipe()
    assert _tables() != before
    restored = restore_backup(tmp_path / "b", app_db=True)
    assert restored.restored == ("app_db",)
    assert _tables() == before
    # the restored audit log is append-only again: its triggers came back with it
    from pht.app.audit.models import AuditEntry

    with pytest.raises(Exception, match="audit entries cannot be"):
        AuditEntry.objects.all().delete()
    connection.close()


def test_damaged_backup_is_refused_and_nothing_changes(populated: None, tmp_path: Path) -> None:
    create_backup(tmp_path / "b", app_db=True)
    before = _tables()
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    name = manifest["app_db"]["file"]
    data = bytearray((tmp_path / "b" / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "b" / name).write_bytes(bytes(data))
    with pytest.raises(PhtError, match=f"{name}: checksum .* the backup is damaged"):
        restore_backup(tmp_path / "b", app_db=True)
    assert _tables() == before


def test_backup_from_a_newer_schema_is_refused(populated: None, tmp_path: Path) -> None:
    create_backup(tmp_path / "b", app_db=True)
    path = tmp_path / "b" / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["app_db"]["migrations"].append(["care", "9999_from_the_future"])
    path.write_text(json.dumps(manifest))
    verify_backup(tmp_path / "b")  # the files themselves are intact
    with pytest.raises(PhtError, match=r"newer pht.*care\.9999_from_the_future"):
        restore_backup(tmp_path / "b", app_db=True)


def test_an_existing_backup_is_never_overwritten(populated: None, tmp_path: Path) -> None:
    create_backup(tmp_path / "b", app_db=True)
    with pytest.raises(PhtError, match="exists already"):
        create_backup(tmp_path / "b", app_db=True)
