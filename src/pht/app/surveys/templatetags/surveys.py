"""Hooks for the team's pages: ``{% survey_results patient %}`` on the patient page and in the
plan (scores over time; the view is audited), ``{% survey_need patient %}`` in the worklist row
(a reason when the latest score signals need), ``{% survey_invite_link patient %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html

from pht.app.surveys import actions
from pht.app.surveys.charts import series_for
from pht.app.surveys.models import ResponseStatus, SurveyResponse

register = template.Library()


@register.inclusion_tag("surveys/_patient_results.html", takes_context=True)
def survey_results(context: Any, patient: Any, where: str = "pasientside") -> dict[str, Any]:
    """The patient's scores over time; records the view in the audit log."""
    request = context.get("request")
    user = getattr(request, "user", None)
    rows = actions.view_results(user=user, patient=patient, request=request, where=where)
    return {
        "patient": patient,
        "series": series_for(rows),
        "count": len(rows),
        "compact": where != "pasientside",
    }


@register.simple_tag
def survey_need(patient: Any) -> str:
    """The reasons the patient's latest answers give (e.g. "WHO-5 28 eller lavere")."""
    latest: dict[str, list[str]] = {}
    for r in (
        SurveyResponse.objects.filter(patient=patient, status=ResponseStatus.SUBMITTED)
        .order_by("instrument", "-submitted_at")
        .values("instrument", "needs")
    ):
        latest.setdefault(r["instrument"], r["needs"])
    reasons = [n for needs in latest.values() for n in needs]
    if not reasons:
        return ""
    return format_html('<span class="survey-need">{}</span>', "; ".join(reasons))


@register.simple_tag
def survey_invite_link(patient: Any, source: str = "patient") -> str:
    """A link to invite the patient to a survey."""
    url = reverse("surveys:invite", kwargs={"uid": patient.uid})
    return format_html('<a href="{}?fra={}">Send spørreskjema</a>', url, source)
