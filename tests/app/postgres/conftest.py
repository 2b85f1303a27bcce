"""The PostgreSQL lane: the web app's tests against a real PostgreSQL server.

``make test`` starts a throw-away server (``scripts/postgres.sh start``) and runs ``tests/app`` a
second time with ``DATABASE_URL`` pointing at it and ``PHT_REQUIRE_POSTGRES=1``. The tests in
this folder that only make sense on PostgreSQL (its triggers, its catalogue) call
:func:`require_postgresql` when their module is collected: on SQLite the module is skipped with
the command to run, unless ``PHT_REQUIRE_POSTGRES`` is set, when collecting it fails (so the lane
can never pass by skipping).
"""

from __future__ import annotations

import os

import pytest

HOW = (
    "PostgreSQL lane: start the test server with `scripts/postgres.sh start`, then run "
    "`make test-postgres` (or DATABASE_URL=$(cat .tools/postgres.url) .venv/bin/pytest tests/app)"
)


def on_postgresql() -> bool:
    """Whether the app's database is PostgreSQL in this test run."""
    from django.conf import settings

    return bool(settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql")


def require_postgresql() -> None:
    """Skip the calling test module (or, with ``PHT_REQUIRE_POSTGRES=1``, fail) unless the
    database is PostgreSQL."""
    if on_postgresql():
        return
    if os.environ.get("PHT_REQUIRE_POSTGRES", "") not in ("", "0"):
        pytest.fail(f"PHT_REQUIRE_POSTGRES is set but the database is not PostgreSQL. {HOW}")
    pytest.skip(HOW, allow_module_level=True)
