"""The team's daily work through the API: recalls, invitations, annual checks, plans.

The same access rules, actions and audit entries as the pages; a check's values go through
:func:`pht.app.care.checks.clean_values` exactly as the page's form does (one schema, from
reference data), and a broken rule answers 422 ``{field, message}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from pht.app.accounts.access import practice_of, profile_of
from pht.app.accounts.permissions import Action, require
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care import actions, checks, clock
from pht.app.care.models import (
    OPEN_STATUSES,
    RECALL_KINDS,
    AnnualCheck,
    FollowUpPlan,
    Patient,
    Task,
)
from pht.app.care.views import VIEW_REASON
from pht.app.care.work_views import recall_queryset

router = Router(tags=["care"])


class FieldError(Schema):
    """A rule broken by the input, naming its field."""

    field: str | None
    message: str


class InvitationOut(Schema):
    """An invitation sent for a recall."""

    number: int
    channel: str
    sent_on: dt.date
    by: str


class RecallOut(Schema):
    """A recall with its patient and invitations."""

    id: int
    patient_uid: UUID
    patient_name: str
    title: str
    kind: str
    condition: str
    due: dt.date
    status: str
    invitations: list[InvitationOut]


class RecallQuery(Schema):
    """Filters of the recall register."""

    status: Literal["open", "closed", "all"] = "open"
    condition: str = ""
    due: Literal["", "overdue", "month", "later"] = ""


#: Largest id a database row can have (a bigger number is a 422, not an overflow).
_MAX_ID = 2**31 - 1


class InviteIn(Schema):
    """Invite several recalls in one action."""

    tasks: list[Annotated[int, Field(ge=1, le=_MAX_ID)]] = Field(min_length=1, max_length=500)
    channel: str
    sent_on: dt.date


class CloseIn(Schema):
    """Close a recall without the check."""

    status: Literal["no_answer", "declined"]
    note: str = ""


class CheckIn(Schema):
    """A structured annual check: values keyed by the condition's items (see /checks/specs)."""

    condition: str
    date: dt.date
    values: dict[str, Any]
    note: str = ""


class CheckOut(Schema):
    """A recorded annual check."""

    id: int
    condition: str
    date: dt.date
    values: dict[str, Any]
    source: str
    recalls_closed: list[int] = []


class CheckItemOut(Schema):
    """One item of a condition's check."""

    key: str
    label: str
    kind: str
    unit: str
    min: float | None
    max: float | None
    decimals: int
    required: bool
    choices: list[str]


class CheckSpecOut(Schema):
    """A condition's annual check with its source."""

    condition: str
    label: str
    status: str
    source: str
    items: list[CheckItemOut]


class ReviewIn(Schema):
    """A review of a plan."""

    date: dt.date
    went_well: str
    new_goal: str = ""


class ReviewOut(Schema):
    """A review of a plan."""

    date: dt.date
    went_well: str
    new_goal: str
    by: str


class EndIn(Schema):
    """Ending a plan."""

    reason: str
    date: dt.date


class PlanOut(Schema):
    """A follow-up plan with its reviews."""

    goal: str
    responsible: str
    contact_interval_months: int
    next_due: dt.date
    partners: list[str]
    active: bool
    ended_on: dt.date | None
    end_reason: str
    reviews: list[ReviewOut]


def _team(request: HttpRequest, action: Action) -> Any:
    """The caller's practice, if the permission table (and, for a system, its token's scopes)
    allow *action*; 403 otherwise (audited)."""
    require(request.user, action, request=request, what={"api": True})
    profile = profile_of(request.user)
    if profile is None or not profile.sees_patients:
        raise HttpError(403, "no patient-level access")
    return practice_of(request.user)


def _recall(t: Task) -> dict[str, Any]:
    return {
        "id": t.pk,
        "patient_uid": t.patient.uid,
        "patient_name": t.patient.name,
        "title": t.title,
        "kind": t.kind,
        "condition": t.condition,
        "due": t.due,
        "status": t.status,
        "invitations": [
            {"number": i.number, "channel": i.channel, "sent_on": i.sent_on, "by": i.by.username}
            for i in t.invitations.all()
        ],
    }


def _plan(p: FollowUpPlan) -> dict[str, Any]:
    return {
        "goal": p.goal,
        "responsible": p.responsible.get_username(),
        "contact_interval_months": p.contact_interval_months,
        "next_due": p.next_due,
        "partners": list(p.partners),
        "active": p.active,
        "ended_on": p.ended_on,
        "end_reason": p.end_reason,
        "reviews": [
            {"date": r.date, "went_well": r.went_well, "new_goal": r.new_goal, "by": r.by.username}
            for r in p.reviews.select_related("by")
        ],
    }


@router.get("/recalls", response=list[RecallOut], summary="The practice's recall register")
def recalls(request: HttpRequest, q: Query[RecallQuery]) -> list[dict[str, Any]]:
    """Recalls of the practice (open by default) with their invitations."""
    practice = _team(request, Action.VIEW_TASKS)
    today = clock.today()
    data = {"condition": q.condition, "due": q.due}
    if q.status == "open":
        qs = recall_queryset(practice, data, today)
    else:
        qs = Task.objects.filter(patient__practice=practice, kind__in=RECALL_KINDS)
        if q.status == "closed":
            qs = qs.exclude(status__in=OPEN_STATUSES)
        if q.condition:
            qs = qs.filter(condition=q.condition)
        qs = qs.select_related("patient").prefetch_related("invitations__by").order_by("due", "pk")
    rows = [_recall(t) for t in qs[:1000]]
    record(
        user=request.user,
        action=AuditAction.VIEW_DUE_LIST,
        reason=VIEW_REASON,
        detail={"api": True, "register": "recalls", "status": q.status, "shown": len(rows)},
        request=request,
    )
    return rows


@router.post(
    "/recalls/invite",
    response={200: list[RecallOut], 422: FieldError},
    summary="Invite several recalls in one action",
)
def invite(request: HttpRequest, body: InviteIn) -> Any:
    """One invitation per recall (all or none); letters are printed from the register page."""
    practice = _team(request, Action.INVITE)
    tasks = list(
        Task.objects.filter(pk__in=body.tasks, patient__practice=practice).select_related("patient")
    )
    if len(tasks) != len(set(body.tasks)):
        return Status(422, {"field": "tasks", "message": "Ukjent innkalling."})
    from pht.app.care.sending import available

    if body.channel not in available() and body.channel != "phone":
        return Status(422, {"field": "channel", "message": "Denne kanalen er ikke satt opp."})
    try:
        actions.do_invite_many(
            user=request.user, tasks=tasks, channel=body.channel, sent_on=body.sent_on
        )
    except actions.ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    return Status(200, [_recall(t) for t in tasks])


@router.post(
    "/recalls/{task_id}/close",
    response={200: RecallOut, 422: FieldError},
    summary="Close a recall as no answer or declined",
)
def close(
    request: HttpRequest, task_id: Annotated[int, Path(ge=1, le=_MAX_ID)], body: CloseIn
) -> Any:
    """Close as "ikke svart" (after the third invitation) or "reservert seg"."""
    practice = _team(request, Action.COMPLETE_TASK)
    task = get_object_or_404(Task, pk=task_id, patient__practice=practice)
    try:
        actions.do_close_recall_unanswered(
            user=request.user, task=task, status=body.status, note=body.note
        )
    except actions.ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    return Status(200, _recall(task))


@router.get("/checks/specs", response=list[CheckSpecOut], summary="Annual checks per condition")
def check_specs(request: HttpRequest) -> list[dict[str, Any]]:
    """The items of each condition's annual check, with their source (reference data)."""
    _team(request, Action.VIEW_PATIENT)
    return [
        {
            "condition": s.condition,
            "label": s.label(),
            "status": s.status,
            "source": checks.source_text(s.source),
            "items": [
                {
                    "key": i.key,
                    "label": i.label(),
                    "kind": i.kind,
                    "unit": i.unit,
                    "min": i.min,
                    "max": i.max,
                    "decimals": i.decimals,
                    "required": i.required,
                    "choices": [c[0] for c in i.choices],
                }
                for i in s.items
            ],
        }
        for s in checks.specs().values()
    ]


@router.post(
    "/patients/{uid}/checks",
    response={201: CheckOut, 422: FieldError},
    summary="Record an annual check",
)
def record_check(request: HttpRequest, uid: UUID, body: CheckIn) -> Any:
    """Record a structured annual check; the patient's open recall for it closes at once."""
    practice = _team(request, Action.LOG_ACTIVITY)
    patient = get_object_or_404(Patient, uid=uid, practice=practice)
    try:
        check = actions.do_record_annual_check(
            user=request.user,
            patient=patient,
            condition=body.condition,
            date=body.date,
            values=body.values,
            note=body.note,
        )
    except actions.ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    return Status(
        201,
        {
            "id": check.pk,
            "condition": check.condition,
            "date": check.date,
            "values": check.values,
            "source": check.source,
            "recalls_closed": check.closed_recalls,
        },
    )


@router.get("/patients/{uid}/checks", response=list[CheckOut], summary="A patient's checks")
def patient_checks(request: HttpRequest, uid: UUID) -> list[dict[str, Any]]:
    """The annual checks recorded for the patient, newest first."""
    practice = _team(request, Action.VIEW_CLINICAL)
    patient = get_object_or_404(Patient, uid=uid, practice=practice)
    actions.do_view_patient(user=request.user, patient=patient, reason=VIEW_REASON, request=request)
    return [
        {
            "id": c.pk,
            "condition": c.condition,
            "date": c.date,
            "values": c.values,
            "source": c.source,
        }
        for c in AnnualCheck.objects.filter(patient=patient)
    ]


def _patient_plan(request: HttpRequest, uid: UUID, action: Action) -> FollowUpPlan:
    practice = _team(request, action)
    patient = get_object_or_404(Patient, uid=uid, practice=practice)
    return get_object_or_404(FollowUpPlan.objects.select_related("responsible"), patient=patient)


@router.get("/patients/{uid}/plan", response=PlanOut, summary="A patient's plan with reviews")
def plan(request: HttpRequest, uid: UUID) -> dict[str, Any]:
    """The follow-up plan with its reviews."""
    p = _patient_plan(request, uid, Action.VIEW_CLINICAL)
    actions.do_view_patient(
        user=request.user, patient=p.patient, reason=VIEW_REASON, request=request
    )
    return _plan(p)


@router.post(
    "/patients/{uid}/plan/reviews",
    response={201: PlanOut, 422: FieldError},
    summary="Review a plan",
)
def review(request: HttpRequest, uid: UUID, body: ReviewIn) -> Any:
    """Add a review (what went well, a new goal in the patient's words)."""
    p = _patient_plan(request, uid, Action.SAVE_PLAN)
    try:
        actions.do_review_plan(user=request.user, plan=p, **body.dict())
    except actions.ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    p.refresh_from_db()
    return Status(201, _plan(p))


@router.post(
    "/patients/{uid}/plan/end", response={200: PlanOut, 422: FieldError}, summary="End a plan"
)
def end(request: HttpRequest, uid: UUID, body: EndIn) -> Any:
    """End the plan with a reason."""
    p = _patient_plan(request, uid, Action.SAVE_PLAN)
    try:
        actions.do_end_plan(user=request.user, plan=p, reason=body.reason, date=body.date)
    except actions.ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    return Status(200, _plan(p))
