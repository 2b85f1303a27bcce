"""Fixtures of the web app's tests: a loaded bundle and one user per role, built by code."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.app.bundle import PRACTICE_A, PRACTICE_B, make_bundle


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On PostgreSQL a test database of this run's own (``test_pht_<pid>``): several runs (or
    clones) share the throw-away server of ``scripts/postgres.sh`` and must not drop each
    other's database."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        test = db.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + db['NAME']}_{os.getpid()}"


@pytest.fixture
def loaded(db: Any) -> Any:
    """The small bundle loaded into the test database, with demo users."""
    from django.db import connection

    from pht.app.accounts.demo import create_demo_users
    from pht.app.audit import triggers
    from pht.app.care.loading import load_bundle

    triggers.install(connection)  # a live-server test may have dropped them to empty the db
    bundle = make_bundle()
    summary = load_bundle(bundle)
    create_demo_users()
    return {"bundle": bundle, "summary": summary}


@pytest.fixture
def users(loaded: Any) -> dict[str, Any]:
    """Users by short name: nurse_a, nurse_b, lead_a, secretary_a, gp_a, municipal, analyst."""
    from django.contrib.auth import get_user_model

    model = get_user_model()
    names = {
        "lead_a": "teamleder-02",
        "gp_a": "lege-02",
        "nurse_a": "sykepleier-02",
        "secretary_a": "sekretaer-02",
        "psychologist_a": "psykolog-02",
        "lead_b": "teamleder-01",
        "nurse_b": "sykepleier-01",
        "municipal": "prosjektleder-01",
        "analyst": "analytiker",
        "officer": "saksbehandler",
    }
    found = {k: model.objects.get(username=v) for k, v in names.items()}
    assert found["nurse_a"].profile.practice_id == PRACTICE_A
    assert found["nurse_b"].profile.practice_id == PRACTICE_B
    return found


def client_for(client: Any, user: Any) -> Any:
    """*client* signed in as *user*."""
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client
