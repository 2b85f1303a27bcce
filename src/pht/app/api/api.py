"""The team's HTTP API: worklist, patient, tasks — thin over the same queries and actions.

Session authentication (with CSRF on writes) as the pages; the same object-level rules (404
for another practice's patient, 403 without patient-level access) and the same audit entries,
because every read is recorded and every change goes through :mod:`pht.app.care.actions`.
The OpenAPI schema is at ``/api/openapi.json`` (no interactive docs page: it would need inline
scripts, which the Content-Security-Policy forbids).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import HttpError
from ninja.security import django_auth

from pht.app.accounts.access import practice_of, profile_of
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care import actions
from pht.app.care.models import Patient, Task
from pht.app.care.views import VIEW_REASON, worklist_queryset

api = NinjaAPI(
    title="pht team API",
    version="1",
    description="Worklists, patients and tasks of a primary health team (session auth).",
    auth=django_auth,
    urls_namespace="api",
    docs_url=None,
)


class WorklistFilters(Schema):
    """Filters of the worklist (all optional)."""

    target_group: str = ""
    condition: str = ""
    risk_band: str = ""
    frailty_band: str = ""
    overdue: bool = False
    no_plan: bool = False
    q: str = ""
    sort: str = "rank"
    page: int = 1


class PatientRow(Schema):
    """A patient on the worklist."""

    uid: UUID
    name: str
    birth_date: dt.date
    rank: int | None
    reasons: str
    target_groups: list[str]
    conditions: list[str]
    frailty_band: str
    risk: float | None
    risk_band: str
    annual_check_overdue: bool


class Worklist(Schema):
    """One page of the worklist."""

    total: int
    page: int
    pages: int
    patients: list[PatientRow]


class EvidenceOut(Schema):
    """Why a patient is in a target group."""

    target_group: str
    condition: str
    code: str
    code_system: str
    evidence_date: dt.date | None


class TaskOut(Schema):
    """A task or recall."""

    id: int
    title: str
    kind: str
    condition: str
    due: dt.date
    status: str
    assigned_user: str | None
    assigned_role: str


class PatientDetail(PatientRow):
    """A patient with evidence and tasks."""

    sex: str
    efi: float | None
    evidence: list[EvidenceOut]
    tasks: list[TaskOut]


class TaskIn(Schema):
    """A new task: to a team member (user name) or a role."""

    title: str
    due: dt.date
    kind: str = "task"
    condition: str = ""
    assigned_username: str | None = None
    assigned_role: str = ""


class CompleteIn(Schema):
    """Completing a task."""

    note: str = ""


class FieldError(Schema):
    """A rule broken by the input, naming its field."""

    field: str | None
    message: str


def _team(request: HttpRequest) -> Any:
    profile = profile_of(request.user)
    if profile is None or not profile.sees_patients:
        raise HttpError(403, "no patient-level access")
    return practice_of(request.user)


def _row(p: Patient) -> dict[str, Any]:
    return {
        "uid": p.uid,
        "name": p.name,
        "birth_date": p.birth_date,
        "rank": p.rank,
        "reasons": p.reasons,
        "target_groups": p.target_group_list(),
        "conditions": p.condition_list(),
        "frailty_band": p.frailty_band,
        "risk": p.risk,
        "risk_band": p.risk_band,
        "annual_check_overdue": p.annual_check_overdue,
    }


def _task(t: Task) -> dict[str, Any]:
    return {
        "id": t.pk,
        "title": t.title,
        "kind": t.kind,
        "condition": t.condition,
        "due": t.due,
        "status": t.status,
        "assigned_user": t.assigned_user.get_username() if t.assigned_user else None,
        "assigned_role": t.assigned_role,
    }


@api.get("/worklist", response=Worklist, summary="The practice's ranked worklist")
def worklist(request: HttpRequest, filters: Query[WorklistFilters]) -> dict[str, Any]:
    """One page of the practice's worklist, filtered as on the worklist page."""
    practice = _team(request)
    data = filters.dict()
    paginator = Paginator(worklist_queryset(practice, data), settings.PHT_PAGE_SIZE)
    page = paginator.get_page(filters.page)
    record(
        user=request.user,
        action=AuditAction.SEARCH if filters.q else AuditAction.VIEW_WORKLIST,
        reason=VIEW_REASON,
        detail={"api": True, "filters": {k: v for k, v in data.items() if v}},
        request=request,
    )
    return {
        "total": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "patients": [_row(p) for p in page.object_list],
    }


@api.get("/patients/{uid}", response=PatientDetail, summary="One patient of the practice")
def patient(request: HttpRequest, uid: UUID) -> dict[str, Any]:
    """The patient (404 for any patient outside the user's practice); the view is audited."""
    practice = _team(request)
    p = get_object_or_404(Patient, uid=uid, practice=practice)
    actions.do_view_patient(user=request.user, patient=p, reason=VIEW_REASON, request=request)
    return {
        **_row(p),
        "sex": p.sex,
        "efi": p.efi,
        "evidence": list(p.evidence.values(*EvidenceOut.model_fields)),
        "tasks": [_task(t) for t in p.tasks.select_related("assigned_user")],
    }


@api.post(
    "/patients/{uid}/tasks",
    response={201: TaskOut, 422: FieldError},
    summary="Create a task or recall",
)
def create_task(request: HttpRequest, uid: UUID, body: TaskIn) -> Any:
    """Create a task for a member (by user name) or a role; rules as on the page."""
    practice = _team(request)
    p = get_object_or_404(Patient, uid=uid, practice=practice)
    assignee = None
    if body.assigned_username:
        assignee = get_user_model().objects.filter(username=body.assigned_username).first()
        if assignee is None:
            return Status(422, {"field": "assigned_username", "message": "Ukjent bruker."})
    try:
        task = actions.do_create_task(
            user=request.user,
            patient=p,
            title=body.title,
            due=body.due,
            kind=body.kind,
            condition=body.condition,
            assigned_user=assignee,
            assigned_role=body.assigned_role,
        )
    except actions.ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    return Status(201, _task(task))


@api.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut, 422: FieldError},
    summary="Mark a task done",
)
def complete_task(request: HttpRequest, task_id: int, body: CompleteIn) -> Any:
    """Mark a task of the practice done."""
    practice = _team(request)
    task = get_object_or_404(Task, pk=task_id, patient__practice=practice)
    try:
        actions.do_complete_task(user=request.user, task=task, note=body.note)
    except actions.ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    return Status(200, _task(task))


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, exc: PermissionDenied) -> Any:
    return api.create_response(request, {"detail": "forbidden"}, status=403)


from pht.app.api.care import router as care_router  # noqa: E402  (the care room's endpoints)

api.add_router("", care_router)
