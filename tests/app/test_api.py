"""The HTTP API: OpenAPI schema, same access rules, same actions and audit as the pages."""

from __future__ import annotations

from typing import Any

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care import clock
from pht.app.care.models import Patient, Task, TaskStatus
from tests.app.bundle import PRACTICE_A, PRACTICE_B
from tests.app.conftest import client_for


def test_openapi_schema_lists_the_endpoints(client: Any, db: Any) -> None:
    schema = client.get("/api/openapi.json").json()
    assert {"/api/worklist", "/api/patients/{uid}", "/api/patients/{uid}/tasks"} <= set(
        schema["paths"]
    )


def test_api_needs_a_session_and_patient_access(client: Any, users: Any) -> None:
    assert client.get("/api/worklist").status_code == 401
    client_for(client, users["analyst"])
    assert client.get("/api/worklist").status_code == 403


def test_worklist_and_patient_follow_the_practice_rules(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    data = client.get("/api/worklist", {"condition": "diabetes"}).json()
    own = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True)
    assert data["total"] == own.filter(conditions__contains="|diabetes|").count()
    assert {p["uid"] for p in data["patients"]} <= {str(p.uid) for p in own}
    other = Patient.objects.filter(practice_id=PRACTICE_B).first()
    assert other is not None
    assert client.get(f"/api/patients/{other.uid}").status_code == 404
    mine = own.first()
    assert mine is not None
    detail = client.get(f"/api/patients/{mine.uid}").json()
    assert detail["name"] == mine.name and detail["evidence"]
    assert AuditEntry.objects.filter(action=AuditAction.VIEW_PATIENT, person_id=mine.person_id)


def test_create_and_complete_task_through_the_api(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    patient = Patient.objects.filter(practice_id=PRACTICE_A).first()
    assert patient is not None
    url = f"/api/patients/{patient.uid}/tasks"
    bad = client.post(
        url, {"title": "Ring", "due": str(clock.today())}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["field"] == "assigned_username"
    assert not Task.objects.exists()
    ok = client.post(
        url,
        {"title": "Ring", "due": str(clock.today()), "assigned_role": "secretary"},
        content_type="application/json",
    )
    assert ok.status_code == 201
    task_id = ok.json()["id"]
    done = client.post(f"/api/tasks/{task_id}/complete", {}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == TaskStatus.DONE
