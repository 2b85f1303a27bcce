"""Views of the recall register, annual checks, plans that drive work and coordination.

Thin like :mod:`pht.app.care.views`: parse with a form, read with the access rules, change
through :mod:`pht.app.care.actions`, answer 400 with the error beside its field.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pht.app.accounts.access import patient_access_required, practice_of
from pht.app.accounts.permissions import Action, permission_required
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care import actions, checks, clock, letters, quality
from pht.app.care.fhir import thread_communications
from pht.app.care.forms import (
    AnnualCheckForm,
    AssignForm,
    BatchInviteForm,
    CloseRecallForm,
    MessageForm,
    PlanContactForm,
    PlanEndForm,
    PlanReviewForm,
    RecallFilter,
    ThreadForm,
)
from pht.app.care.models import (
    OPEN_STATUSES,
    RECALL_KINDS,
    Channel,
    ConditionChoice,
    CoordinationThread,
    FollowUpPlan,
    Task,
)
from pht.app.care.rows import recall_rows
from pht.app.care.views import (
    REGISTER_PAGE_SIZE,
    VIEW_REASON,
    _apply_action_error,
    _next_url,
    _patient,
    _task,
)

# ---------------------------------------------------------------------------------------------
# The recall register


def recall_queryset(practice: Any, data: dict[str, Any], today: dt.date) -> QuerySet[Task]:
    """The practice's open recalls matching the register's filters (cleaned form data)."""
    qs = (
        Task.objects.filter(
            patient__practice=practice,
            patient__listed=True,
            kind__in=RECALL_KINDS,
            status__in=OPEN_STATUSES,
        )
        .select_related("patient", "assigned_user")
        .prefetch_related("invitations__by")
        .annotate(invitation_count=Count("invitations"))
    )
    if data.get("condition"):
        qs = qs.filter(condition=data["condition"])
    due = data.get("due")
    month_end = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(1)
    if due == "overdue":
        qs = qs.filter(due__lt=today)
    elif due == "month":
        qs = qs.filter(due__gte=today.replace(day=1), due__lte=month_end)
    elif due == "later":
        qs = qs.filter(due__gt=month_end)
    if data.get("invitations") not in (None, ""):
        qs = qs.filter(invitation_count=int(data["invitations"]))
    sort = data.get("sort") or "due"
    if sort == "name":
        return qs.order_by("patient__name", "due", "pk")
    if sort == "invitations":
        return qs.order_by("-invitation_count", "due", "pk")
    return qs.order_by("due", "patient__name", "pk")


@permission_required(Action.VIEW_TASKS)
def recall_register(request: HttpRequest) -> HttpResponse:
    """Every open recall of the practice with its invitations; select many and invite."""
    practice = practice_of(request.user)
    today = clock.today()
    form = RecallFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    page = Paginator(recall_queryset(practice, data, today), REGISTER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    recalls = list(page.object_list)
    record(
        user=request.user,
        action=AuditAction.VIEW_DUE_LIST,
        reason=VIEW_REASON,
        detail={
            "register": "recalls",
            "filters": data,
            "shown": len(recalls),
            "page": page.number,
            "total": page.paginator.count,
        },
        request=request,
    )
    query = request.GET.copy()
    query.pop("page", None)
    invite = BatchInviteForm(initial={"sent_on": today}, task_ids=[])
    return render(
        request,
        "care/recalls.html",
        {
            "form": form,
            "recalls": recalls,
            "page": page,
            "total": page.paginator.count,
            "query": query.urlencode(),
            "recall_rows": recall_rows(
                recalls, request=request, today=today, max_invitations=actions.MAX_INVITATIONS
            ),
            "today": today,
            "invite": invite,
            "close_form": CloseRecallForm(),
            "max_invitations": actions.MAX_INVITATIONS,
            "conditions": ConditionChoice.choices,
        },
    )


@require_POST
@permission_required(Action.INVITE)
def recall_invite(request: HttpRequest) -> HttpResponse:
    """Invite the selected recalls in one action: letters come back as one PDF."""
    practice = practice_of(request.user)
    ids = [int(x) for x in request.POST.getlist("tasks") if x.isdigit()]
    tasks = {
        t.pk: t
        for t in Task.objects.filter(pk__in=ids, patient__practice=practice).select_related(
            "patient", "patient__practice"
        )
    }
    form = BatchInviteForm(request.POST, task_ids=list(tasks))
    if not form.is_valid():
        return _register_error(request, form, "; ".join(_errors(form)))
    chosen = [tasks[i] for i in form.cleaned_data["tasks"]]
    channel, sent_on = form.cleaned_data["channel"], form.cleaned_data["sent_on"]
    try:
        with _atomic():
            actions.do_invite_many(
                user=request.user, tasks=chosen, channel=channel, sent_on=sent_on
            )
            if channel in (Channel.SMS, Channel.EMAIL):
                from pht.app.care import sending

                sending.send_invitations(chosen, channel=channel, user=request.user)
            pdf = (
                letters.recall_letters_pdf(chosen, sent_on=sent_on, by=request.user)
                if channel == Channel.LETTER
                else None
            )
    except actions.ActionError as err:
        return _register_error(request, form, err.message)
    if pdf is not None:
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="innkallinger-{sent_on:%Y%m%d}-{len(chosen)}.pdf"'
        )
        return response
    messages.success(request, _("%(n)d innkallinger er sendt.") % {"n": len(chosen)})
    return redirect(_next_url(request, "/recalls/"))


def _atomic() -> Any:
    from django.db import transaction

    return transaction.atomic()


def _errors(form: Any) -> list[str]:
    return [str(e) for errs in form.errors.values() for e in errs]


def _register_error(request: HttpRequest, form: Any, message: str) -> HttpResponse:
    return render(
        request, "care/register_error.html", {"message": message, "form": form}, status=400
    )


@require_POST
@permission_required(Action.CREATE_TASK)
def recall_create_overdue(request: HttpRequest) -> HttpResponse:
    """A recall for every patient whose annual check of the chosen condition is overdue."""
    practice = practice_of(request.user)
    condition = request.POST.get("condition", "")
    try:
        made = actions.do_create_overdue_recalls(
            user=request.user, practice=practice, condition=condition
        )
    except actions.ActionError as err:
        return _register_error(request, None, err.message)
    messages.success(request, _("%(n)d nye innkallinger.") % {"n": len(made)})
    return redirect(_next_url(request, "/recalls/"))


@require_POST
@permission_required(Action.INVITE)
def recall_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a recall as "ikke svart" or "reservert seg"."""
    task = _task(request, pk)
    form = CloseRecallForm(request.POST)
    if not form.is_valid():
        return _register_error(request, form, "; ".join(_errors(form)))
    try:
        actions.do_close_recall_unanswered(user=request.user, task=task, **form.cleaned_data)
    except actions.ActionError as err:
        return _register_error(request, form, err.message)
    messages.success(request, _("Innkallingen er lukket."))
    return redirect(_next_url(request, "/recalls/"))


@require_POST
@permission_required(Action.ASSIGN_TASK)
def task_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a task to another member or role (the team's task inbox)."""
    task = _task(request, pk)
    form = AssignForm(request.POST, practice=task.patient.practice)
    if not form.is_valid():
        return _register_error(request, form, "; ".join(_errors(form)))
    try:
        actions.do_assign_task(user=request.user, task=task, **form.cleaned_data)
    except actions.ActionError as err:
        return _register_error(request, form, err.message)
    messages.success(request, _("Oppgaven er gitt videre."))
    return redirect(_next_url(request, "/tasks/"))


# ---------------------------------------------------------------------------------------------
# Annual checks


@permission_required(Action.LOG_ACTIVITY)
def check_create(request: HttpRequest, uid: Any, condition: str) -> HttpResponse:
    """Record a structured annual check of *condition*; its open recall closes at once."""
    patient = _patient(request, uid)
    if condition not in checks.specs():
        return render(request, "404.html", status=404)
    if request.method == "POST":
        form = AnnualCheckForm(request.POST, condition=condition)
        if form.is_valid():
            try:
                actions.do_record_annual_check(
                    user=request.user,
                    patient=patient,
                    condition=condition,
                    date=form.cleaned_data["date"],
                    values=form.values(),
                    note=form.cleaned_data.get("note", ""),
                )
            except actions.ActionError as err:
                key = f"v_{err.field}" if f"v_{err.field}" in form.fields else err.field
                err.field = key
                _apply_action_error(form, err)
            else:
                messages.success(request, _("Årskontrollen er lagret."))
                return redirect("care:patient", uid=patient.uid)
    else:
        form = AnnualCheckForm(initial={"date": clock.today()}, condition=condition)
    spec = checks.spec(condition)
    return render(
        request,
        "care/check_form.html",
        {
            "patient": patient,
            "form": form,
            "spec": spec,
            "source": checks.source_text(spec.source),
        },
        status=400 if request.method == "POST" else 200,
    )


@patient_access_required
def check_results(request: HttpRequest) -> HttpResponse:
    """The practice's quality indicators from recorded annual-check values."""
    practice = practice_of(request.user)
    today = clock.today()
    rows = quality.check_indicators(practice, today)
    record(
        user=request.user,
        action=AuditAction.VIEW_WORKLIST,
        reason=VIEW_REASON,
        detail={"page": "check_indicators"},
        request=request,
    )
    return render(
        request,
        "care/check_results.html",
        {"rows": rows, "today": today, "recalls": quality.recall_outcomes(practice, today)},
    )


# ---------------------------------------------------------------------------------------------
# Plans that drive work


def _plan(request: HttpRequest, uid: Any) -> FollowUpPlan:
    patient = _patient(request, uid)
    return get_object_or_404(
        FollowUpPlan.objects.select_related("patient", "responsible"), patient=patient
    )


def _plan_form_view(
    request: HttpRequest, uid: Any, form_class: Any, template: str, act: Any, done: str
) -> HttpResponse:
    plan = _plan(request, uid)
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            try:
                act(user=request.user, plan=plan, **form.cleaned_data)
            except actions.ActionError as err:
                _apply_action_error(form, err)
            else:
                messages.success(request, done)
                return redirect("care:patient", uid=plan.patient.uid)
    else:
        form = form_class(initial={"date": clock.today()})
    return render(
        request,
        "care/plan_step.html",
        {"plan": plan, "patient": plan.patient, "form": form, "title": template},
        status=400 if request.method == "POST" else 200,
    )


@permission_required(Action.SAVE_PLAN)
def plan_contact(request: HttpRequest, uid: Any) -> HttpResponse:
    """The plan's planned contact was held: the next one moves one interval on."""
    return _plan_form_view(
        request,
        uid,
        PlanContactForm,
        _("Planlagt kontakt gjennomført"),
        actions.do_plan_contact,
        _("Kontakten er registrert, og neste kontakt er satt."),
    )


@permission_required(Action.SAVE_PLAN)
def plan_review(request: HttpRequest, uid: Any) -> HttpResponse:
    """Review the plan."""
    return _plan_form_view(
        request,
        uid,
        PlanReviewForm,
        _("Evaluer planen"),
        actions.do_review_plan,
        _("Evalueringen er lagret."),
    )


@permission_required(Action.SAVE_PLAN)
def plan_end(request: HttpRequest, uid: Any) -> HttpResponse:
    """End the plan with a reason."""
    return _plan_form_view(
        request,
        uid,
        PlanEndForm,
        _("Avslutt planen"),
        actions.do_end_plan,
        _("Planen er avsluttet."),
    )


@permission_required(Action.VIEW_CLINICAL)
def plan_history(request: HttpRequest, uid: Any) -> HttpResponse:
    """Every version of the plan, its reviews and its end."""
    plan = _plan(request, uid)
    actions.do_view_patient(
        user=request.user, patient=plan.patient, reason="planhistorikk", request=request
    )
    return render(
        request,
        "care/plan_history.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "events": plan.history.select_related("by"),
            "reviews": plan.reviews.select_related("by"),
        },
    )


def _upcoming(plan: FollowUpPlan) -> list[Task]:
    return list(
        plan.patient.tasks.filter(status__in=OPEN_STATUSES, due__gte=clock.today()).order_by("due")[
            :3
        ]
    )


@permission_required(Action.VIEW_CLINICAL)
def min_plan(request: HttpRequest, uid: Any) -> HttpResponse:
    """ "Min plan": the patient's one-page plan in plain Norwegian, as a PDF to print."""
    plan = _plan(request, uid)
    actions.do_view_patient(
        user=request.user, patient=plan.patient, reason="utskrift av Min plan", request=request
    )
    pdf = letters.min_plan_pdf(plan, today=clock.today(), upcoming=_upcoming(plan))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="min-plan.pdf"'
    return response


# ---------------------------------------------------------------------------------------------
# Coordination


def _thread(request: HttpRequest, pk: int) -> CoordinationThread:
    practice = practice_of(request.user)
    return get_object_or_404(
        CoordinationThread.objects.select_related("patient"), pk=pk, patient__practice=practice
    )


@permission_required(Action.LOG_ACTIVITY)
def thread_create(request: HttpRequest, uid: Any) -> HttpResponse:
    """Start a coordination thread with a partner."""
    patient = _patient(request, uid)
    if request.method == "POST":
        form = ThreadForm(request.POST)
        if form.is_valid():
            try:
                thread = actions.do_start_thread(
                    user=request.user, patient=patient, **form.cleaned_data
                )
            except actions.ActionError as err:
                _apply_action_error(form, err)
            else:
                messages.success(request, _("Meldingen er sendt."))
                return redirect("care:thread", pk=thread.pk)
    else:
        form = ThreadForm()
    return render(
        request,
        "care/thread_form.html",
        {"patient": patient, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@permission_required(Action.VIEW_CLINICAL)
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A thread's messages; add a message sent or received, or close it."""
    thread = _thread(request, pk)
    if request.method == "POST":
        if request.POST.get("close"):
            actions.do_close_thread(user=request.user, thread=thread)
            messages.success(request, _("Tråden er avsluttet."))
            return redirect("care:thread", pk=thread.pk)
        form = MessageForm(request.POST)
        if form.is_valid():
            try:
                actions.do_add_message(user=request.user, thread=thread, **form.cleaned_data)
            except actions.ActionError as err:
                _apply_action_error(form, err)
            else:
                messages.success(request, _("Meldingen er lagret."))
                return redirect("care:thread", pk=thread.pk)
    else:
        actions.do_view_patient(
            user=request.user, patient=thread.patient, reason="samhandling", request=request
        )
        form = MessageForm(initial={"on": clock.today(), "direction": "in"})
    return render(
        request,
        "care/thread.html",
        {
            "thread": thread,
            "patient": thread.patient,
            "thread_messages": thread.messages.select_related("by"),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@permission_required(Action.VIEW_CLINICAL)
def thread_fhir(request: HttpRequest, pk: int) -> HttpResponse:
    """The thread as a FHIR Bundle of ``Communication`` resources (JSON)."""
    thread = _thread(request, pk)
    actions.do_view_patient(
        user=request.user,
        patient=thread.patient,
        reason="eksport FHIR Communication",
        request=request,
    )
    bundle = thread_communications(thread)
    response = HttpResponse(
        json.dumps(bundle, ensure_ascii=False, indent=2), content_type="application/fhir+json"
    )
    response["Content-Disposition"] = f'attachment; filename="samhandling-{thread.pk}.json"'
    return response
