"""Progress on quality goals by quarter, against the target, the comparison practices (pooled)
and the other team practices (named only with their consent, otherwise as a distribution), with
n and Wilson 95 % intervals; every cell through the one small-cell rule. And the quality grant a
grant-model practice's own achieved goals earn (rule in ``reference/data/quality.toml``)."""

from __future__ import annotations

import datetime as dt
import statistics
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Sum
from statsmodels.stats.proportion import proportion_confint

from pht.app.accounts.models import Practice
from pht.app.care.models import FollowUpPlan, Patient, PracticeIndicator
from pht.app.quality.models import Measurement, PeerConsent, QualityGoal
from pht.evaluation.suppression import is_small, publish_count, publish_share
from pht.reference.quality import QualityIndicator, load_quality_catalogue


def quarter_of(day: dt.date) -> str:
    """ "2023Q1" for a day in the first quarter of 2023."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def as_of(practice: Practice) -> dt.date:
    """The day the practice's data are from (the last load), else today."""
    day = (
        Patient.objects.filter(practice=practice)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    return day or dt.date.today()


def _live(practice: Practice, ind: QualityIndicator) -> tuple[int, int]:
    listed = Patient.objects.filter(practice=practice, listed=True)
    if ind.condition:
        day = as_of(practice)
        since = (day - dt.timedelta(days=365)).isoformat()
        den = num = 0
        for checks in listed.filter(conditions__contains=f"|{ind.condition}|").values_list(
            "annual_checks", flat=True
        ):
            den += 1
            last = ((checks or {}).get(ind.condition) or {}).get("last")
            num += bool(last and since <= str(last) <= day.isoformat())
        return num, den
    target = listed.exclude(target_groups="")
    planned = FollowUpPlan.objects.filter(patient__in=target).count()
    return planned, target.count()


def raw_series(practice: Practice, ind: QualityIndicator) -> list[dict[str, Any]]:
    """(quarter, numerator, denominator) of the practice for *ind*, oldest first."""
    if ind.source == "registry":
        rows = PracticeIndicator.objects.filter(
            practice=practice, indicator=ind.registry_indicator
        ).order_by("quarter")
        return [{"quarter": r.quarter, "num": r.numerator, "den": r.denominator} for r in rows]
    if ind.source == "manual":
        rows = Measurement.objects.filter(practice=practice, indicator=ind.key).order_by("quarter")
        return [{"quarter": r.quarter, "num": r.numerator, "den": r.denominator} for r in rows]
    num, den = _live(practice, ind)
    return [{"quarter": quarter_of(as_of(practice)), "num": num, "den": den}]


def cell(num: int, den: int) -> dict[str, Any]:
    """A published cell: share, n and its Wilson 95 % interval (all None when small)."""
    share = publish_share(num, den)
    if share is None:
        return {"n": publish_count(den), "share": None, "low": None, "high": None}
    low, high = proportion_confint(num, den, alpha=0.05, method="wilson")
    return {"n": den, "share": share, "low": float(low), "high": float(high)}


def _comparison(ind: QualityIndicator) -> dict[str, dict[str, Any]]:
    if ind.source != "registry":
        return {}
    rows = (
        PracticeIndicator.objects.filter(
            indicator=ind.registry_indicator, practice__financing_model=""
        )
        .values("quarter")
        .annotate(num=Sum("numerator"), den=Sum("denominator"), practices=Count("practice"))
    )
    return {r["quarter"]: cell(r["num"], r["den"]) for r in rows}


def progress(goal: QualityGoal) -> dict[str, Any]:
    """The goal's quarters: the practice's cell, the target, the comparison practices."""
    ind = load_quality_catalogue().get(goal.indicator)
    first, last = quarter_of(goal.period_start), quarter_of(goal.period_end)
    comparison = _comparison(ind)
    quarters = []
    for r in raw_series(goal.practice, ind):
        c = cell(r["num"], r["den"])
        quarters.append(
            {
                "quarter": r["quarter"],
                "in_period": first <= r["quarter"] <= last,
                **c,
                "met": c["share"] is not None and Decimal(str(c["share"])) >= goal.target,
                "comparison": comparison.get(r["quarter"]),
            }
        )
    in_period = [q for q in quarters if q["in_period"]]
    latest = in_period[-1] if in_period else None
    return {
        "indicator": ind,
        "quarters": quarters,
        "latest": latest,
        "achieved": bool(latest and latest["met"]),
    }


def peers(practice: Practice, ind: QualityIndicator) -> dict[str, Any]:
    """The other team practices' latest cells: by name with consent, else as a distribution."""
    named, anonymous = [], []
    consent = set(PeerConsent.objects.filter(share_name=True).values_list("practice_id", flat=True))
    for other in Practice.objects.exclude(financing_model="").exclude(pk=practice.pk):
        series = raw_series(other, ind)
        if not series:
            continue
        c = cell(series[-1]["num"], series[-1]["den"])
        if c["share"] is None:
            continue
        if other.pk in consent:
            named.append({"practice": other.name, "quarter": series[-1]["quarter"], **c})
        else:
            anonymous.append(c["share"])
    dist = None
    if len(anonymous) >= 3:  # fewer would let a practice be recognised
        dist = {
            "practices": len(anonymous),
            "min": min(anonymous),
            "median": statistics.median(anonymous),
            "max": max(anonymous),
        }
    return {"named": named, "distribution": dist, "hidden": len(anonymous) if dist is None else 0}


def quality_grant(practice: Practice, snap: Any) -> dict[str, Any] | None:
    """The quality grant of the snapshot's year from the practice's own goals (grant model)."""
    if practice.financing_model != "grant":
        return None
    year = snap.year
    rule = load_quality_catalogue().grant
    goals = QualityGoal.objects.filter(
        practice=practice,
        period_start__lte=dt.date(year, 12, 31),
        period_end__gte=dt.date(year, 1, 1),
    )
    results = [progress(g)["achieved"] for g in goals]
    list_grant = Decimal(snap.data["grant"]["list_grant"])
    weight = Decimal(sum(results)) / Decimal(max(len(results), rule.min_goals))
    amount = (rule.share_of_list_grant * list_grant * weight).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return {
        "year": year,
        "goals": len(results),
        "reached": sum(results),
        "amount": amount,
        "ore": int(amount * 100),
        "rule": (
            f"Regel (antakelse, {rule.status}): {rule.share_of_list_grant * 100:.0f} % av "
            f"listetilskuddet × nådde mål / antall mål (minst {rule.min_goals}); "
            f"kilder: {', '.join(rule.sources)}."
        ),
    }


def is_small_cell(num: int, den: int) -> bool:
    """Whether a cell is small (the one rule)."""
    return is_small(den, num)


__all__ = ["cell", "peers", "progress", "quality_grant", "quarter_of", "raw_series"]
