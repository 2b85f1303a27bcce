"""The fee model (honorarmodell): basistilskudd per listed person plus refunds and co-payments.

Per practice and year:

- **basistilskudd**: the per-capita rate in force on each day × the days each person is on a
  list of one of the practice's GPs, divided by the days of the year. In a knekkpunkt period
  the first ``knekkpunkt`` persons of each GP list get the higher rate: the supplement is
  ``(higher − lower rate) × min(listed person-days, knekkpunkt × days of the period)`` per GP.
  From May 2023 the patient-adjusted rate is the national rate × the person's age/sex weight.
- **activity**: for every claim line the refund and the co-payment of its tariff valid on the
  claim date (see :func:`pht.financing.inputs.priced_lines` for the rules and
  :func:`pht.financing.activity.claim_activity` for how they are summed).

Everything is summed exactly (integers of øre × days × weight units) and rounded to the øre once
per practice; splits (GP/nurse work, target group) add up to the total to the øre.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import ibis.expr.types as ir

from pht.core.money import Money
from pht.financing.activity import PracticeActivity, claim_activity
from pht.financing.inputs import (
    WEIGHT_SCALE,
    FinancingInputs,
    Tables,
    gp_contract_starts,
    list_cells,
    listed_days,
    ore,
    rows,
    target_persons,
)
from pht.financing.results import PracticeIncome, PracticeResults

__all__ = [
    "FeeModelIncome",
    "FeeModelResult",
    "FeeParts",
    "PracticeActivity",
    "assemble_fee",
    "fee_model_income",
    "fee_parts",
    "money_from_ore",
    "per_capita_units",
    "practice_facts",
]


def money_from_ore(value: int | Fraction) -> Money:
    """Money from an exact number of øre, rounded half up to the øre."""
    f = Fraction(value)
    return Money(Decimal(f.numerator) / Decimal(f.denominator) / 100).rounded()


def split_exact(amount: Money, parts: dict[str, Fraction]) -> dict[str, Money]:
    """Split a rounded *amount* by exact weights; the parts add up to it to the øre."""
    keys = list(parts)
    weights = [Decimal(p.numerator) / Decimal(p.denominator) for p in parts.values()]
    if not keys or sum(weights) <= 0:
        return {k: Money.zero() for k in keys}
    return dict(zip(keys, amount.allocate(weights), strict=True))


@dataclass(frozen=True)
class FeeModelIncome(PracticeIncome):
    """One practice's income under the fee model for a year."""

    per_capita: Money
    refunds: Money
    copay_patients: Money
    copay_ceiling: Money  # co-payments the state pays above the ceiling (frikort)
    copay_children: Money  # co-payments the state pays for children
    gp_work: Money
    nurse_work: Money
    target_group: Money
    other_patients: Money
    claims: int
    lines: int
    unpriced_lines: int
    rejected_lines: int

    @property
    def activity(self) -> Money:
        """Refunds and co-payments together."""
        return self.refunds + self.copay_patients + self.copay_ceiling + self.copay_children

    @property
    def total(self) -> Money:
        """Everything the practice receives under the fee model."""
        return self.per_capita + self.activity

    def as_row(self) -> dict[str, Any]:
        """A flat row for reports."""
        return {
            **self.identity_row(),
            "per_capita": self.per_capita,
            "refunds": self.refunds,
            "copay_patients": self.copay_patients,
            "copay_ceiling": self.copay_ceiling,
            "copay_children": self.copay_children,
            "gp_work": self.gp_work,
            "nurse_work": self.nurse_work,
            "target_group": self.target_group,
            "other_patients": self.other_patients,
            "total": self.total,
            "claims": self.claims,
            "unpriced_lines": self.unpriced_lines,
            "rejected_lines": self.rejected_lines,
        }


@dataclass(frozen=True)
class FeeModelResult(PracticeResults[FeeModelIncome]):
    """Fee-model income of every practice for a year."""

    year: int
    practices: tuple[FeeModelIncome, ...]


def practice_facts(tables: Tables) -> dict[str, dict[str, Any]]:
    """practice_id → name, municipality_code, financing_model."""
    t = tables.table("practices").select(
        "practice_id", "name", "municipality_code", "financing_model"
    )
    return {r["practice_id"]: r for r in rows(t)}


def per_capita_units(
    cells: list[dict[str, Any]],
    inputs: FinancingInputs,
    *,
    gp_starts: dict[str, dt.date] | None = None,
) -> dict[tuple[str, bool], Fraction]:
    """Exact basistilskudd in øre per (practice, target) — before rounding.

    *cells* are :func:`pht.financing.inputs.list_cells` rows (per GP, practice and target).
    Per GP list and period, on top of rate × weighted person-days: the knekkpunkt supplement
    (the higher rate for the first ``knekkpunkt`` persons), less the lower rate for persons
    beyond ``list_cap``, plus the grunntilskudd (a list shorter than ``grunntilskudd_below`` paid
    as that long, in the GP's first ``grunntilskudd_years`` years from *gp_starts*). List
    lengths are averaged over the period; each GP's amounts are shared among its cells by
    person-days.
    """
    out: dict[tuple[str, bool], Fraction] = defaultdict(Fraction)
    denominator = inputs.days * WEIGHT_SCALE
    for r in cells:
        key = (r["practice_id"], bool(r["target"]))
        units = sum(
            ore(seg.rate) * int(r[f"u{i}"]) for i, seg in enumerate(inputs.rates.basistilskudd)
        )
        out[key] += Fraction(units, denominator)
    for i, seg in enumerate(inputs.rates.basistilskudd):
        per_gp: dict[str, int] = defaultdict(int)
        for r in cells:
            per_gp[r["gp_id"]] += int(r[f"d{i}"])
        seg_days = seg.period.days()
        extra: dict[str, Fraction] = defaultdict(Fraction)  # øre × days of the year, per GP
        for gp, gp_pd in per_gp.items():
            if seg.kind == "knekkpunkt" and seg.rate_below_knekkpunkt is not None:
                cap = (seg.knekkpunkt or 0) * seg_days
                extra[gp] += ore(seg.rate_below_knekkpunkt - seg.rate) * min(gp_pd, cap)
            if seg.list_cap is not None and gp_pd > seg.list_cap * seg_days:
                extra[gp] -= ore(seg.rate) * (gp_pd - seg.list_cap * seg_days)
            if seg.grunntilskudd_below and seg.grunntilskudd_years and gp_starts:
                start = gp_starts.get(gp)
                if start is None:
                    continue
                until = _add_years(start, seg.grunntilskudd_years)
                first, end = max(seg.period.start, start), min(seg.period.end or until, until)
                eligible = (end - first).days
                short = Fraction(seg.grunntilskudd_below * seg_days - gp_pd, 1)
                if eligible > 0 and short > 0:
                    extra[gp] += ore(seg.grunntilskudd_rate) * short * Fraction(eligible, seg_days)
        for r in cells:
            pd, gp_pd = int(r[f"d{i}"]), per_gp[r["gp_id"]]
            if pd == 0 or not extra.get(r["gp_id"]):
                continue
            share = extra[r["gp_id"]] * Fraction(pd, gp_pd) / inputs.days
            out[(r["practice_id"], bool(r["target"]))] += share
    return dict(out)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def person_days(cells: list[dict[str, Any]]) -> dict[tuple[str, bool], int]:
    """Listed person-days per (practice, target) from :func:`pht.financing.inputs.list_cells`."""
    out: dict[tuple[str, bool], int] = defaultdict(int)
    for r in cells:
        out[(r["practice_id"], bool(r["target"]))] += int(r["days"])
    return dict(out)


@dataclass(frozen=True)
class FeeParts:
    """What the fee model sums, per practice and target group, before rounding."""

    capita: dict[tuple[str, bool], Fraction]
    days: dict[tuple[str, bool], int]
    activity: dict[str, PracticeActivity]


def fee_parts(
    tables: Tables,
    inputs: FinancingInputs,
    *,
    target_groups: ir.Table | None = None,
    activity: dict[str, PracticeActivity] | None = None,
    cells: list[dict[str, Any]] | None = None,
) -> FeeParts:
    """Exact basistilskudd, person-days and priced activity of every practice.

    *activity* (fee-model claim activity per practice) and *cells* (listed days summed by
    :func:`pht.financing.inputs.list_cells`) may be passed when already built (see
    :func:`pht.financing.compare.model_parts`).
    """
    targets = target_persons(target_groups)
    if cells is None:
        cells = list_cells(listed_days(tables, inputs, targets=targets), inputs)
    if activity is None:
        activity = claim_activity(tables, inputs, targets=targets)["fee"]
    grunn = any(seg.grunntilskudd_below for seg in inputs.rates.basistilskudd)
    return FeeParts(
        capita=per_capita_units(
            cells, inputs, gp_starts=gp_contract_starts(tables) if grunn else None
        ),
        days=person_days(cells),
        activity=activity,
    )


def fee_model_income(
    tables: Tables,
    year: int,
    *,
    target_groups: ir.Table | None = None,
    inputs: FinancingInputs | None = None,
    activity: dict[str, PracticeActivity] | None = None,
    cells: list[dict[str, Any]] | None = None,
) -> FeeModelResult:
    """Income of every practice under the fee model in *year* (see the module docstring).

    *target_groups* is a table with a ``person_id`` column (e.g. from
    :func:`pht.population.target_groups`); without it nobody counts as target group.
    *activity* and *cells* may be passed when already built (see :mod:`pht.financing.compare`).
    """
    inputs = inputs or FinancingInputs.for_year(year)
    parts = fee_parts(tables, inputs, target_groups=target_groups, activity=activity, cells=cells)
    return assemble_fee(tables, inputs, parts)


def assemble_fee(tables: Tables, inputs: FinancingInputs, parts: FeeParts) -> FeeModelResult:
    """Fee-model income of every practice from *parts*, rounded to the øre per practice."""
    capita, days, activity = parts.capita, parts.days, parts.activity
    facts = practice_facts(tables)
    out = []
    for pid in sorted(facts):
        f = facts[pid]
        exact = {t: capita.get((pid, t), Fraction(0)) for t in (True, False)}
        per_capita = money_from_ore(sum(exact.values(), Fraction(0)))
        capita_split = split_exact(per_capita, {"target": exact[True], "other": exact[False]})
        act = activity.get(pid, PracticeActivity())
        pd = days.get((pid, True), 0) + days.get((pid, False), 0)
        out.append(
            FeeModelIncome(
                practice_id=pid,
                name=f["name"],
                municipality_code=f["municipality_code"],
                financing_model=f["financing_model"],
                listed_person_years=(Decimal(pd) / inputs.days).quantize(Decimal("0.001")),
                per_capita=per_capita,
                refunds=money_from_ore(act.sum("refund_ore")),
                copay_patients=money_from_ore(act.sum("copay_patient_ore")),
                copay_ceiling=money_from_ore(act.sum("copay_ceiling_ore")),
                copay_children=money_from_ore(act.sum("copay_child_ore")),
                gp_work=money_from_ore(act.income_ore(provider="gp")),
                nurse_work=money_from_ore(act.income_ore(provider="nurse")),
                target_group=capita_split["target"] + money_from_ore(act.income_ore(target=True)),
                other_patients=capita_split["other"] + money_from_ore(act.income_ore(target=False)),
                claims=int(act.sum("claims")),
                lines=int(act.sum("lines")),
                unpriced_lines=int(act.sum("unpriced")),
                rejected_lines=int(act.sum("rejected")),
            )
        )
    return FeeModelResult(year=inputs.year, practices=tuple(out))
