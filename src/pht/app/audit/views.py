"""The audit page (the daily leader's): filters and CSV export. Read-only by construction."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pht.app.accounts.access import profile_of, team_lead_required
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction, AuditEntry

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilter(forms.Form):
    """Filters of the audit page."""

    user = forms.CharField(label=_("Bruker"), required=False, max_length=150)
    patient = forms.CharField(label=_("Pasient (navn eller fødselsnummer)"), required=False)
    action = forms.ChoiceField(
        label=_("Handling"), required=False, choices=[("", _("alle")), *AuditAction.choices]
    )
    date_from = forms.DateField(label=_("Fra"), required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label=_("Til"), required=False, widget=DATE_WIDGET)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("Til-datoen må være etter fra-datoen."))
        return data


def entries_for(request: HttpRequest, data: dict[str, Any]) -> QuerySet[AuditEntry]:
    """Entries the user may see (their practice's; all for a superuser), filtered."""
    qs = AuditEntry.objects.all()
    if not request.user.is_superuser:
        profile = profile_of(request.user)
        assert profile is not None
        qs = qs.filter(practice_id=profile.practice_id)
    if data.get("user"):
        qs = qs.filter(username__icontains=data["user"])
    if data.get("patient"):
        text = data["patient"].strip()
        qs = qs.filter(Q(person_id=text) | Q(patient_name__icontains=text))
    if data.get("action"):
        qs = qs.filter(action=data["action"])
    tz = timezone.get_current_timezone()
    if data.get("date_from"):
        qs = qs.filter(at__gte=dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=tz))
    if data.get("date_to"):
        end = data["date_to"] + dt.timedelta(days=1)
        qs = qs.filter(at__lt=dt.datetime.combine(end, dt.time.min, tzinfo=tz))
    return qs


@team_lead_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """Who did what to which patient, when and why; newest first."""
    form = AuditFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    page = Paginator(entries_for(request, data), 50).get_page(request.GET.get("page"))
    record(
        user=request.user,
        action=AuditAction.VIEW_AUDIT,
        reason="kontroll av tilgang",
        detail={k: v for k, v in request.GET.items() if v},
        request=request,
    )
    query = "&".join(f"{k}={v}" for k, v in request.GET.items() if k != "page" and v)
    return render(request, "audit/audit_list.html", {"form": form, "page": page, "query": query})


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = (
    "at",
    "username",
    "role",
    "practice_id",
    "person_id",
    "patient_name",
    "action",
    "reason",
    "detail",
    "path",
)


@team_lead_required
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered entries as CSV (UTF-8 with BOM, so spreadsheets read æøå)."""
    form = AuditFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = entries_for(request, data)
    record(
        user=request.user,
        action=AuditAction.EXPORT_AUDIT,
        reason="eksport av logg",
        detail={k: v for k, v in request.GET.items() if v},
        request=request,
    )
    writer = csv.writer(_Echo())

    def rows() -> Any:
        yield "\ufeff" + writer.writerow(CSV_COLUMNS)
        for entry in qs.iterator():
            values = [getattr(entry, c) for c in CSV_COLUMNS]
            values[0] = timezone.localtime(entry.at).isoformat(timespec="seconds")
            yield writer.writerow(values)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="pht-audit.csv"'
    return response
