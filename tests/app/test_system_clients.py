"""Tokens for systems: OAuth 2.0 client credentials scoped per practice and operation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.utils import timezone

from pht.app.accounts.actions import do_create_system_client, do_revoke_system_client
from pht.app.accounts.models import Practice
from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care.models import Patient
from tests.app.bundle import PRACTICE_A, PRACTICE_B


def token_for(client: Any, new: Any, scope: str) -> Any:
    """POST /o/token/ with the client's credentials (client_secret_post)."""
    return client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": new.client_id,
            "client_secret": new.client_secret,
            "scope": scope,
        },
    )


def test_a_practice_scoped_token_reads_its_worklist_and_nothing_else(
    loaded: Any, settings: Any
) -> None:
    practice = Practice.objects.get(pk=PRACTICE_A)
    new = do_create_system_client(
        by="driftsansvarlig", name="ehr-a", practice=practice, scopes=["worklist:read"]
    )
    http = Client()
    assert token_for(http, new, "tasks:write").status_code in (400, 401)  # not its scope
    answer = token_for(http, new, "worklist:read")
    assert answer.status_code == 200, answer.content
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['access_token']}"}
    worklist = http.get("/api/worklist", **bearer)
    assert worklist.status_code == 200 and worklist.json()["total"] > 0
    own = {str(p.uid) for p in Patient.objects.filter(practice_id=PRACTICE_A)}
    assert {row["uid"] for row in worklist.json()["patients"]} <= own
    mine = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).first()
    other = Patient.objects.filter(practice_id=PRACTICE_B).first()
    assert mine is not None and other is not None
    assert http.get(f"/api/patients/{mine.uid}", **bearer).status_code == 200
    assert http.get(f"/api/patients/{other.uid}", **bearer).status_code == 404
    # an operation outside the token's scopes: 403; no CSRF needed for a bearer token
    due = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    task = {"title": "Ring", "due": due, "assigned_role": "nurse"}
    created = http.post(
        f"/api/patients/{mine.uid}/tasks", task, content_type="application/json", **bearer
    )
    assert created.status_code == 403
    # audited under the client's name: reads, the 404 and the refusal
    mine_entries = AuditEntry.objects.filter(username="system:ehr-a")
    assert mine_entries.filter(action=AuditAction.VIEW_WORKLIST).exists()
    assert mine_entries.filter(action=AuditAction.VIEW_PATIENT, person_id=mine.person_id).exists()
    assert mine_entries.filter(action=AuditAction.DENIED).count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.SYSTEM_CLIENT).exists()
    # rate limit per client
    settings.PHT_API_RATE_PER_CLIENT = "2/min"
    answers = [http.get("/api/worklist", **bearer).status_code for _ in range(3)]
    assert answers[-1] == 429
    settings.PHT_API_RATE_PER_CLIENT = "300/min"
    # revoked: every token of it stops working at once, and it gets no new ones
    do_revoke_system_client(by="driftsansvarlig", name="ehr-a", reason="avtalen er sagt opp")
    assert http.get("/api/worklist", **bearer).status_code == 401
    assert token_for(http, new, "worklist:read").status_code in (400, 401)
    assert AuditEntry.objects.filter(action=AuditAction.SYSTEM_CLIENT_REVOKE).exists()


def test_a_token_with_tasks_write_creates_a_task_as_the_system(loaded: Any) -> None:
    practice = Practice.objects.get(pk=PRACTICE_A)
    new = do_create_system_client(
        by="driftsansvarlig",
        name="kommune-sys",
        practice=practice,
        scopes=["worklist:read", "tasks:write"],
    )
    http = Client()
    answer = token_for(http, new, "worklist:read tasks:write")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['access_token']}"}
    mine = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).first()
    assert mine is not None
    due = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    created = http.post(
        f"/api/patients/{mine.uid}/tasks",
        {"title": "Ring etter utskrivning", "due": due, "assigned_role": "nurse"},
        content_type="application/json",
        **bearer,
    )
    assert created.status_code == 201, created.content
    entry = AuditEntry.objects.get(action=AuditAction.CREATE_TASK)
    assert entry.username == "system:kommune-sys" and entry.person_id == mine.person_id
    # the standard revocation endpoint revokes the one token
    revoked = http.post(
        "/o/revoke_token/",
        {
            "token": answer.json()["access_token"],
            "client_id": new.client_id,
            "client_secret": new.client_secret,
        },
    )
    assert revoked.status_code == 200
    assert http.get("/api/worklist", **bearer).status_code == 401


def test_every_api_read_asks_the_permission_table(loaded: Any, users: Any) -> None:
    """Plans, checks and survey answers are clinical (a system and the secretary see none),
    recalls are tasks (the secretary's, not a system's), staffing is a dashboard."""
    from pht.app.care import actions, clock
    from tests.app.conftest import client_for

    practice = Practice.objects.get(pk=PRACTICE_A)
    new = do_create_system_client(
        by="driftsansvarlig", name="ehr-a", practice=practice, scopes=["worklist:read"]
    )
    http = Client()
    access = token_for(http, new, "worklist:read").json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).first()
    assert patient is not None
    actions.do_save_plan(
        user=users["nurse_a"],
        patient=patient,
        goal="Gå tur",
        responsible=users["nurse_a"],
        contact_interval_months=3,
        next_due=clock.today() + dt.timedelta(days=7),
        partners=[],
    )
    clinical = [
        f"/api/patients/{patient.uid}/plan",
        f"/api/patients/{patient.uid}/checks",
        f"/api/patients/{patient.uid}/questionnaire-responses",
    ]
    for url in [*clinical, "/api/recalls", f"/api/practices/{PRACTICE_A}/staffing"]:
        assert http.get(url, **bearer).status_code == 403, url
    assert (
        AuditEntry.objects.filter(action=AuditAction.DENIED, username="system:ehr-a").count() == 5
    )
    secretary = client_for(Client(), users["secretary_a"])
    for url in clinical:
        assert secretary.get(url).status_code == 403, url
    assert secretary.get("/api/recalls").status_code == 200  # recalls are the secretary's work
    nurse = client_for(Client(), users["nurse_a"])
    for url in clinical:
        assert nurse.get(url).status_code == 200, url
