"""The municipality page: participating practices, project funds by year (to each practice and
the municipality's own), payments made, and aggregate indicators per practice — every count and
share through the one small-cell rule (:mod:`pht.evaluation.suppression`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import altair as alt
import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import AppRole, Municipality, Practice
from pht.app.care.models import Patient, PracticeIndicator
from pht.app.dashboards.figures import ANNUAL_CHECK_INDICATOR
from pht.app.dashboards.models import ProjectFundsYear
from pht.evaluation.suppression import publish_count, publish_share


def check_access(request: HttpRequest, muni: Municipality) -> None:
    """The municipality's own lead and the directorate; 404 for another municipality's lead."""
    if request.user.is_superuser:
        return
    profile = profile_of(request.user)
    if profile is None:
        raise PermissionDenied
    if profile.role == AppRole.MUNICIPAL_LEAD:
        if profile.municipality_id != muni.code:
            raise Http404
        return
    if profile.role in (AppRole.CASE_OFFICER, AppRole.ANALYST):
        return
    raise PermissionDenied


def practices(muni: Municipality) -> list[Practice]:
    """The municipality's practices in the scheme."""
    return list(muni.practices.exclude(financing_model="").order_by("name"))


def funds(muni: Municipality, year: int) -> dict[str, Any]:
    """Project funds of *year*: per practice, to the practices, to the municipality, total."""
    rows = ProjectFundsYear.objects.filter(practice__municipality=muni, year=year).select_related(
        "practice"
    )
    items = [
        {
            "practice_id": r.practice_id,
            "practice": r.practice.name,
            "gp_months": r.gp_months,
            "to_practice": r.to_practice,
            "to_municipality": r.to_municipality,
        }
        for r in rows.order_by("practice__name")
    ]
    to_p = sum((r["to_practice"] for r in items), Decimal(0))
    to_m = sum((r["to_municipality"] for r in items), Decimal(0))
    return {"year": year, "practices": items, "to_practices": to_p, "to_municipality": to_m,
            "total": to_p + to_m}  # fmt: skip


def funds_by_year(muni: Municipality) -> list[dict[str, Any]]:
    """Every year with funds, oldest first."""
    years = sorted(
        set(
            ProjectFundsYear.objects.filter(practice__municipality=muni).values_list(
                "year", flat=True
            )
        )
    )
    return [funds(muni, y) for y in years]


def payments(muni: Municipality, year: int) -> list[dict[str, Any]]:
    """Payments of project funds made to the municipality and its practices in *year*, from the
    call's payment list (approved decisions only)."""
    from pht.app.call.models import CallCaseRecord
    from pht.call.payments import payments_for_year

    out: list[dict[str, Any]] = []
    for rec in CallCaseRecord.objects.all():
        case = rec.case
        if case.decisions is None:
            continue
        mine = {a for a, code in rec.owners.items() if code == muni.code}
        if not mine:
            continue
        lines = payments_for_year(
            case.decisions, case.applications, case.rules, year, changes=case.gp_changes
        )
        out += [
            {
                "recipient_kind": x.recipient_kind,
                "recipient": x.recipient,
                "orgnr": x.orgnr,
                "gp_months": x.gp_months,
                "amount": x.amount.amount,
                "reference": x.reference,
            }
            for x in lines
            if x.application_id in mine
        ]
    return out


def indicators(muni: Municipality) -> list[dict[str, Any]]:
    """Aggregate indicators per practice (no patient-level data), small cells suppressed."""
    out = []
    for p in practices(muni):
        agg = Patient.objects.filter(practice=p, listed=True).aggregate(
            listed=Count("pk"),
            target=Count("pk", filter=~Q(target_groups="")),
            worklist=Count("pk", filter=Q(flagged=True)),
            plans=Count("pk", filter=Q(plan__isnull=False)),
        )
        last = (
            PracticeIndicator.objects.filter(practice=p, indicator=ANNUAL_CHECK_INDICATOR)
            .order_by("-quarter")
            .first()
        )
        out.append(
            {
                "practice_id": p.pk,
                "practice": p.name,
                "listed": publish_count(agg["listed"]),
                "target_group_patients": publish_count(agg["target"]),
                "on_worklist": publish_count(agg["worklist"]),
                "with_plan": publish_count(agg["plans"]),
                "quarter": last.quarter if last else None,
                "annual_check_n": publish_count(last.denominator) if last else None,
                "annual_check_share": publish_share(last.numerator, last.denominator)
                if last
                else None,
            }
        )
    return out


def indicator_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars: the latest annual-check share per practice (suppressed cells left out)."""
    frame = pd.DataFrame(
        [
            {
                "Legekontor": r["practice"],
                "Andel": r["annual_check_share"],
                "n": r["annual_check_n"],
            }
            for r in rows
            if r["annual_check_share"] is not None
        ],
        columns=["Legekontor", "Andel", "n"],
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("Andel:Q", axis=alt.Axis(format="%"), title="Andel med årskontroll"),
            y=alt.Y("Legekontor:N", title=None),
            tooltip=["Legekontor", "n", alt.Tooltip("Andel:Q", format=".1%")],
        )
        .properties(width=420, height=160)
        .to_dict()
    )
