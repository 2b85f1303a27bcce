"""The figures of a practice dashboard, computed from the app database (aggregates only).

Every published count and share goes through ONE rule, :mod:`pht.evaluation.suppression`
(fewer than ``min_cell`` = 5 persons, or 1–4 with the event, is not shown), in the page, the
chart JSON, the SVG rendered from it and the CSV alike: the tables are built once here,
suppressed, and every output is made from the suppressed table. Counts of the practice's own
patients are shown unsuppressed to its own team (they see the patients anyway); shares on fewer
than 5 persons are hidden for everyone, with their n.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import altair as alt
import pandas as pd
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.utils.translation import get_language

from pht.app.accounts.models import Practice, Practitioner
from pht.app.care.models import (
    Activity,
    ActivityKind,
    FollowUpPlan,
    Patient,
    PracticeIndicator,
    TargetGroupChoice,
)
from pht.core import StaffingAssessment
from pht.core.staffing import NeedInputs, StaffingPlan, plan_staffing
from pht.evaluation.indicators import min_cell
from pht.evaluation.suppression import publish_count, publish_share, suppress_table
from pht.reference import load_scheme_rules
from pht.reference.staffing import load_need_parameters

ANNUAL_CHECK_INDICATOR = "annual_check_share"
COMPARISON = "Sammenligningskontor"
ALL_LISTED = "Alle listeinnbyggere"
SMALL_CELL = min_cell()
#: seconds a practice's figures stay cached (a change of its data reaches them at once anyway)
CACHE_SECONDS = 15 * 60

T = TypeVar("T")


def cached(practice: Practice, name: str, compute: Callable[[], T]) -> T:
    """*compute*'s figures of *practice*, cached per process by the practice's ``data_version``.

    The version changes with every change of a patient or follow-up plan of the practice and
    with every load (:mod:`pht.app.care.freshness`), which is all the cached figures are made
    of (patients, plans, staff, registry indicators); the language is in the key for labels.
    Activities are not, so the home visits are counted afresh (:func:`staffing_plan`).
    """
    key = f"pht:dashboard:{name}:{practice.pk}:{practice.data_version}:{get_language()}"
    value: T | None = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


@dataclass(frozen=True)
class GroupCount:
    """Listed patients in one target group."""

    group: str
    label: str
    count: int | None  # None when suppressed


def listed_by_target_group(practice: Practice, *, suppressed: bool) -> list[GroupCount]:
    """Listed patients per target group (a patient counts once in each of their groups).

    Suppressed: the evaluation's rules 1 and 3 (a group is a subset of all listed, and groups
    nest), so neither a group nor its difference from another can be under 5.
    """
    patients = Patient.objects.filter(practice=practice, listed=True)
    agg = patients.aggregate(
        all=Count("pk"),
        **{
            v: Count("pk", filter=Q(target_groups__contains=f"|{v}|"))
            for v, _ in TargetGroupChoice.choices
        },
    )
    rows = [{"practice": practice.pk, "group": "all", "label": ALL_LISTED, "n": agg["all"]}]
    rows += [
        {"practice": practice.pk, "group": v, "label": str(label), "n": agg[v]}
        for v, label in TargetGroupChoice.choices
    ]
    frame = pd.DataFrame(rows)
    if suppressed:
        frame = suppress_table(frame, numbers=("n",), nested=(["practice"], "group", "all"))
        # a group with no patient is published as 0 (no person can be found in it)
        frame["n"] = [
            0 if raw == 0 else v for raw, v in zip([r["n"] for r in rows], frame["n"], strict=True)
        ]
    return [
        GroupCount(r["group"], r["label"], None if pd.isna(r["n"]) else int(r["n"]))
        for r in frame.to_dict("records")
        if r["group"] != "all"
    ]


def staffing(practice: Practice) -> StaffingAssessment:
    """Nurse FTEs against the staffing norm (both readings), from the practice's staff."""
    active = Practitioner.objects.filter(practice=practice, active=True)
    gp_lists = active.filter(role="gp").count()
    nurse_fte = active.filter(role="nurse").aggregate(s=Sum("fte"))["s"] or Decimal(0)
    listed = Patient.objects.filter(practice=practice, listed=True).count()
    norm = load_scheme_rules().staffing_norm
    return norm.assess(gp_lists=gp_lists, nurse_fte=nurse_fte, listed=listed)


def need_inputs(practice: Practice, *, today: dt.date | None = None) -> NeedInputs:
    """The counts of the staffing plan from the practice's own list."""
    today = today or _data_day(practice)
    counts = _need_counts(practice, today)
    return dataclasses.replace(counts, home_visits_last_year=home_visits(practice, today))


def _data_day(practice: Practice) -> dt.date:
    """The day the practice's list is from (the last load), else today."""
    listed = Patient.objects.filter(practice=practice, listed=True)
    day = listed.order_by("-as_of").values_list("as_of", flat=True).first()
    return day or dt.date.today()


def _need_counts(practice: Practice, today: dt.date) -> NeedInputs:
    """:func:`need_inputs` but for the home visits (0 here)."""
    listed = Patient.objects.filter(practice=practice, listed=True)
    year_on = today + dt.timedelta(days=365)
    plans = FollowUpPlan.objects.filter(patient__in=listed)
    intervals = plans.values_list("contact_interval_months", flat=True)
    contacts = sum((Decimal(12) / m for m in intervals if m), Decimal(0))
    due = 0
    for checks in listed.exclude(annual_checks={}).values_list("annual_checks", flat=True):
        for info in (checks or {}).values():
            day = (info or {}).get("due")
            if day is None or str(day) <= year_on.isoformat():
                due += 1
    counts = listed.aggregate(
        listed=Count("pk"),
        target=Count("pk", filter=~Q(target_groups="")),
        worklist=Count("pk", filter=Q(flagged=True)),
        worklist_no_plan=Count("pk", filter=Q(flagged=True, plan__isnull=True)),
        target_no_plan=Count("pk", filter=~Q(target_groups="") & Q(plan__isnull=True)),
        frail=Count("pk", filter=Q(frailty_band="severe")),
    )
    return NeedInputs(
        listed=counts["listed"],
        target_group_patients=counts["target"],
        worklist=counts["worklist"],
        worklist_without_plan=counts["worklist_no_plan"],
        plan_contacts_per_year=contacts.quantize(Decimal("0.1")),
        target_without_plan=counts["target_no_plan"],
        annual_checks_due=due,
        home_visits_last_year=0,
        severely_frail=counts["frail"],
    )


def home_visits(practice: Practice, today: dt.date) -> int:
    """Home visits to the practice's listed patients in the year up to *today*."""
    listed = Patient.objects.filter(practice=practice, listed=True)
    return Activity.objects.filter(
        patient__in=listed,
        kind=ActivityKind.HOME_VISIT,
        date__gt=today - dt.timedelta(days=365),
        date__lte=today,
    ).count()


def staffing_plan(practice: Practice) -> StaffingPlan:
    """Nurse hours the practice's patients need against its FTE and the norm (the counts
    cached by the practice's data version, the home visits counted afresh)."""

    def compute() -> tuple[StaffingAssessment, NeedInputs, dt.date]:
        day = _data_day(practice)
        return staffing(practice), _need_counts(practice, day), day

    norm, counts, day = cached(practice, "staffing", compute)
    inputs = dataclasses.replace(counts, home_visits_last_year=home_visits(practice, day))
    return plan_staffing(inputs, load_need_parameters(), nurse_fte=norm.nurse_fte, norm=norm)


def annual_check_trend(practice: Practice) -> pd.DataFrame:
    """Share with an annual check by quarter: this practice and the comparison practices.

    Comparison practices are those outside the scheme (no financing model), pooled (sum of
    numerators over sum of denominators). Columns: quarter, series, n (persons in the
    denominator), share (None when the cell is small). The numerator is never published.
    """
    own = PracticeIndicator.objects.filter(practice=practice, indicator=ANNUAL_CHECK_INDICATOR)
    rows: list[dict[str, Any]] = [
        {
            "quarter": i.quarter,
            "series": practice.name,
            "n": publish_count(i.denominator),
            "share": publish_share(i.numerator, i.denominator),
        }
        for i in own.order_by("quarter")
    ]
    comparison = (
        PracticeIndicator.objects.filter(
            indicator=ANNUAL_CHECK_INDICATOR, practice__financing_model=""
        )
        .values("quarter")
        .annotate(num=Sum("numerator"), den=Sum("denominator"))
        .order_by("quarter")
    )
    rows += [
        {
            "quarter": c["quarter"],
            "series": COMPARISON,
            "n": publish_count(c["den"]),
            "share": publish_share(c["num"], c["den"]),
        }
        for c in comparison
    ]
    # object columns keep a suppressed cell as None (not NaN) for the page and the CSV
    return pd.DataFrame(rows, columns=["quarter", "series", "n", "share"], dtype=object)


def target_group_chart(counts: list[GroupCount]) -> dict[str, Any]:
    """A Vega-Lite bar chart of listed patients by target group (suppressed cells left out)."""
    frame = pd.DataFrame(
        [{"Målgruppe": c.label, "Pasienter": c.count} for c in counts if c.count is not None],
        columns=["Målgruppe", "Pasienter"],
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
    """A Vega-Lite line chart of the published shares by quarter, with n in the tooltip."""
    data = frame[frame["share"].notna()][["quarter", "series", "n", "share"]]
    chart = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("quarter:O", title="Kvartal"),
            y=alt.Y("share:Q", title="Andel med årskontroll", axis=alt.Axis(format="%")),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["quarter", "series", "n", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=520, height=220)
    )
    return chart.to_dict()
