"""Database triggers that refuse UPDATE and DELETE on audit entries (SQLite and PostgreSQL)."""

from typing import Any

from django.db import migrations

from pht.app.audit import triggers


def forwards(apps: Any, schema_editor: Any) -> None:
    triggers.install(schema_editor.connection)


def backwards(apps: Any, schema_editor: Any) -> None:
    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
