"""The operating-grant model (driftstilskuddsmodell): list-population grant, quality grant,
patient co-payments.

Per practice and year:

- **list-population grant**: base rate × the need weight of each listed person × listed days /
  days of the year. The need weight is the person's ``need_weight`` from
  :func:`pht.population.expected_need` when a need table is given, else the age/sex weight of the
  year's reference data × the target-group factor for a target-group person.
- **quality grant**: ``quality_share`` × the list-population grant × the weighted share of the
  year's quality goals the practice reached (each goal: share of its listed patients with the
  condition who had an annual check ≥ target).
- **co-payments**: each claim line's co-payment under the equivalent normaltariff code (the
  activity codes 074*/086*/070/071a and the nurse codes map to normaltariff codes in
  ``activity_equivalents.csv``), children free, split by the ceiling as in the fee model.

The total is linear in the base rate, which is what :mod:`pht.financing.calibrate` solves.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import ibis
import ibis.expr.types as ir

from pht.core.money import Money
from pht.core.tables import materialise
from pht.financing.activity import PracticeActivity, claim_activity
from pht.financing.fee_model import (
    money_from_ore,
    person_days,
    practice_facts,
    split_exact,
)
from pht.financing.inputs import (
    WEIGHT_SCALE,
    FinancingInputs,
    Tables,
    list_cells,
    listed_days,
    rows,
    target_persons,
)
from pht.financing.results import PracticeIncome, PracticeResults

__all__ = [
    "GoalResult",
    "GrantModelIncome",
    "GrantModelResult",
    "GrantParts",
    "grant_model_income",
    "grant_parts",
    "need_units",
    "quality_goals",
]


@dataclass(frozen=True)
class GoalResult:
    """One quality goal at one practice."""

    name: str
    patients: int
    with_annual_check: int
    share: Decimal | None
    target: Decimal
    reached: bool


@dataclass(frozen=True)
class GrantModelIncome(PracticeIncome):
    """One practice's income under the operating-grant model for a year."""

    need_weighted_person_years: Decimal
    list_grant: Money
    quality_grant: Money
    copay_patients: Money
    copay_ceiling: Money
    copay_children: Money
    target_group: Money
    other_patients: Money
    goals: tuple[GoalResult, ...]
    base_rate: Decimal

    @property
    def copayments(self) -> Money:
        """All co-payments (patients' and those the state pays)."""
        return self.copay_patients + self.copay_ceiling + self.copay_children

    @property
    def total(self) -> Money:
        """Everything the practice receives under the operating-grant model."""
        return self.list_grant + self.quality_grant + self.copayments

    @property
    def need_index(self) -> Decimal:
        """Need-weighted person-years per listed person-year."""
        if not self.listed_person_years:
            return Decimal(0)
        return (self.need_weighted_person_years / self.listed_person_years).quantize(
            Decimal("0.001")
        )

    def as_row(self) -> dict[str, Any]:
        """A flat row for reports."""
        return {
            **self.identity_row(),
            "need_index": self.need_index,
            "list_grant": self.list_grant,
            "quality_grant": self.quality_grant,
            "goals_reached": sum(g.reached for g in self.goals),
            "copay_patients": self.copay_patients,
            "copay_ceiling": self.copay_ceiling,
            "copay_children": self.copay_children,
            "target_group": self.target_group,
            "other_patients": self.other_patients,
            "total": self.total,
        }


@dataclass(frozen=True)
class GrantModelResult(PracticeResults[GrantModelIncome]):
    """Operating-grant income of every practice for a year."""

    year: int
    base_rate: Decimal
    practices: tuple[GrantModelIncome, ...]


def need_units(cells: list[dict[str, Any]]) -> dict[tuple[str, bool], int]:
    """Σ need weight (1/10,000) × listed days per (practice, target), from
    :func:`pht.financing.inputs.list_cells` rows."""
    out: dict[tuple[str, bool], int] = defaultdict(int)
    for r in cells:
        out[(r["practice_id"], bool(r["target"]))] += int(r["need"])
    return dict(out)


def _has_any(codes: ir.ArrayValue, wanted: tuple[str, ...]) -> ir.BooleanValue:
    """True when the code list holds one of *wanted*."""
    return codes.intersect(ibis.literal(list(wanted), type="array<string>")).length() > 0


def quality_goals(
    tables: Tables,
    listed: ir.Table | None,
    inputs: FinancingInputs,
    *,
    target_groups: ir.Table | None = None,
) -> dict[str, tuple[GoalResult, ...]]:
    """Each practice's result on each of the year's quality goals.

    Patients with the condition: listed at the practice during the year and, when a target-group
    table with a ``condition`` column is given, in it with that condition; otherwise with one of
    the goal's diagnosis codes on a claim in the year or the year before. An annual check: a
    claim at the practice in the year with a visit code and a long-consultation code among its
    tariffs and a diagnosis code of the condition among its diagnoses.

    Only claims whose diagnoses text contains one of the goals' codes are looked at (a cheap
    substring test first; the code lists are then compared exactly), and only the list rows of
    patients with a condition: from *listed* when given, else built for those persons alone
    (:func:`pht.financing.inputs.listed_days` with ``persons``; much less work).
    """
    goals = inputs.rates.grant_model.quality_goals
    out: dict[str, list[GoalResult]] = defaultdict(list)
    if not goals:
        return {}
    c = tables.table("contacts")
    wanted = sorted({code for g in goals for code in g.diagnosis_codes})
    maybe = functools.reduce(operator.or_, [c.diagnoses.contains(code) for code in wanted])
    c = c.filter(
        (c.date >= ibis.date(inputs.year - 1, 1, 1)) & (c.date < ibis.date(inputs.end)) & maybe
    )
    c = materialise(
        c.select(
            "person_id",
            "practice_id",
            "date",
            diags=c.diagnoses.fill_null("").split(" "),
            codes=c.tariffs.fill_null("").split(" "),
        )
    )
    use_tg = target_groups is not None and "condition" in target_groups.columns
    sick_by_goal: dict[str, ir.Table] = {}
    for goal in goals:
        if use_tg:
            assert target_groups is not None
            tg = target_groups.filter(target_groups.condition == goal.condition)
            sick_by_goal[goal.name] = tg.select(s_person="person_id").distinct()
        else:
            sick = c.filter(_has_any(c.diags, goal.diagnosis_codes))
            sick_by_goal[goal.name] = sick.select(s_person="person_id").distinct()
    anyone = ibis.union(*sick_by_goal.values(), distinct=True)
    if listed is None:
        at = listed_days(tables, inputs, persons=anyone)
    else:
        at = listed.join(anyone, listed.person_id == anyone.s_person)
    at = materialise(at.select(q_person="person_id", q_practice="practice_id").distinct())
    for goal in goals:
        has_diag = _has_any(c.diags, goal.diagnosis_codes)
        visit = _has_any(c.codes, goal.visit_codes)
        long = _has_any(c.codes, goal.long_codes)
        sick = sick_by_goal[goal.name]
        checks = c.filter((c.date >= ibis.date(inputs.start)) & has_diag & visit & long)
        checks = checks.select(k_person="person_id", k_practice="practice_id").distinct()
        denom = at.join(sick, at.q_person == sick.s_person)
        d = denom.left_join(
            checks, (denom.q_person == checks.k_person) & (denom.q_practice == checks.k_practice)
        )
        g = d.group_by(practice_id=d.q_practice).agg(
            patients=d.q_person.nunique(), checked=d.k_person.nunique()
        )
        for r in rows(g):
            n, k = int(r["patients"]), int(r["checked"])
            share = (Decimal(k) / n).quantize(Decimal("0.001")) if n else None
            reached = n >= goal.min_patients and Fraction(k, n) >= Fraction(goal.target)
            out[r["practice_id"]].append(GoalResult(goal.name, n, k, share, goal.target, reached))
    return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True)
class GrantParts:
    """What the grant model needs, before the base rate is applied (for calibration)."""

    need: dict[tuple[str, bool], int]
    days: dict[tuple[str, bool], int]
    goals: dict[str, tuple[GoalResult, ...]]
    activity: dict[str, PracticeActivity]
    need_factor: dict[tuple[str, bool], Fraction] = field(default_factory=dict)

    def need_of(self, practice_id: str, target: bool) -> Fraction:
        """Need-weighted listed person-days (weights in 1/10,000) of a cell, what-if applied."""
        key = (practice_id, target)
        return self.need.get(key, 0) * self.need_factor.get(key, Fraction(1))

    def quality_fraction(self, practice_id: str, inputs: FinancingInputs) -> Fraction:
        """Quality grant as a fraction of the list grant for a practice."""
        goals = inputs.rates.grant_model.quality_goals
        weight = {g.name: g.weight for g in goals}
        all_weight = sum(weight.values())
        if not all_weight:
            return Fraction(0)
        reached = sum(weight[g.name] for g in self.goals.get(practice_id, ()) if g.reached)
        return Fraction(inputs.rates.grant_model.quality_share) * Fraction(reached, all_weight)


def grant_parts(
    tables: Tables,
    inputs: FinancingInputs,
    *,
    target_groups: ir.Table | None = None,
    need_weights: ir.Table | None = None,
    activity: dict[str, PracticeActivity] | None = None,
    listed: ir.Table | None = None,
    cells: list[dict[str, Any]] | None = None,
) -> GrantParts:
    """Need units, person-days, quality goals and co-payments of every practice.

    *activity* (grant-model claim activity per practice), *listed* and *cells* (listed days
    summed by :func:`pht.financing.inputs.list_cells` with the same *need_weights*) may be
    passed when already built (see :func:`pht.financing.compare.model_parts`).
    """
    targets = target_persons(target_groups)
    listed = listed if listed is not None else listed_days(tables, inputs, targets=targets)
    if cells is None:
        cells = list_cells(listed, inputs, need_weights=need_weights)
    if activity is None:
        activity = claim_activity(tables, inputs, targets=targets)["grant"]
    return GrantParts(
        need=need_units(cells),
        days=person_days(cells),
        goals=quality_goals(tables, None, inputs, target_groups=target_groups),
        activity=activity,
    )


def list_grant_exact(
    parts: GrantParts, practice_id: str, target: bool, base_rate: Decimal, inputs: FinancingInputs
) -> Fraction:
    """Exact list-population grant in øre for one (practice, target) cell."""
    units = parts.need_of(practice_id, target)
    return Fraction(base_rate) * 100 * Fraction(units, WEIGHT_SCALE * inputs.days)


def assemble_grant(
    tables: Tables, inputs: FinancingInputs, parts: GrantParts, base_rate: Decimal
) -> GrantModelResult:
    """Grant-model income of every practice from *parts* at *base_rate*."""
    facts = practice_facts(tables)
    out = []
    for pid in sorted(facts):
        f = facts[pid]
        exact = {t: list_grant_exact(parts, pid, t, base_rate, inputs) for t in (True, False)}
        list_grant = money_from_ore(sum(exact.values(), Fraction(0)))
        qf = parts.quality_fraction(pid, inputs)
        quality = money_from_ore(sum(exact.values(), Fraction(0)) * qf)
        grant_split = split_exact(
            list_grant + quality, {"target": exact[True], "other": exact[False]}
        )
        act = parts.activity.get(pid, PracticeActivity())
        pd = parts.days.get((pid, True), 0) + parts.days.get((pid, False), 0)
        units = parts.need_of(pid, True) + parts.need_of(pid, False)
        out.append(
            GrantModelIncome(
                practice_id=pid,
                name=f["name"],
                municipality_code=f["municipality_code"],
                financing_model=f["financing_model"],
                listed_person_years=(Decimal(pd) / inputs.days).quantize(Decimal("0.001")),
                need_weighted_person_years=(
                    Decimal(units.numerator) / units.denominator / WEIGHT_SCALE / inputs.days
                ).quantize(Decimal("0.001")),
                list_grant=list_grant,
                quality_grant=quality,
                copay_patients=money_from_ore(act.sum("copay_patient_ore")),
                copay_ceiling=money_from_ore(act.sum("copay_ceiling_ore")),
                copay_children=money_from_ore(act.sum("copay_child_ore")),
                target_group=grant_split["target"] + money_from_ore(act.income_ore(target=True)),
                other_patients=grant_split["other"] + money_from_ore(act.income_ore(target=False)),
                goals=parts.goals.get(pid, ()),
                base_rate=base_rate,
            )
        )
    return GrantModelResult(year=inputs.year, base_rate=base_rate, practices=tuple(out))


def grant_model_income(
    tables: Tables,
    year: int,
    *,
    target_groups: ir.Table | None = None,
    need_weights: ir.Table | None = None,
    base_rate: Decimal | None = None,
    inputs: FinancingInputs | None = None,
    activity: dict[str, PracticeActivity] | None = None,
    listed: ir.Table | None = None,
) -> GrantModelResult:
    """Income of every practice under the operating-grant model in *year*.

    *base_rate* overrides the year's reference base rate (NOK per need-weighted person-year);
    *need_weights* is a table (person_id, need_weight) such as :func:`pht.population.expected_need`.
    """
    inputs = inputs or FinancingInputs.for_year(year)
    parts = grant_parts(
        tables,
        inputs,
        target_groups=target_groups,
        need_weights=need_weights,
        activity=activity,
        listed=listed,
    )
    rate = inputs.rates.grant_model.base_rate if base_rate is None else Decimal(base_rate)
    return assemble_grant(tables, inputs, parts, rate)
