"""Quality pages: the practice's goals with progress, one goal with its PDSA notes and peers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import AppRole
from pht.app.dashboards.models import FinancingSnapshot
from pht.app.quality import actions, figures
from pht.app.quality.forms import GoalForm, MeasurementForm, NoteForm
from pht.app.quality.models import PeerConsent, QualityGoal
from pht.reference.quality import load_quality_catalogue


def _practice(request: HttpRequest) -> Any:
    profile = profile_of(request.user)
    if profile is None or not profile.sees_patients:
        raise PermissionDenied
    return profile.practice


def _as_p(form: Any, name: str) -> SafeString:
    """The form as paragraphs; an empty form's are the same for everyone (its choices are the
    catalogue's), so they are rendered once per process and language (Django renders each
    field, and each option, with a template of its own)."""
    if form.is_bound:
        return mark_safe(form.as_p())
    key = f"pht:quality:{name}:{get_language()}"
    html: str | None = cache.get(key)
    if html is None:
        html = str(form.as_p())
        cache.set(key, html, None)
    return mark_safe(html)


def _with_errors(form: Any, err: actions.QualityError) -> None:
    form.add_error(err.field if err.field in form.fields else None, err.message)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The practice's goals with their latest quarter; new goal, measurements, consent."""
    practice = _practice(request)
    profile = profile_of(request.user)
    goal_form = GoalForm(request.POST if "new_goal" in request.POST else None)
    measure_form = MeasurementForm(request.POST if "measure" in request.POST else None)
    status = 200
    if request.method == "POST":
        try:
            if "new_goal" in request.POST and goal_form.is_valid():
                actions.do_set_goal(
                    user=request.user, request=request, practice=practice,
                    **goal_form.cleaned_data,
                )  # fmt: skip
                return redirect("quality:index")
            if "measure" in request.POST and measure_form.is_valid():
                actions.do_record_measurement(
                    user=request.user, request=request, practice=practice,
                    indicator=request.POST.get("indicator", ""), **measure_form.cleaned_data,
                )  # fmt: skip
                return redirect("quality:index")
            if "consent" in request.POST:
                actions.do_set_consent(
                    user=request.user, request=request, practice=practice,
                    share_name=request.POST.get("share_name") == "1",
                )  # fmt: skip
                return redirect("quality:index")
        except actions.QualityError as err:
            _with_errors(measure_form if "measure" in request.POST else goal_form, err)
        status = 400
    goals = [
        {"goal": g, **figures.progress(g)}
        for g in QualityGoal.objects.filter(practice=practice).order_by("-period_start")
    ]
    snap = FinancingSnapshot.objects.filter(practice=practice).order_by("-year").first()
    consent = PeerConsent.objects.filter(practice=practice, share_name=True).exists()
    catalogue = load_quality_catalogue()
    return render(
        request,
        "quality/index.html",
        {
            "practice": practice,
            "goals": goals,
            "goal_form": goal_form,
            "measure_form": measure_form,
            "goal_fields": _as_p(goal_form, "goal"),
            "measure_fields": _as_p(measure_form, "measure"),
            "manual": [i for i in catalogue.indicator if i.source == "manual"],
            "catalogue": catalogue,
            "grant": figures.quality_grant(practice, snap) if snap else None,
            "consent": consent,
            "is_lead": profile is not None and profile.role == AppRole.GP_TEAM_LEAD,
        },
        status=status,
    )


@login_required
def goal(request: HttpRequest, goal_id: int) -> HttpResponse:
    """One goal: progress by quarter vs target and comparison practices, peers, PDSA notes."""
    practice = _practice(request)
    obj = get_object_or_404(QualityGoal, pk=goal_id, practice=practice)
    form = NoteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.do_add_note(
                    user=request.user, request=request, goal=obj, **form.cleaned_data
                )
                return redirect("quality:goal", goal_id=obj.pk)
            except actions.QualityError as err:
                _with_errors(form, err)
        status = 400
    p = figures.progress(obj)
    return render(
        request,
        "quality/goal.html",
        {
            "goal": obj,
            **p,
            "peers": figures.peers(practice, p["indicator"]),
            "notes": obj.notes.select_related("by"),
            "form": form,
        },
        status=status,
    )
