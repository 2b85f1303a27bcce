"""Views of the call: thin — parse input, check the role, call the actions, render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import AppRole
from pht.app.accounts.permissions import Action, require
from pht.app.call import actions
from pht.app.call.forms import (
    ApplicationForm,
    ReasonForm,
    ScoreForm,
    WhatIfForm,
    form_field_for,
    initial_from,
)
from pht.call.application import ApplicationRejected
from pht.call.assessment import weighted_score
from pht.call.letters import letter_filename
from pht.call.payments import payment_list_csv
from pht.call.selection import SelectionInfeasible
from pht.call.validation import errors_of, validate, warnings_of
from pht.core.errors import NotFound, PhtError
from pht.core.money import total


def _role_required(role: AppRole) -> Callable[[Callable[..., HttpResponse]], Any]:
    def decorator(view: Callable[..., HttpResponse]) -> Any:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # the permission table (pht.app.accounts.permissions): refusals are audited there
            action = Action.CALL_APPLY if role == AppRole.MUNICIPAL_LEAD else Action.CALL_ASSESS
            require(request.user, action, request=request, what={"view": view.__name__})
            profile = profile_of(request.user)
            if profile is None or profile.role != role:
                raise PermissionDenied
            if role == AppRole.MUNICIPAL_LEAD and profile.municipality_id is None:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator


municipal_required = _role_required(AppRole.MUNICIPAL_LEAD)
officer_required = _role_required(AppRole.CASE_OFFICER)


def _municipality(request: HttpRequest) -> Any:
    profile = profile_of(request.user)
    assert profile is not None and profile.municipality is not None
    return profile.municipality


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Municipal users go to their applications, case officers to the case list."""
    profile = profile_of(request.user)
    if profile is not None and profile.role == AppRole.MUNICIPAL_LEAD:
        return redirect("call:mine")
    if profile is not None and profile.role == AppRole.CASE_OFFICER:
        return redirect("call:officer")
    raise PermissionDenied


# --- the municipality ------------------------------------------------------------------------


@municipal_required
def mine(request: HttpRequest) -> HttpResponse:
    """The municipality's own applications."""
    muni = _municipality(request)
    rec = actions.case_record()
    apps = [a for a in rec.case.applications if rec.owners.get(a.id) == muni.code]
    return render(
        request, "call/mine.html", {"applications": apps, "rules": rec.case.rules, "muni": muni}
    )


def _form_with_messages(form: ApplicationForm, msgs: list[Any]) -> None:
    for m in msgs:
        field = form_field_for(m.field)
        form.add_error(field if field in form.fields else None, m.text)


@municipal_required
def edit(request: HttpRequest, application_id: str | None = None) -> HttpResponse:
    """Create or edit a draft; save it, or submit it (refused field by field when incomplete)."""
    muni = _municipality(request)
    rec = actions.case_record()
    rules = rec.case.rules
    app = None
    if application_id is not None:
        try:
            app = actions.owned_application(rec, application_id, muni.code)
        except NotFound:
            raise Http404 from None
    if request.method == "POST":
        form = ApplicationForm(request.POST)
        if form.is_valid():
            try:
                app = actions.do_save_draft(
                    user=request.user,
                    request=request,
                    municipality=muni.code,
                    application=app,
                    data=form.to_application_data(),
                )
            except PhtError as err:
                form.add_error(None, err.message)
            else:
                if request.POST.get("action") == "submit":
                    try:
                        app = actions.do_submit(
                            user=request.user,
                            request=request,
                            municipality=muni.code,
                            application_id=app.id,
                        )
                    except ApplicationRejected as err:
                        _form_with_messages(form, err.messages)
                        messages.error(request, err.message)
                        return render(
                            request,
                            "call/application_form.html",
                            {"form": form, "application": app, "rules": rules},
                            status=422,
                        )
                    note = " (etter fristen)" if app.late else ""
                    messages.success(request, f"Søknaden er sendt inn{note}.")
                    return redirect("call:mine")
                messages.success(request, "Utkastet er lagret.")
                return redirect("call:edit", application_id=app.id)
        return render(
            request,
            "call/application_form.html",
            {"form": form, "application": app, "rules": rules},
            status=422,
        )
    if app is not None:
        form = ApplicationForm(initial=initial_from(app))
    else:
        form = ApplicationForm(initial={"municipality": muni.name, "municipality_code": muni.code})
    hints = validate(app, rules) if app is not None else []
    return render(
        request,
        "call/application_form.html",
        {"form": form, "application": app, "rules": rules, "hints": hints},
    )


@municipal_required
@require_POST
def withdraw(request: HttpRequest, application_id: str) -> HttpResponse:
    """Withdraw the municipality's application."""
    muni = _municipality(request)
    try:
        actions.do_withdraw(
            user=request.user,
            request=request,
            municipality=muni.code,
            application_id=application_id,
            reason=request.POST.get("reason", ""),
        )
    except NotFound:
        raise Http404 from None
    except PhtError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, "Søknaden er trukket.")
    return redirect("call:mine")


# --- the case officer ------------------------------------------------------------------------


@officer_required
def officer(request: HttpRequest) -> HttpResponse:
    """Every application with late flag, validity and score."""
    case = actions.case_record().case
    rules = case.rules
    rows = []
    for a in case.applications:
        msgs = validate(a, rules)
        cls = a.size_class(rules)
        rows.append(
            {
                "app": a,
                "size_class": cls.nb if cls else "",
                "errors": len(errors_of(msgs)),
                "warnings": len(warnings_of(msgs)),
                "score": weighted_score(case.assessments.get(a.id), rules),
                "late_accepted": case.late_accepted.get(a.id),
            }
        )
    return render(
        request,
        "call/officer_list.html",
        {"rows": rows, "rules": rules, "decisions": case.decisions},
    )


@officer_required
def officer_application(request: HttpRequest, application_id: str) -> HttpResponse:
    """One application: validation per field, late acceptance, scores, conflicts, meetings."""
    case = actions.case_record().case
    try:
        app = case.application(application_id)
    except NotFound:
        raise Http404 from None
    msgs = actions.do_validate(user=request.user, request=request, application_id=app.id)
    ass = case.assessments.get(app.id)
    criteria = []
    for c in case.rules.criteria:
        s = ass.score_of(c.key) if ass else None
        criteria.append(
            {
                "criterion": c,
                "current": s,
                "form": ScoreForm(
                    initial={
                        "criterion": c.key,
                        "score": s.score if s else None,
                        "comment": s.comment if s else "",
                    },
                    prefix=c.key,
                ),
            }
        )
    return render(
        request,
        "call/officer_application.html",
        {
            "app": app,
            "messages_list": msgs,
            "criteria": criteria,
            "score": weighted_score(ass, case.rules),
            "late_accepted": case.late_accepted.get(app.id),
            "conflicts": [c for c in case.conflicts if c.application_id == app.id],
            "meetings": ass.meetings if ass else (),
            "reason_form": ReasonForm(),
            "rules": case.rules,
        },
    )


@officer_required
@require_POST
def score(request: HttpRequest, application_id: str) -> HttpResponse:
    """Record one criterion's score."""
    key = request.POST.get("criterion", "")
    form = ScoreForm(request.POST, prefix=key)
    if form.is_valid():
        try:
            actions.do_score(
                user=request.user,
                request=request,
                application_id=application_id,
                criterion=form.cleaned_data["criterion"],
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
            messages.success(request, "Poeng lagret.")
        except PhtError as err:
            messages.error(request, err.message)
    else:
        messages.error(request, "Poeng (1–5) og begrunnelse må fylles ut.")
    return redirect("call:officer_application", application_id=application_id)


@officer_required
@require_POST
def accept_late(request: HttpRequest, application_id: str) -> HttpResponse:
    """Accept a late application for assessment, with a reason."""
    try:
        actions.do_accept_late(
            user=request.user,
            request=request,
            application_id=application_id,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, "Søknaden er godtatt etter fristen.")
    except PhtError as err:
        messages.error(request, err.message)
    return redirect("call:officer_application", application_id=application_id)


@officer_required
@require_POST
def conflict(request: HttpRequest, application_id: str) -> HttpResponse:
    """Declare the officer's conflict of interest."""
    try:
        actions.do_declare_conflict(
            user=request.user,
            request=request,
            application_id=application_id,
            description=request.POST.get("reason", ""),
        )
        messages.success(request, "Inhabilitet er registrert.")
    except PhtError as err:
        messages.error(request, err.message)
    return redirect("call:officer_application", application_id=application_id)


@officer_required
@require_POST
def meeting(request: HttpRequest, application_id: str) -> HttpResponse:
    """Record an interview or a visit."""
    try:
        held_on = dt.date.fromisoformat(request.POST.get("held_on", ""))
    except ValueError:
        messages.error(request, "Dato må skrives ÅÅÅÅ-MM-DD.")
        return redirect("call:officer_application", application_id=application_id)
    try:
        actions.do_record_meeting(
            user=request.user,
            request=request,
            application_id=application_id,
            kind=request.POST.get("kind", ""),
            held_on=held_on,
            notes=request.POST.get("notes", ""),
        )
        messages.success(request, "Møtet er registrert.")
    except PhtError as err:
        messages.error(request, err.message)
    return redirect("call:officer_application", application_id=application_id)


@officer_required
@require_POST
def override(request: HttpRequest, application_id: str) -> HttpResponse:
    """Force an application in or out of the selection (or clear the override)."""
    choice = request.POST.get("include", "")
    include = {"in": True, "out": False}.get(choice)
    try:
        actions.do_override(
            user=request.user,
            request=request,
            application_id=application_id,
            include=include,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, "Overstyringen er registrert.")
    except PhtError as err:
        messages.error(request, err.message)
    return redirect(reverse("call:selection") + "?" + request.POST.get("what_if", ""))


@officer_required
def selection(request: HttpRequest) -> HttpResponse:
    """The optimiser's proposal with an explanation per application; what-if on quotas."""
    form = WhatIfForm(request.GET or None)
    what_if = form.what_if() if request.GET else {}
    sel = None
    error = None
    try:
        sel = actions.do_propose_selection(user=request.user, request=request, what_if=what_if)
    except SelectionInfeasible as err:
        error = err.message
    case = actions.case_record().case
    return render(
        request,
        "call/selection.html",
        {
            "form": form,
            "sel": sel,
            "error": error,
            "what_if": what_if,
            "what_if_query": urlencode({k: v for k, v in what_if.items() if v is not None}),
            "selected_names": (
                [case.application(i).name for i in sel.selected] if sel is not None else []
            ),
            "decisions": case.decisions,
            "overridden": {o.application_id: o for o in case.overrides},
        },
    )


@officer_required
@require_POST
def propose(request: HttpRequest) -> HttpResponse:
    """Propose decisions from the selection (with the same what-if values)."""
    form = WhatIfForm(request.POST)
    try:
        actions.do_propose_decisions(user=request.user, request=request, what_if=form.what_if())
        messages.success(request, "Vedtakene er foreslått og venter på godkjenning.")
    except PhtError as err:
        messages.error(request, err.message)
        return redirect(reverse("call:selection") + "?" + request.POST.urlencode())
    return redirect("call:decisions")


@officer_required
def decisions(request: HttpRequest) -> HttpResponse:
    """The proposed or approved decisions."""
    case = actions.case_record().case
    return render(
        request,
        "call/decisions.html",
        {"decisions": case.decisions, "me": request.user.get_username(), "rules": case.rules},
    )


@officer_required
@require_POST
def approve(request: HttpRequest) -> HttpResponse:
    """Approve the proposed decisions as the second officer."""
    try:
        actions.do_approve_decisions(user=request.user, request=request)
        messages.success(request, "Vedtakene er godkjent.")
    except PhtError as err:
        messages.error(request, err.message)
    return redirect("call:decisions")


@officer_required
def letter(request: HttpRequest, application_id: str) -> HttpResponse:
    """One decision letter as PDF."""
    try:
        pdf = actions.do_letter(user=request.user, request=request, application_id=application_id)
        case = actions.case_record().case
        assert case.decisions is not None
        name = letter_filename(case.decisions.decision(application_id))
    except NotFound:
        raise Http404 from None
    except PhtError as err:
        messages.error(request, err.message)
        return redirect("call:decisions")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@officer_required
def payments(request: HttpRequest) -> HttpResponse:
    """The payment list for a year; ``?format=csv`` downloads it."""
    case = actions.case_record().case
    default_year = case.rules.pilot_start.year
    try:
        year = int(request.GET.get("year") or default_year)
    except ValueError:
        year = default_year
    try:
        lines = actions.do_payment_list(user=request.user, request=request, year=year)
    except PhtError as err:
        messages.error(request, err.message)
        return redirect("call:decisions")
    if request.GET.get("format") == "csv":
        response = HttpResponse(payment_list_csv(lines), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="utbetalinger-{year}.csv"'
        return response
    return render(
        request,
        "call/payments.html",
        {
            "lines": lines,
            "year": year,
            "total": total(x.amount for x in lines),
            "years": range(case.rules.pilot_start.year, case.rules.pilot_last_day.year + 1),
            "today": dt.date.today(),
        },
    )
