"""The team's survey pages: invite a patient, see a patient's answers (audited), response rates
and the batch invitation. Thin: forms parse, :mod:`pht.app.surveys.actions` acts."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pht.app.accounts.access import patient_access_required, practice_of, profile_of
from pht.app.accounts.models import Practice
from pht.app.care.actions import ActionError
from pht.app.care.models import Patient
from pht.app.surveys import actions
from pht.app.surveys.charts import series_for
from pht.app.surveys.models import InvitationStatus, SurveyInvitation
from pht.core.labels import SourceStatus
from pht.reference.surveys import instruments

CHANNEL_CHOICES = [("sms", _("SMS")), ("email", _("e-post")), ("letter", _("brev med QR-kode"))]
MIN_CELL = 5


def instrument_choices() -> list[tuple[str, str]]:
    return [(i.id, i.title("nb")) for i in instruments().values()]


class InviteForm(forms.Form):
    """Invite one patient (the same fields as the API's ``SurveyInvite``)."""

    instrument = forms.ChoiceField(label=_("Spørreskjema"), choices=instrument_choices)
    channel = forms.ChoiceField(
        label=_("Kanal"), choices=CHANNEL_CHOICES, widget=forms.RadioSelect, initial="sms"
    )
    recipient = forms.CharField(
        label=_("Mottaker (mobilnummer, e-post eller navn og adresse)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Tomt: hentes fra kontaktregisteret når det er koblet til."),
    )


class BatchForm(forms.Form):
    """Invite every target-group patient with a plan whose wave is due."""

    instrument = forms.ChoiceField(label=_("Spørreskjema"), choices=instrument_choices)
    channel = forms.ChoiceField(label=_("Kanal"), choices=CHANNEL_CHOICES, initial="sms")


def _patient(request: HttpRequest, uid: Any) -> Patient:
    practice = practice_of(request.user)
    return get_object_or_404(Patient.objects.select_related("practice"), uid=uid, practice=practice)


@patient_access_required
def invite(request: HttpRequest, uid: Any) -> HttpResponse:
    """Invite the patient to a survey (from the patient page, the worklist or the plan)."""
    patient = _patient(request, uid)
    source = request.GET.get("fra", "patient")[:20]
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.invite(
                user=request.user,
                patient=patient,
                instrument_id=form.cleaned_data["instrument"],
                channel=form.cleaned_data["channel"],
                recipient=form.cleaned_data["recipient"],
                source=source if source in ("patient", "worklist", "plan") else "patient",
            )
        except ActionError as err:
            form.add_error(err.field if err.field in form.fields else None, err.message)
        else:
            messages.success(request, _("Invitasjonen er lagt i utboksen."))
            return redirect("care:patient", uid=patient.uid)
    if request.method == "POST":
        status = 400
    return render(request, "surveys/invite.html", {"patient": patient, "form": form}, status=status)


@patient_access_required
def results(request: HttpRequest, uid: Any) -> HttpResponse:
    """Every answer of the patient, with scores over time (the view is audited)."""
    patient = _patient(request, uid)
    rows = actions.view_results(user=request.user, patient=patient, request=request, where="svar")
    return render(
        request,
        "surveys/results.html",
        {"patient": patient, "series": series_for(rows), "rows": rows},
    )


def _suppress(n: int) -> int | None:
    return n if n >= MIN_CELL else None


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Invitations, answers and response rates by practice and instrument (cells under 5
    suppressed); the team also gets the batch invitation."""
    profile = profile_of(request.user)
    if profile is None:
        raise PermissionDenied
    qs = SurveyInvitation.objects.exclude(status=InvitationStatus.CANCELLED)
    if profile.sees_patients:
        qs = qs.filter(practice_id=profile.practice_id)
    elif profile.municipality_id:
        qs = qs.filter(practice__municipality_id=profile.municipality_id)
    elif not (request.user.is_superuser or profile.role in ("case_officer", "analyst")):
        raise PermissionDenied
    names = dict(Practice.objects.values_list("practice_id", "name"))
    titles = {i.id: i.title("nb") for i in instruments().values()}
    rows = []
    for r in (
        qs.values("practice_id", "instrument")
        .annotate(
            invited=Count("id", filter=Q(status__in=["sent", "answered"])),
            answered=Count("id", filter=Q(status="answered")),
        )
        .order_by("practice_id", "instrument")
    ):
        invited, answered = _suppress(r["invited"]), _suppress(r["answered"])
        rows.append(
            {
                "practice": names.get(r["practice_id"], r["practice_id"]),
                "instrument": titles.get(r["instrument"], r["instrument"]),
                "invited": invited,
                "answered": answered,
                "rate": None
                if invited is None or answered is None
                else round(100 * r["answered"] / r["invited"]),
            }
        )
    return render(
        request,
        "surveys/overview.html",
        {
            "rows": rows,
            "batch_form": BatchForm() if profile.sees_patients else None,
            "instruments": [
                {
                    "title": i.title("nb"),
                    "version": i.instrument.version,
                    "source": i.instrument.source,
                    "licence": i.instrument.licence,
                    "licence_status": SourceStatus.of(i.instrument.licence_status).nb,
                    "goal": i.instrument.goal.nb,
                    "indicator": i.instrument.indicator,
                }
                for i in instruments().values()
            ],
            "min_cell": MIN_CELL,
        },
    )


@require_POST
@patient_access_required
def batch(request: HttpRequest) -> HttpResponse:
    """Invite the practice's target-group patients with a plan whose wave is due."""
    practice = practice_of(request.user)
    form = BatchForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Velg spørreskjema og kanal."))
        return redirect("surveys:overview")
    result = actions.invite_batch(
        user=request.user,
        practice=practice,
        instrument_id=form.cleaned_data["instrument"],
        channel=form.cleaned_data["channel"],
    )
    skipped = sum(result.skipped.values())
    messages.success(
        request,
        _("%(n)d invitasjoner lagt i utboksen; %(s)d pasienter hoppet over.")
        % {"n": len(result.invited), "s": skipped},
    )
    return redirect("surveys:overview")
