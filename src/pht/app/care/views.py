"""Views of the team's work: thin — parse input, read with the access rules, call the actions."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_POST

from pht.app.accounts.access import patient_access_required, practice_of, profile_of
from pht.app.accounts.permissions import Action, allowed, permission_required
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care import actions, checks, clock, codes
from pht.app.care.forms import (
    ActivityForm,
    CompleteForm,
    InvitationForm,
    PlanForm,
    TaskForm,
    WorklistFilter,
    team_members,
)
from pht.app.care.models import (
    OPEN_STATUSES,
    Band,
    ConditionChoice,
    FollowUpPlan,
    Patient,
    RiskBand,
    TargetGroupChoice,
    Task,
    TaskKind,
    TimelineKind,
)
from pht.app.care.rows import evidence_rows, task_rows, timeline_rows
from pht.app.surveys.needs import survey_needs

VIEW_REASON = "oppfølging i teamet"

#: rows per page of a register (the recall register, a due list's tasks due now): a practice's
#: secretary can have hundreds of open recalls, and rendering them all on every view cost about
#: 50 ms of CPU per request (233 recalls, the demo's largest practice)
REGISTER_PAGE_SIZE = 50
#: tasks due later shown on the due list (the page says when there are more)
LATER_SHOWN = 20


def _patient(request: HttpRequest, uid: Any, *related: str) -> Patient:
    """The patient *uid* of the user's own practice; 404 for any other (whatever the URL).
    *related*: more relations to read in the same query."""
    practice = practice_of(request.user)
    return get_object_or_404(
        Patient.objects.select_related("practice", "gp", *related), uid=uid, practice=practice
    )


def _task(request: HttpRequest, pk: int) -> Task:
    practice = practice_of(request.user)
    return get_object_or_404(
        Task.objects.select_related("patient", "patient__practice"),
        pk=pk,
        patient__practice=practice,
    )


def _apply_action_error(form: Any, err: actions.ActionError) -> None:
    field = err.field if err.field in form.fields else None
    form.add_error(field, err.message)


def _next_url(request: HttpRequest, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return default


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Team members land on their due list; others on the dashboards."""
    profile = profile_of(request.user)
    if profile is None or not profile.sees_patients:
        return redirect("dashboards:index")
    return due_list(request)


def _due_tasks(request: HttpRequest) -> QuerySet[Task]:
    profile = profile_of(request.user)
    assert profile is not None
    return (
        Task.objects.filter(patient__practice_id=profile.practice_id, status__in=OPEN_STATUSES)
        .filter(Q(assigned_user=request.user) | Q(assigned_role=profile.role))
        .select_related("patient", "assigned_user")
        .annotate(invitation_count=Count("invitations"))
        .order_by("due", "id")
    )


@patient_access_required
def due_list(request: HttpRequest) -> HttpResponse:
    """The user's due list (own tasks and their role's) and patients flagged without a plan."""
    practice = practice_of(request.user)
    today = clock.today()
    page = Paginator(_due_tasks(request).filter(due__lte=today), REGISTER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    due_now = list(page.object_list)
    due_later = list(_due_tasks(request).filter(due__gt=today)[: LATER_SHOWN + 1])
    more_later = len(due_later) > LATER_SHOWN
    due_later = due_later[:LATER_SHOWN]
    plans = list(
        FollowUpPlan.objects.filter(
            patient__practice=practice, patient__listed=True, responsible=request.user, active=True
        )
        .select_related("patient")
        .order_by("next_due", "pk")
    )
    without_plan = list(
        Patient.objects.filter(practice=practice, listed=True, flagged=True, plan__isnull=True)
        .order_by("rank")
        .only("uid", "name", "birth_date", "reasons", "rank", "risk_band", "frailty_band")[:10]
    )
    placeholder = "00000000-0000-0000-0000-000000000000"
    address = reverse("care:patient", kwargs={"uid": placeholder})
    for p in without_plan:  # reversed once, not once per row
        p.page_url = address.replace(placeholder, str(p.uid))  # type: ignore[attr-defined]
    record(
        user=request.user,
        action=AuditAction.VIEW_DUE_LIST,
        reason=VIEW_REASON,
        detail={
            "due_now": page.paginator.count,
            "shown": len(due_now) + len(due_later),
            "page": page.number,
            "plan_contacts": len(plans),
        },
        request=request,
    )
    team = list(team_members(practice)) if due_now or due_later else []
    return render(
        request,
        "care/due_list.html",
        {
            "due_now": due_now,
            "due_later": due_later,
            "page": page,
            "more_later": more_later,
            "due_now_rows": task_rows(
                due_now, request=request, today=today, show_patient=True, team=team
            ),
            "due_later_rows": task_rows(
                due_later, request=request, today=today, show_patient=True, team=team
            ),
            "contacts_now": [p for p in plans if p.next_due <= today],
            "contacts_later": [p for p in plans if p.next_due > today][:20],
            "without_plan": without_plan,
            "today": today,
        },
    )


_DATE_PATTERNS = (
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{2})(\d{2})(\d{4})$"), ("d", "m", "y")),
)


def parse_birth_date(text: str) -> dt.date | None:
    """A birth date typed as 31.12.1950, 1950-12-31 or 31121950; None if it is not one."""
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(text.strip())
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            try:
                return dt.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None
    return None


def worklist_queryset(practice: Any, data: dict[str, Any]) -> QuerySet[Patient]:
    """The practice's patients matching the worklist filters in *data* (cleaned form data)."""
    qs = Patient.objects.filter(practice=practice, listed=True)
    q = (data.get("q") or "").strip()
    if q:
        digits = q.replace(" ", "")
        born = parse_birth_date(q)
        if len(digits) == 11 and digits.isdigit():
            qs = qs.filter(person_id=digits)
        elif born:
            qs = qs.filter(birth_date=born)
        else:
            qs = qs.filter(name__icontains=q)
    else:
        qs = qs.filter(flagged=True)
    if data.get("target_group"):
        qs = qs.filter(target_groups__contains=f"|{data['target_group']}|")
    if data.get("condition"):
        qs = qs.filter(conditions__contains=f"|{data['condition']}|")
    if data.get("risk_band"):
        qs = qs.filter(risk_band=data["risk_band"])
    if data.get("frailty_band"):
        qs = qs.filter(frailty_band=data["frailty_band"])
    if data.get("overdue"):
        # overdue for the chosen condition, or for any condition when none is chosen
        if data.get("condition"):
            qs = qs.filter(overdue_conditions__contains=f"|{data['condition']}|")
        else:
            qs = qs.filter(annual_check_overdue=True)
    if data.get("no_plan"):
        qs = qs.filter(plan__isnull=True)
    member = data.get("member")
    if member is not None:
        open_task_ids = Task.objects.filter(assigned_user=member, status__in=OPEN_STATUSES).values(
            "patient_id"
        )
        qs = qs.filter(Q(plan__responsible=member) | Q(pk__in=open_task_ids))
    # Patients without rank or risk (found by a search) come last on every database (SQLite
    # and PostgreSQL put NULLs at opposite ends), and the primary key breaks ties, so the
    # pages of a sorted list never repeat or skip a patient.
    sort = data.get("sort") or "rank"
    rank = F("rank").asc(nulls_last=True)
    if sort == "risk":
        qs = qs.order_by(F("risk").desc(nulls_last=True), rank, "name", "pk")
    elif sort == "name":
        qs = qs.order_by("name", "birth_date", "pk")
    else:
        qs = qs.order_by(rank, "name", "pk")
    return qs.select_related("plan").only(
        "uid",
        "name",
        "birth_date",
        "sex",
        "rank",
        "reasons",
        "target_groups",
        "conditions",
        "frailty_band",
        "risk",
        "risk_band",
        "annual_check_overdue",
        "overdue_conditions",
        "plan__id",
        "plan__next_due",
        "plan__active",
    )


def worklist_rows(patients: Any) -> SafeString:
    """The worklist table's rows as HTML, built in Python (the template loop cost most of the
    page). Every value is escaped by :func:`format_html`; the labels and the address are made
    once per table, not per row."""
    overdue = gettext("årskontroll forfalt")
    yes, next_ = gettext("ja"), gettext("neste")
    conditions = {k: str(v) for k, v in ConditionChoice.choices}
    groups = {k: str(v) for k, v in TargetGroupChoice.choices}
    bands = {k: str(v) for k, v in Band.choices}
    risks = {k: str(v) for k, v in RiskBand.choices}
    sex = {"F": gettext("kvinne"), "M": gettext("mann"), "K": gettext("kvinne")}
    h_patient, h_reasons, h_groups = gettext("Pasient"), gettext("Grunner"), gettext("Målgrupper")
    h_frailty, h_risk = gettext("Skrøpelighet"), gettext("Risiko for innleggelse")
    h_plan = gettext("Plan")
    placeholder = "00000000-0000-0000-0000-000000000000"
    address = reverse("care:patient", kwargs={"uid": placeholder})
    rows = []
    patients = list(patients)
    needs = survey_needs(p.pk for p in patients)  # e.g. "WHO-5 28 eller lavere"
    for p in patients:
        try:
            plan = p.plan
        except FollowUpPlan.DoesNotExist:
            plan = None
        late = p.overdue_condition_list()
        rows.append(
            format_html(
                '<tr class="patient-row"><td data-label="#">{}</td><td data-label="{}">'
                '<a href="{}" class="patient-link">{}</a><br>'
                '<span class="muted">{} · {}</span></td>'
                '<td data-label="{}">{}{}</td><td data-label="{}">{}</td>'
                '<td data-label="{}">{}</td>'
                '<td data-label="{}">{}{}</td><td data-label="{}">{}</td></tr>',
                "" if p.rank is None else p.rank,
                h_patient,
                address.replace(placeholder, str(p.uid)),
                p.name,
                p.birth_date.strftime("%d.%m.%Y"),
                sex.get(p.sex, p.sex),
                h_reasons,
                "; ".join(x for x in (p.reasons, needs.get(p.pk, "")) if x),
                format_html(
                    ' <span class="badge warn">{}: {}</span>',
                    overdue,
                    ", ".join(conditions.get(c, c) for c in late),
                )
                if late
                else format_html(' <span class="badge warn">{}</span>', overdue)
                if p.annual_check_overdue
                else "",
                h_groups,
                format_html_join(
                    "",
                    '<span class="badge">{}</span>',
                    ((groups.get(g, g),) for g in p.target_group_list()),
                ),
                h_frailty,
                bands.get(p.frailty_band, p.frailty_band),
                h_risk,
                "—" if p.risk is None else f"{p.risk_percent()} %",
                "" if p.risk is None else format_html(" ({})", risks.get(p.risk_band, p.risk_band)),
                h_plan,
                "—"
                if plan is None or not plan.active
                else f"{yes}, {next_} {plan.next_due:%d.%m.%Y}",
            )
        )
    return mark_safe("".join(rows))


def filter_controls(form: WorklistFilter) -> list[dict[str, Any]]:
    """The filter bar as plain data (rendering Django's select widgets costs most of the page)."""
    controls = []
    for name, field in form.fields.items():
        raw = form.data.get(name, "") if form.is_bound else ""
        control: dict[str, Any] = {"name": name, "label": field.label, "id": f"id_{name}"}
        if isinstance(field, forms.BooleanField):
            control.update(kind="checkbox", checked=raw in ("on", "true", "1"))
        elif isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
            choices = (
                [("", "—")] + [(str(u.pk), field.label_from_instance(u)) for u in field.queryset]
                if isinstance(field, forms.ModelChoiceField)
                else list(field.choices)
            )
            control.update(
                kind="select",
                options=[(str(v), label, str(v) == raw) for v, label in choices],
            )
        else:
            control.update(kind="text", value=raw)
        controls.append(control)
    return controls


def _worklist_cache() -> Any:
    """The cache of rendered worklist parts (``CACHES["worklist"]``, else the default)."""
    return caches["worklist"] if "worklist" in settings.CACHES else caches["default"]


def _member_tasks(request: HttpRequest) -> str:
    """For the filter by team member: the patients of the member's open tasks (a task saved
    does not change the practice's data version, see :mod:`pht.app.care.freshness`)."""
    member = request.GET.get("member", "")
    if not member.isdigit():
        return ""
    patients = (
        Task.objects.filter(assigned_user_id=int(member), status__in=OPEN_STATUSES)
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
        .distinct()
    )
    return ",".join(str(p) for p in patients)


def _cache_key(request: HttpRequest, practice: Any, part: str, encoded: str, page: str) -> str:
    """The cache key of a rendered *part* of the worklist for this request.

    It holds the practice and its ``data_version``, which changes with every change of a
    patient, plan or team member (:mod:`pht.app.care.freshness`), so a cached part is never
    older than the last change; the filters, page, language and page size are hashed, and for
    the filter by team member the patients of the member's open tasks.
    """
    tasks = _member_tasks(request) if part == "table" else ""
    raw = "\n".join((encoded, page, get_language(), str(settings.PHT_PAGE_SIZE), tasks))
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return f"pht:worklist:{part}:{practice.pk}:{practice.data_version}:{digest}"


def worklist_table(request: HttpRequest, practice: Any) -> dict[str, Any]:
    """The rendered worklist table for the request's filters and page, with what the audit
    entry records: ``html``, ``action``, ``filters``, ``page`` (number shown), ``shown``.

    Cached per practice and data version (see :func:`_cache_key`).
    """
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    encoded = urlencode(query)
    key = _cache_key(request, practice, "table", encoded, request.GET.get("page", ""))
    cache = _worklist_cache()
    table: dict[str, Any] | None = cache.get(key)
    if table is None:
        form = WorklistFilter(request.GET or None, practice=practice)
        data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
        paginator = Paginator(worklist_queryset(practice, data), settings.PHT_PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        html = render_to_string(
            "care/_worklist_table.html",
            {
                "page": page,
                "rows": worklist_rows(page.object_list),
                "query": encoded,
                "total": paginator.count,
            },
        )
        table = {
            "html": str(html),
            "action": str(AuditAction.SEARCH if data.get("q") else AuditAction.VIEW_WORKLIST),
            "filters": query,
            "page": page.number,
            "shown": len(page.object_list),
        }
        cache.set(key, table)
    return {**table, "html": mark_safe(table["html"])}


def worklist_filters(request: HttpRequest, practice: Any) -> SafeString:
    """The rendered filter bar (its choices include the practice's team), cached like the
    table."""
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    key = _cache_key(request, practice, "filters", urlencode(query), "")
    cache = _worklist_cache()
    html: str | None = cache.get(key)
    if html is None:
        form = WorklistFilter(request.GET or None, practice=practice)
        html = str(
            render_to_string("care/_worklist_filters.html", {"filters": filter_controls(form)})
        )
        cache.set(key, html)
    return mark_safe(html)


@patient_access_required
def worklist(request: HttpRequest) -> HttpResponse:
    """The practice's ranked worklist with filters, search and paging; htmx gets the table."""
    practice = practice_of(request.user)
    table = worklist_table(request, practice)
    record(
        user=request.user,
        action=AuditAction(table["action"]),
        reason=VIEW_REASON,
        detail={"filters": table["filters"], "page": table["page"], "shown": table["shown"]},
        request=request,
    )
    if request.htmx and request.htmx.target == "worklist-results":
        return HttpResponse(table["html"])
    context = {
        "table": table["html"],
        "practice": practice,
        "filters": worklist_filters(request, practice),
    }
    return render(request, "care/worklist.html", context)


@patient_access_required
def patient_detail(request: HttpRequest, uid: Any) -> HttpResponse:
    """The patient page: identity, groups with evidence, frailty, risk, timeline, plan, tasks."""
    patient = _patient(request, uid, "plan", "plan__responsible")
    reason = (request.GET.get("reason") or VIEW_REASON)[:200]
    actions.do_view_patient(user=request.user, patient=patient, reason=reason, request=request)
    # the permission table: a role without clinical access (the secretary) sees no clinical data
    clinical = allowed(request.user, Action.VIEW_CLINICAL, practice_id=patient.practice_id)
    plan = getattr(patient, "plan", None) if hasattr(patient, "plan") and clinical else None
    timeline = list(patient.timeline.all()[:200]) if clinical else []
    tasks = patient.tasks.select_related("assigned_user").annotate(
        invitation_count=Count("invitations")
    )
    today = clock.today()
    evidence = (
        [(e, codes.code_text(e.code, e.code_system)) for e in patient.evidence.all()]
        if clinical
        else []
    )
    contacts = [e for e in timeline if e.kind == TimelineKind.CONTACT][:30]
    admissions = [e for e in timeline if e.kind == TimelineKind.ADMISSION]
    open_tasks = [t for t in tasks if t.is_open]
    closed_tasks = [t for t in tasks if not t.is_open][:20]
    latest: dict[str, Any] = {}
    for c in patient.checks.all():
        latest.setdefault(c.condition, c)
    check_rows = [
        {
            "condition": cond,
            "label": label,
            "state": patient.annual_checks.get(cond, {}),
            "check": latest.get(cond),
            "values": checks.display_values(cond, latest[cond].values)
            if cond in latest and clinical
            else [],
            "structured": cond in checks.specs(),
        }
        for cond, label in sorted(
            (c, str(dict(ConditionChoice.choices).get(c, c)))
            for c in {*patient.condition_list(), *patient.annual_checks, *latest}
        )
    ]
    return render(
        request,
        "care/patient.html",
        {
            "patient": patient,
            "age": _age(patient.birth_date, today),
            "evidence": evidence,
            "evidence_rows": evidence_rows(evidence),
            "clinical": clinical,
            "plan": plan,
            "reviews": plan.reviews.select_related("by")[:10] if plan else [],
            "contacts": contacts,
            "contact_rows": timeline_rows(contacts, "contact"),
            "admissions": admissions,
            "admission_rows": timeline_rows(admissions, "admission"),
            "services": [e for e in timeline if e.kind == TimelineKind.SERVICE],
            "surveys": patient.surveys.all()[:40] if clinical else [],
            "open_tasks": open_tasks,
            "closed_tasks": closed_tasks,
            "open_task_rows": task_rows(open_tasks, request=request, today=today),
            "closed_task_rows": task_rows(closed_tasks, request=request, today=today),
            "activities": patient.activities.select_related("by")[:30] if clinical else [],
            "check_rows": check_rows,
            "threads": patient.threads.prefetch_related("messages")[:20] if clinical else [],
            "can_record_checks": _role(request) in actions.CHECK_ROLES,
            "today": today,
        },
    )


def _role(request: HttpRequest) -> str:
    profile = profile_of(request.user)
    return "" if profile is None else profile.role


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@permission_required(Action.SAVE_PLAN)
def plan_edit(request: HttpRequest, uid: Any) -> HttpResponse:
    """Create or change the follow-up plan."""
    patient = _patient(request, uid)
    if request.method == "GET":  # the form shows the patient (a POST is audited by its action)
        actions.do_view_patient(
            user=request.user, patient=patient, reason="oppfølgingsplan", request=request
        )
    plan = getattr(patient, "plan", None) if hasattr(patient, "plan") else None
    if request.method == "POST":
        form = PlanForm(request.POST, practice=patient.practice)
        if form.is_valid():
            try:
                actions.do_save_plan(user=request.user, patient=patient, **form.cleaned_data)
            except actions.ActionError as err:
                _apply_action_error(form, err)
            else:
                return redirect("care:patient", uid=patient.uid)
    elif plan is not None:
        form = PlanForm(
            initial={
                "goal": plan.goal,
                "responsible": plan.responsible_id,
                "contact_interval_months": plan.contact_interval_months,
                "next_due": plan.next_due,
                "partners": plan.partners,
                "version": plan.version,
            },
            practice=patient.practice,
        )
    else:
        today = clock.today()
        form = PlanForm(
            initial={
                "responsible": request.user.pk,
                "contact_interval_months": 3,
                "next_due": today + dt.timedelta(days=91),
            },
            practice=patient.practice,
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "care/plan_form.html", {"patient": patient, "form": form}, status=status)


@permission_required(Action.CREATE_TASK)
def task_create(request: HttpRequest, uid: Any) -> HttpResponse:
    """Create a task or recall for the patient."""
    patient = _patient(request, uid)
    if request.method == "GET":  # the form shows the patient (a POST is audited by its action)
        actions.do_view_patient(
            user=request.user, patient=patient, reason="ny oppgave", request=request
        )
    if request.method == "POST":
        form = TaskForm(request.POST, practice=patient.practice)
        if form.is_valid():
            try:
                actions.do_create_task(user=request.user, patient=patient, **form.cleaned_data)
            except actions.ActionError as err:
                _apply_action_error(form, err)
            else:
                return redirect("care:patient", uid=patient.uid)
    else:
        kind = request.GET.get("kind", TaskKind.TASK)
        kind = kind if kind in TaskKind.values else TaskKind.TASK
        due = clock.today() + dt.timedelta(days=14)
        form = TaskForm(
            initial={"kind": kind, "due": due, "assigned_user": request.user.pk},
            practice=patient.practice,
        )
        return render(
            request,
            "care/task_form.html",
            {"patient": patient, "form": form, "fields": _new_task_fields(request, form, kind)},
        )
    return render(request, "care/task_form.html", {"patient": patient, "form": form}, status=400)


def _new_task_fields(request: HttpRequest, form: TaskForm, kind: str) -> SafeString:
    """The empty task form's fields, rendered (Django's widgets render option by option, and
    the team's names are many options): cached like the worklist, per practice and its
    ``data_version`` (which changes with the team), user, kind, due date and language."""
    practice = practice_of(request.user)
    who = f"{request.user.pk}:{kind}:{form.initial['due']}:{get_language()}"
    key = f"pht:taskform:{practice.pk}:{practice.data_version}:{who}"
    cache = _worklist_cache()
    html: str | None = cache.get(key)
    if html is None:
        html = str(render_to_string("fields.html", {"form": form}))
        cache.set(key, html)
    return mark_safe(html)


@require_POST
@permission_required(Action.COMPLETE_TASK)
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done."""
    task = _task(request, pk)
    form = CompleteForm(request.POST)
    if form.is_valid():
        try:
            actions.do_complete_task(user=request.user, task=task, **form.cleaned_data)
        except actions.ActionError as err:
            return _error_page(request, task, err.message)
    return HttpResponseRedirect(
        _next_url(request, reverse("care:patient", kwargs={"uid": task.patient.uid}))
    )


@require_POST
@permission_required(Action.INVITE)
def task_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Record an invitation sent for a recall."""
    task = _task(request, pk)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        message = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return _error_page(request, task, message)
    try:
        actions.do_record_invitation(user=request.user, task=task, **form.cleaned_data)
    except actions.ActionError as err:
        return _error_page(request, task, err.message)
    return HttpResponseRedirect(_next_url(request, reverse("care:due_list")))


def _error_page(request: HttpRequest, task: Task, message: str) -> HttpResponse:
    return render(request, "care/task_error.html", {"task": task, "message": message}, status=400)


@permission_required(Action.LOG_ACTIVITY)
def activity_create(request: HttpRequest, uid: Any) -> HttpResponse:
    """Log an activity with a note."""
    patient = _patient(request, uid)
    if request.method == "GET":  # the form shows the patient (a POST is audited by its action)
        actions.do_view_patient(
            user=request.user, patient=patient, reason="ny aktivitet", request=request
        )
    if request.method == "POST":
        form = ActivityForm(request.POST)
        if form.is_valid():
            try:
                actions.do_log_activity(user=request.user, patient=patient, **form.cleaned_data)
            except actions.ActionError as err:
                _apply_action_error(form, err)
            else:
                return redirect("care:patient", uid=patient.uid)
    else:
        form = ActivityForm(initial={"date": clock.today()})
    status = 400 if request.method == "POST" else 200
    return render(
        request, "care/activity_form.html", {"patient": patient, "form": form}, status=status
    )
