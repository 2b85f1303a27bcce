"""Roles per action: the permission table as a matrix (role × action), on SQLite and PostgreSQL.

The PostgreSQL lane of ``make test`` runs this file again against the throw-away server.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from pht.app.accounts import actions as account_actions
from pht.app.accounts.models import SYSTEM_ROLE, AppRole
from pht.app.accounts.permissions import GRANT, YES, Action, allowed, table
from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care import actions, clock
from pht.app.care.models import Activity, Patient, Task
from tests.app.bundle import PRACTICE_A
from tests.app.conftest import client_for

#: The demo user of each role (practice A for the team; see tests/app/conftest.py).
ROLE_USERS = {
    AppRole.GP_TEAM_LEAD: "lead_a",
    AppRole.GP: "gp_a",
    AppRole.NURSE: "nurse_a",
    AppRole.SECRETARY: "secretary_a",
    AppRole.PSYCHOLOGIST: "psychologist_a",
    AppRole.MUNICIPAL_LEAD: "municipal",
    AppRole.CASE_OFFICER: "officer",
    AppRole.ANALYST: "analyst",
}


def test_the_table_covers_every_role_and_action_with_status_and_sources() -> None:
    t = table()
    assert set(t.roles) == {r.value for r in AppRole} | {SYSTEM_ROLE}
    assert set(t.rules) == set(Action)
    for rule in t.rules.values():
        assert rule.status in {"C", "D", "A"} and rule.sources
    # what the scheme's roles say in words
    assert t.value("secretary", Action.VIEW_CLINICAL) == "no"
    assert t.value("secretary", Action.LOG_ACTIVITY) == "no"
    assert t.value("secretary", Action.INVITE) == YES
    assert t.value("psychologist", Action.VIEW_CLINICAL) == GRANT


def test_role_by_action_matrix(users: Any) -> None:
    """Every role × every action, against the table; in the user's own practice only."""
    t = table()
    for role, key in ROLE_USERS.items():
        user = users[key]
        for action in Action:
            expected = t.value(role, action) == YES  # "grant" is no until granted
            got = allowed(user, action, practice_id=user.profile.practice_id)
            assert got == expected, (role, action)
            if user.profile.practice_id is not None:  # another practice: never
                assert not allowed(user, action, practice_id="999999999"), (role, action)


def test_the_psychologist_sees_what_the_practice_grants(client: Any, users: Any) -> None:
    psychologist, lead, nurse = users["psychologist_a"], users["lead_a"], users["nurse_a"]
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).first()
    assert patient is not None
    url = reverse("care:activity_create", kwargs={"uid": patient.uid})
    client_for(client, psychologist)
    assert client.get(url).status_code == 403
    with pytest.raises(PermissionDenied):  # the nurse may not grant
        account_actions.do_grant(user=nurse, role="psychologist", action=Action.VIEW_CLINICAL)
    for action in (Action.VIEW_CLINICAL, Action.LOG_ACTIVITY):
        account_actions.do_grant(user=lead, role="psychologist", action=action)
    assert allowed(psychologist, Action.LOG_ACTIVITY, practice_id=PRACTICE_A)
    assert not allowed(psychologist, Action.SAVE_PLAN, practice_id=PRACTICE_A)
    assert client.get(url).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.GRANT, username=lead.username).count() == 2


def test_secretary_handles_recalls_but_sees_no_clinical_notes(client: Any, users: Any) -> None:
    secretary, nurse = users["secretary_a"], users["nurse_a"]
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).first()
    assert patient is not None
    today = clock.today()
    note = "Klinisk notat: blodtrykk 150/95"
    actions.do_log_activity(
        user=nurse, patient=patient, kind="nurse_consultation", date=today, note=note
    )
    client_for(client, secretary)
    page = client.get(reverse("care:patient", kwargs={"uid": patient.uid}))
    assert page.status_code == 200 and patient.name in page.content.decode()
    assert note not in page.content.decode()
    # administrative work: a recall and its invitation
    created = client.post(
        reverse("care:task_create", kwargs={"uid": patient.uid}),
        {
            "title": "Innkalling årskontroll",
            "kind": "annual_check",
            "condition": "diabetes",
            "assigned_role": "secretary",
            "due": (today + dt.timedelta(days=7)).isoformat(),
        },
    )
    assert created.status_code == 302
    task = Task.objects.get(patient=patient, title="Innkalling årskontroll")
    invited = client.post(
        reverse("care:task_invite", kwargs={"pk": task.pk}),
        {"channel": "sms", "sent_on": today.isoformat()},
    )
    assert invited.status_code == 302
    # no clinical activities, annual checks included, on the page or in the action
    before = Activity.objects.count()
    for kind in ("annual_check", "nurse_consultation"):
        response = client.post(
            reverse("care:activity_create", kwargs={"uid": patient.uid}),
            {"kind": kind, "date": today.isoformat(), "condition": "diabetes", "note": "x"},
        )
        assert response.status_code == 403
    assert client.get(reverse("care:plan", kwargs={"uid": patient.uid})).status_code == 403
    with pytest.raises(actions.AccessDenied):
        actions.do_log_activity(
            user=secretary, patient=patient, kind="annual_check", date=today, condition="diabetes"
        )
    assert Activity.objects.count() == before
    # the API shows the secretary no evidence (diagnoses) either
    detail = client.get(f"/api/patients/{patient.uid}").json()
    assert detail["evidence"] == []
    denied = AuditEntry.objects.filter(action=AuditAction.DENIED, username=secretary.username)
    assert denied.count() >= 3
