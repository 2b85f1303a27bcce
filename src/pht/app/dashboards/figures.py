"""The figures of a practice dashboard, computed from the app database (aggregates only).

Counts under :data:`SMALL_CELL` are suppressed (shown as None) for users outside the practice,
as published aggregates must be.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import altair as alt
import pandas as pd
from django.db.models import Count, Sum

from pht.app.accounts.models import Practice, Practitioner
from pht.app.care.models import Patient, PracticeIndicator, TargetGroupChoice
from pht.core import StaffingAssessment
from pht.reference import load_scheme_rules

SMALL_CELL = 5
ANNUAL_CHECK_INDICATOR = "annual_check_share"


@dataclass(frozen=True)
class GroupCount:
    """Listed patients in one target group."""

    group: str
    label: str
    count: int | None  # None when suppressed


def suppress(count: int, *, suppressed: bool) -> int | None:
    """*count*, or None when it is a small cell and suppression applies."""
    return None if suppressed and 0 < count < SMALL_CELL else count


def listed_by_target_group(practice: Practice, *, suppressed: bool) -> list[GroupCount]:
    """Listed patients per target group (a patient counts once in each of their groups)."""
    patients = Patient.objects.filter(practice=practice, listed=True)
    out = []
    for value, label in TargetGroupChoice.choices:
        n = patients.filter(target_groups__contains=f"|{value}|").count()
        out.append(GroupCount(value, str(label), suppress(n, suppressed=suppressed)))
    return out


def staffing(practice: Practice) -> StaffingAssessment:
    """Nurse FTEs against the staffing norm (reference data), from the practice's staff."""
    active = Practitioner.objects.filter(practice=practice, active=True)
    gp_lists = active.filter(role="gp").count()
    nurse_fte = active.filter(role="nurse").aggregate(s=Sum("fte"))["s"] or Decimal(0)
    listed = Patient.objects.filter(practice=practice, listed=True).count()
    norm = load_scheme_rules().staffing_norm
    return norm.assess(gp_lists=gp_lists, nurse_fte=nurse_fte, listed=listed)


def annual_check_trend(practice: Practice) -> pd.DataFrame:
    """Share with an annual check by quarter: this practice and the comparison practices.

    Comparison practices are those outside the scheme (no financing model); their shares are
    pooled (sum of numerators over sum of denominators).
    """
    own = PracticeIndicator.objects.filter(practice=practice, indicator=ANNUAL_CHECK_INDICATOR)
    rows: list[dict[str, Any]] = [
        {"quarter": i.quarter, "series": practice.name, "share": i.share}
        for i in own
        if i.share is not None
    ]
    comparison = (
        PracticeIndicator.objects.filter(
            indicator=ANNUAL_CHECK_INDICATOR, practice__financing_model=""
        )
        .values("quarter")
        .annotate(n=Sum("numerator"), d=Sum("denominator"), practices=Count("practice"))
        .order_by("quarter")
    )
    rows += [
        {"quarter": c["quarter"], "series": "Sammenligningskontor", "share": c["n"] / c["d"]}
        for c in comparison
        if c["d"]
    ]
    return pd.DataFrame(rows, columns=["quarter", "series", "share"])


def target_group_chart(counts: list[GroupCount]) -> dict[str, Any]:
    """A Vega-Lite bar chart of listed patients by target group."""
    frame = pd.DataFrame(
        [{"Målgruppe": c.label, "Pasienter": c.count} for c in counts if c.count is not None]
    )
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("Pasienter:Q"),
            y=alt.Y("Målgruppe:N", sort="-x", title=None),
            tooltip=["Målgruppe", "Pasienter"],
        )
        .properties(width=420, height=180)
    )
    return chart.to_dict()


def annual_check_chart(frame: pd.DataFrame) -> dict[str, Any]:
    """A Vega-Lite line chart of the annual-check share by quarter, practice vs comparison."""
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("quarter:O", title="Kvartal"),
            y=alt.Y("share:Q", title="Andel med årskontroll", axis=alt.Axis(format="%")),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["quarter", "series", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=520, height=220)
    )
    return chart.to_dict()
