"""What only PostgreSQL can show: migrations on the production database, and an audit trail that
the database itself keeps append-only, for Django's connection and for any other client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from pht.app.audit import triggers
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction, AuditEntry
from tests.app.postgres.conftest import require_postgresql

require_postgresql()
pytestmark = pytest.mark.django_db

REFUSED = "audit entries cannot be changed or deleted"
TRIGGERS = {("audit_entry_append_only", "O"), ("audit_entry_no_truncate", "O")}
INSERT = """INSERT INTO audit_auditentry
    (at, username, role, practice_id, person_id, patient_name, action, reason, detail, path)
    VALUES (now(), 'psql-bruker', '', '', '', '', 'patient.view', 'test', '', '')
    RETURNING id"""


def audit_triggers() -> set[tuple[str, str]]:
    """(name, enabled) of the user triggers on the audit table ('O': fires in normal use)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, tgenabled FROM pg_trigger "
            "WHERE tgrelid = 'audit_auditentry'::regclass AND NOT tgisinternal"
        )
        return {(name, str(enabled)) for name, enabled in cursor.fetchall()}


@pytest.fixture
def other_client() -> Iterator[psycopg.Connection[Any]]:
    """A second, plain psycopg connection to the test database (not Django's), in a transaction
    that is rolled back at the end, and that gives up on a lock after a few seconds."""
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"] or None,
    ) as conn:
        conn.execute("SET lock_timeout = '5s'")
        try:
            yield conn
        finally:
            conn.rollback()


def test_migrations_apply_and_match_the_models() -> None:
    assert connection.vendor == "postgresql"
    assert connection.pg_version >= 140000  # Django 5.2 needs PostgreSQL 14 or newer
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    # every model change has its migration (a missing one would break a PostgreSQL deploy)
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_migration_installs_the_audit_triggers_and_install_is_idempotent() -> None:
    assert audit_triggers() == TRIGGERS  # from migration audit 0002, nothing else ran yet
    triggers.install(connection)
    triggers.install(connection)
    assert audit_triggers() == TRIGGERS


def test_audit_migration_reverses_and_applies_again() -> None:
    call_command("migrate", "audit", "0001", verbosity=0)
    assert audit_triggers() == set()
    call_command("migrate", "audit", verbosity=0)
    assert audit_triggers() == TRIGGERS


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET reason = 'endret' WHERE id = %s",
        "UPDATE audit_auditentry SET at = at - interval '1 day'",
        "DELETE FROM audit_auditentry WHERE id = %s",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
        "TRUNCATE audit_auditentry CASCADE",
    ],
)
def test_the_database_refuses_raw_sql_that_changes_the_audit_trail(sql: str) -> None:
    entry = record(user=None, action=AuditAction.LOAD, reason="test", detail={"n": 1})
    with (
        pytest.raises(DatabaseError, match=REFUSED),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk] if "%s" in sql else None)
    assert AuditEntry.objects.get(pk=entry.pk).reason == "test"


def test_another_client_can_append_but_not_change_or_delete(
    other_client: psycopg.Connection[Any],
) -> None:
    row = other_client.execute(INSERT).fetchone()
    assert row is not None
    for sql in (
        "UPDATE audit_auditentry SET reason = 'endret'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
    ):
        # each in a savepoint, so the insert above survives the refusal
        with (
            pytest.raises(psycopg.errors.RaiseException, match=REFUSED),
            other_client.transaction(),
        ):
            other_client.execute(sql)
    reason = other_client.execute(
        "SELECT reason FROM audit_auditentry WHERE id = %s", [row[0]]
    ).fetchone()
    assert reason == ("test",)
