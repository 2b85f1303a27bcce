"""Registering and revoking systems: ``pht app clients`` and the team lead's page, each change
through an action with its audit row; the secret shown once."""

from __future__ import annotations

import json
import re
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from typer.testing import CliRunner

from pht.app.accounts.actions import do_create_system_client
from pht.app.accounts.models import Practice, SystemClient
from pht.app.audit.models import AuditAction, AuditEntry
from pht.cli import app
from tests.app.bundle import PRACTICE_A, PRACTICE_B
from tests.app.conftest import client_for

runner = CliRunner()


def _token(client_id: str, secret: str, scope: str) -> int:
    answer = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": scope,
        },
    )
    return int(answer.status_code)


def test_the_operator_adds_lists_and_revokes_a_system_on_the_command_line(
    loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pht.cli.app_clients.getpass.getuser", lambda: "drift")
    added = runner.invoke(
        app,
        ["app", "clients", "add", "ehr-a", "-p", PRACTICE_A, "-s", "worklist:read", "-f", "json"],
    )
    assert added.exit_code == 0, added.output
    new = json.loads(added.output)
    assert new["scopes"] == ["worklist:read"] and new["practice"] == PRACTICE_A
    assert _token(new["client_id"], new["client_secret"], "worklist:read") == 200
    entry = AuditEntry.objects.get(action=AuditAction.SYSTEM_CLIENT)
    assert entry.username == "os:drift" and entry.practice_id == PRACTICE_A
    assert json.loads(entry.detail)["cli"] == "pht app clients add"
    # the secret is stored hashed only: nothing printed later shows it
    listed = runner.invoke(app, ["app", "clients", "list", "-p", PRACTICE_A, "-f", "json"])
    assert listed.exit_code == 0 and new["client_secret"] not in listed.output
    (row,) = json.loads(listed.output)["rows"]
    assert row["name"] == "ehr-a" and row["active"] is True
    assert runner.invoke(app, ["app", "clients", "revoke", "ehr-a"]).exit_code != 0  # no reason
    revoked = runner.invoke(app, ["app", "clients", "revoke", "ehr-a", "--reason", "avtale slutt"])
    assert revoked.exit_code == 0, revoked.output
    assert not SystemClient.objects.get(name="ehr-a").active
    assert _token(new["client_id"], new["client_secret"], "worklist:read") != 200
    entry = AuditEntry.objects.get(action=AuditAction.SYSTEM_CLIENT_REVOKE)
    assert entry.username == "os:drift" and entry.reason == "avtale slutt"


def test_as_a_pht_user_the_permission_table_decides(loaded: Any, users: Any) -> None:
    args = ["app", "clients", "add", "ehr-x", "-s", "worklist:read"]
    nurse = runner.invoke(app, [*args, "-p", PRACTICE_A, "--as", users["nurse_a"].username])
    assert nurse.exit_code != 0 and "may not manage" in str(nurse.exception)
    denied = AuditEntry.objects.get(action=AuditAction.DENIED)
    assert denied.username == users["nurse_a"].username
    assert json.loads(denied.detail)["action"] == "clients.manage"
    lead = users["lead_a"].username
    other = runner.invoke(app, [*args, "-p", PRACTICE_B, "--as", lead])  # not the lead's
    assert other.exit_code != 0
    assert AuditEntry.objects.filter(action=AuditAction.DENIED).count() == 2
    assert not SystemClient.objects.exists()
    own = runner.invoke(app, [*args, "-p", PRACTICE_A, "--as", lead])
    assert own.exit_code == 0, own.output
    entry = AuditEntry.objects.get(action=AuditAction.SYSTEM_CLIENT)
    assert entry.username == lead and entry.role == "gp_team_lead"


def test_a_failure_before_the_audit_row_registers_nothing(loaded: Any) -> None:
    def dies(**kwargs: Any) -> None:
        raise RuntimeError("the database fails before the audit row is stored")

    practice = Practice.objects.get(pk=PRACTICE_A)
    with mock.patch("pht.app.accounts.actions.record", dies), pytest.raises(RuntimeError):
        do_create_system_client(by="drift", name="ehr-a", practice=practice, scopes=["tasks:write"])
    assert not SystemClient.objects.exists()
    assert not get_user_model().objects.filter(username="system:ehr-a").exists()
    new = do_create_system_client(
        by="drift", name="ehr-a", practice=practice, scopes=["tasks:write"]
    )
    with mock.patch("pht.app.accounts.actions.record", dies), pytest.raises(RuntimeError):
        from pht.app.accounts.actions import do_revoke_system_client

        do_revoke_system_client(by="drift", name="ehr-a", reason="test")
    assert SystemClient.objects.get(pk=new.client.pk).active


def test_the_team_lead_registers_and_revokes_the_practices_systems_on_a_page(
    loaded: Any, users: Any
) -> None:
    other = do_create_system_client(
        by="drift",
        name="kommune-b",
        practice=Practice.objects.get(pk=PRACTICE_B),
        scopes=["worklist:read"],
    )
    lead = client_for(Client(), users["lead_a"])
    page = lead.get("/accounts/systemer/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "kommune-b" not in html and "Ingen systemer er registrert." in html
    created = lead.post(
        "/accounts/systemer/", {"name": "ehr-a", "scopes": ["worklist:read", "tasks:write"]}
    )
    assert created.status_code == 200
    html = created.content.decode()
    client_id = re.search(r'id="client-id">([^<]+)<', html)
    secret = re.search(r'id="client-secret">([^<]+)<', html)
    assert client_id and secret and "Hemmeligheten vises bare nå." in html
    assert _token(client_id[1], secret[1], "tasks:write") == 200
    assert "lese arbeidslisten og pasientene på den" in html  # the scopes in Norwegian
    assert timezone.localdate().strftime("%d.%m.%Y") in html  # registered today, dd.mm.åååå
    again = lead.get("/accounts/systemer/").content.decode()
    assert secret[1] not in again and "ehr-a" in again  # the secret only once
    entry = AuditEntry.objects.get(action=AuditAction.SYSTEM_CLIENT, username="teamleder-02")
    assert json.loads(entry.detail)["scopes"] == ["tasks:write", "worklist:read"]
    # a name taken, or not of the allowed form: 422 with the field's error
    taken = lead.post("/accounts/systemer/", {"name": "kommune-b", "scopes": ["worklist:read"]})
    assert taken.status_code == 422
    bad = lead.post("/accounts/systemer/", {"name": "ø ø", "scopes": ["worklist:read"]})
    assert bad.status_code == 422
    # revoke: a reason is required; another practice's system is as if it did not exist
    assert lead.post("/accounts/systemer/trekk-tilbake/", {"name": "ehr-a"}).status_code == 422
    denied_before = AuditEntry.objects.filter(action=AuditAction.DENIED).count()
    foreign = lead.post(
        "/accounts/systemer/trekk-tilbake/", {"name": "kommune-b", "reason": "prøver"}
    )
    assert foreign.status_code == 404 and SystemClient.objects.get(pk=other.client.pk).active
    assert AuditEntry.objects.filter(action=AuditAction.DENIED).count() == denied_before + 1
    done = lead.post("/accounts/systemer/trekk-tilbake/", {"name": "ehr-a", "reason": "byttet"})
    assert done.status_code == 302
    assert not SystemClient.objects.get(name="ehr-a").active
    assert "trukket tilbake" in lead.get("/accounts/systemer/").content.decode()
    revoke = AuditEntry.objects.get(action=AuditAction.SYSTEM_CLIENT_REVOKE)
    assert revoke.username == "teamleder-02" and revoke.reason == "byttet"


def test_only_the_team_lead_or_a_superuser_sees_the_page(loaded: Any, users: Any) -> None:
    nurse = client_for(Client(), users["nurse_a"])
    assert nurse.get("/accounts/systemer/").status_code == 403
    assert AuditEntry.objects.filter(
        action=AuditAction.DENIED, username=users["nurse_a"].username
    ).exists()
    admin = get_user_model().objects.create_superuser("admin", password=None)
    superuser = client_for(Client(), admin)
    created = superuser.post(
        "/accounts/systemer/",
        {"name": "kommune-b", "scopes": ["extracts:load"], "practice": PRACTICE_B},
    )
    assert created.status_code == 200, created.content.decode()[:2000]
    assert SystemClient.objects.get(name="kommune-b").practice_id == PRACTICE_B
    assert "kommune-b" in superuser.get("/accounts/systemer/").content.decode()
