"""The team's HTTP API: worklist, patient, tasks — thin over the same queries and actions.

Two ways in: the browser's session (with CSRF on writes), as the pages, or a system's bearer
token (OAuth 2.0 client credentials, :mod:`pht.app.accounts.systems`), scoped to one practice
and to operations. The same permission table (:mod:`pht.app.accounts.permissions`), the same
object-level rules (404 for another practice's patient, 403 for an action the role or the
token's scopes do not allow) and the same audit entries, because every read is recorded and
every change goes through :mod:`pht.app.care.actions`. Input is checked by the pages' forms
(:class:`~pht.app.care.forms.TaskForm`: one schema), so bad input is a 422 naming its field,
never a 5xx. Requests are throttled per system client and per user (429). The OpenAPI schema
is at ``/api/openapi.json`` (no interactive docs page: it would need inline scripts, which the
Content-Security-Policy forbids); every refusal's body is documented there.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, NinjaAPI, Path, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.security import django_auth

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import PRACTICE_ROLES
from pht.app.accounts.permissions import Action, allowed, require
from pht.app.accounts.systems import ClientRateThrottle, SystemToken, UserRateThrottle
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care import actions
from pht.app.care.forms import CompleteForm, TaskForm, WorklistFilter
from pht.app.care.models import ConditionChoice, Patient, Task, TaskKind
from pht.app.care.views import VIEW_REASON, worklist_queryset


class Refusal(Schema):
    """A refusal: not signed in (401), not allowed (403), not found (404), too many (429)."""

    detail: str


class FieldError(Schema):
    """A rule broken by the input, naming its field."""

    field: str | None
    message: str


#: The refusals every operation can answer, documented in the schema.
REFUSALS: dict[int, Any] = {401: Refusal, 403: Refusal, 429: Refusal}
REFUSAL_BODIES: dict[int, Any] = {**REFUSALS, 404: Refusal, 422: FieldError}


class TeamAPI(NinjaAPI):
    """The API; every operation's schema documents the refusals every operation can answer
    (401, 403, 404, 422, 429 with their bodies), whichever router it comes from."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        for bound in self._get_bound_routers():
            for path_view in bound.path_operations.values():
                for operation in path_view.operations:
                    models = operation.response_models
                    if len(models) == 1 and 200 not in models:
                        continue  # a single non-200 answer: adding codes would change it
                    for code, model in REFUSAL_BODIES.items():
                        if code not in models:
                            models[code] = operation._create_response_model(model)
        return super().get_openapi_schema(**kwargs)


api = TeamAPI(
    title="pht team API",
    version="1",
    description=(
        "Worklists, patients and tasks of a primary health team. Signed-in users (session) "
        "or systems with an OAuth 2.0 client-credentials token (Bearer; scopes worklist:read, "
        "tasks:write, extracts:load) scoped to one practice."
    ),
    auth=[SystemToken(), django_auth],
    throttle=[ClientRateThrottle(), UserRateThrottle()],
    urls_namespace="api",
    docs_url=None,
)


#: Text without NUL characters (PostgreSQL refuses them; the forms do too).
NO_NUL = r"^[^\x00]*$"


def _choices(field: str, form: Any = WorklistFilter) -> Any:
    """The values a form's choice field accepts, as a Literal type (one schema with the form)."""
    values = tuple(str(v) for v, _ in form.base_fields[field].choices)
    return Literal[values]  # type: ignore[valid-type]


class WorklistFilters(Schema):
    """Filters of the worklist (all optional), the worklist page's form."""

    target_group: _choices("target_group") = ""  # type: ignore[valid-type]
    condition: _choices("condition") = ""  # type: ignore[valid-type]
    risk_band: _choices("risk_band") = ""  # type: ignore[valid-type]
    frailty_band: _choices("frailty_band") = ""  # type: ignore[valid-type]
    overdue: bool = False
    no_plan: bool = False
    q: Annotated[str, Field(max_length=100, pattern=NO_NUL)] = ""
    sort: _choices("sort") = "rank"  # type: ignore[valid-type]
    page: Annotated[int, Field(ge=1, le=100_000)] = 1


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


_TEAM_ROLES = ("", *sorted(r.value for r in PRACTICE_ROLES))
#: Largest id a database row can have (a bigger number is a 422, not an overflow).
MAX_ID = 2**31 - 1


class TaskIn(Schema):
    """A new task: to a team member (user name) or a role; the new-task form's fields."""

    title: Annotated[str, Field(min_length=1, max_length=TaskForm.base_fields["title"].max_length)]
    due: dt.date
    kind: Literal[tuple(TaskKind.values)] = "task"  # type: ignore[valid-type]
    condition: Literal[("", *ConditionChoice.values)] = ""  # type: ignore[valid-type]
    assigned_username: Annotated[str, Field(max_length=150, pattern=NO_NUL)] | None = None
    assigned_role: Literal[_TEAM_ROLES] = ""  # type: ignore[valid-type]


class CompleteIn(Schema):
    """Completing a task (the completion form's note)."""

    note: Annotated[str, Field(max_length=300, pattern=NO_NUL)] = ""


def _team(request: HttpRequest, action: Action = Action.VIEW_WORKLIST) -> Any:
    """The practice whose data the caller may see, if the permission table (and, for a system,
    its token's scopes) allow *action*; 403 otherwise (audited)."""
    require(request.user, action, request=request, what={"api": True})
    profile = profile_of(request.user)
    if profile is None or not profile.sees_patients:  # the table allows it only with a practice
        raise HttpError(403, "no patient-level access")
    return profile.practice


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


@api.get(
    "/worklist",
    response={200: Worklist, 422: FieldError, **REFUSALS},
    summary="The practice's ranked worklist",
)
def worklist(request: HttpRequest, filters: Query[WorklistFilters]) -> dict[str, Any]:
    """One page of the practice's worklist, filtered as on the worklist page."""
    practice = _team(request, Action.VIEW_WORKLIST)
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


@api.get(
    "/patients/{uid}",
    response={200: PatientDetail, 404: Refusal, 422: FieldError, **REFUSALS},
    summary="One patient of the practice",
)
def patient(request: HttpRequest, uid: UUID) -> dict[str, Any]:
    """The patient (404 for any patient outside the caller's practice); the view is audited.
    The evidence (diagnoses) only for roles that see clinical data."""
    practice = _team(request, Action.VIEW_PATIENT)
    p = get_object_or_404(Patient, uid=uid, practice=practice)
    actions.do_view_patient(user=request.user, patient=p, reason=VIEW_REASON, request=request)
    clinical = allowed(request.user, Action.VIEW_CLINICAL, practice_id=p.practice_id)
    return {
        **_row(p),
        "sex": p.sex,
        "efi": p.efi,
        "evidence": list(p.evidence.values(*EvidenceOut.model_fields)) if clinical else [],
        "tasks": [_task(t) for t in p.tasks.select_related("assigned_user")],
    }


def _form_error(form: Any) -> dict[str, Any]:
    """The first error of a form as the API's 422 body (the field named as in the API)."""
    field, errors = next(iter(form.errors.items()))
    names = {"assigned_user": "assigned_username", "__all__": None}
    return {"field": names.get(field, field), "message": str(errors[0])}


@api.post(
    "/patients/{uid}/tasks",
    response={201: TaskOut, 400: Refusal, 404: Refusal, 422: FieldError, **REFUSALS},
    summary="Create a task or recall",
)
def create_task(request: HttpRequest, uid: UUID, body: TaskIn) -> Any:
    """Create a task for a member (by user name) or a role; the new-task form checks the input
    and the action the rules, as on the page."""
    practice = _team(request, Action.CREATE_TASK)
    p = get_object_or_404(Patient, uid=uid, practice=practice)
    assignee = None
    if body.assigned_username:
        assignee = get_user_model().objects.filter(username=body.assigned_username).first()
        if assignee is None:
            return Status(422, {"field": "assigned_username", "message": "Ukjent bruker."})
    form = TaskForm(
        {
            "title": body.title,
            "kind": body.kind,
            "condition": body.condition,
            "assigned_user": "" if assignee is None else str(assignee.pk),
            "assigned_role": body.assigned_role,
            "due": body.due.isoformat(),
        },
        practice=practice,
    )
    if not form.is_valid():
        return Status(422, _form_error(form))
    try:
        task = actions.do_create_task(user=request.user, patient=p, **form.cleaned_data)
    except actions.ActionError as err:
        return Status(422, {"field": _api_field(err.field), "message": err.message})
    return Status(201, _task(task))


def _api_field(field: str | None) -> str | None:
    return "assigned_username" if field == "assigned_user" else field


@api.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut, 400: Refusal, 404: Refusal, 422: FieldError, **REFUSALS},
    summary="Mark a task done",
)
def complete_task(
    request: HttpRequest, task_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: CompleteIn
) -> Any:
    """Mark a task of the practice done (the completion form checks the note)."""
    practice = _team(request, Action.COMPLETE_TASK)
    task = get_object_or_404(Task, pk=task_id, patient__practice=practice)
    form = CompleteForm({"note": body.note})
    if not form.is_valid():
        return Status(422, _form_error(form))
    try:
        actions.do_complete_task(user=request.user, task=task, **form.cleaned_data)
    except actions.ActionError as err:
        return Status(422, {"field": _api_field(err.field), "message": err.message})
    return Status(200, _task(task))


from pht.app.api.leaders import router as leaders_router  # noqa: E402

api.add_router("", leaders_router)


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, exc: PermissionDenied) -> Any:
    return api.create_response(request, {"detail": "forbidden"}, status=403)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> Any:
    """Input that does not fit the schema: 422 naming the first field (as the forms do)."""
    first = exc.errors[0] if exc.errors else {}
    loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path", "payload")]
    field = loc[-1] if loc else None
    message = str(first.get("msg", "Ugyldig verdi."))
    return api.create_response(request, {"field": field, "message": message}, status=422)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> Any:
    return api.create_response(request, {"detail": "Unauthorized"}, status=401)


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> Any:
    return api.create_response(request, {"detail": "Too many requests"}, status=429)


from pht.app.api.surveys import router as surveys_router  # noqa: E402 (after the API exists)

api.add_router("", surveys_router)


from pht.app.api.care import router as care_router  # noqa: E402  (the care room's endpoints)

api.add_router("", care_router)

from pht.app.api.registry import router as registry_router  # noqa: E402  (extracts:load)

api.add_router("", registry_router)
