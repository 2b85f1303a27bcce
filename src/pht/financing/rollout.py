"""National roll-out: what primary health teams in every practice would need, cost and pay.

Per municipality (of the practice) and in total, for a year of the national extract:

- GP lists: GPs with listed persons at the practice in the year; nurse FTEs the staffing norm
  asks (``pht.core.StaffingNorm`` from ``scheme.toml``: one nurse per three GP lists), summed
  over the municipality's practices; their cost at ``cost_per_fte`` a year (default: the year's
  reference figure, an assumption).
- income under the fee model and the operating-grant model (every practice as if it were on
  that model);
- project funds: every GP for every month of the year it works at a practice, at the rate in
  force that month — or, for months after the pilot's funds ended, the last rate the pilot had
  (a roll-out assumption).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pht.core.money import Money, nok, total
from pht.core.periods import Period
from pht.financing.compare import ModelParts, compare_parts
from pht.financing.inputs import Tables, rows
from pht.financing.project_funds import gp_month_funds
from pht.reference import load_scheme_rules
from pht.reference.scheme import SchemeRules

__all__ = ["MunicipalityRollout", "Rollout", "rollout"]


@dataclass(frozen=True)
class MunicipalityRollout:
    """One municipality's roll-out figures."""

    municipality_code: str
    municipality: str
    practices: int
    gp_lists: int
    listed_person_years: Decimal
    nurse_fte: Decimal
    nurse_cost: Money
    fee_model: Money
    grant_model: Money
    funds_to_practices: Money
    funds_to_municipality: Money

    def as_row(self) -> dict[str, Any]:
        """A flat row for reports."""
        return {
            "municipality_code": self.municipality_code,
            "municipality": self.municipality,
            "practices": self.practices,
            "gp_lists": self.gp_lists,
            "listed_person_years": self.listed_person_years,
            "nurse_fte": self.nurse_fte,
            "nurse_cost": self.nurse_cost,
            "fee_model": self.fee_model,
            "grant_model": self.grant_model,
            "funds_to_practices": self.funds_to_practices,
            "funds_to_municipality": self.funds_to_municipality,
        }


@dataclass(frozen=True)
class Rollout:
    """The roll-out per municipality and in total."""

    year: int
    cost_per_fte: Money
    municipalities: tuple[MunicipalityRollout, ...]

    def totals(self) -> dict[str, Any]:
        """Sums over municipalities."""
        ms = self.municipalities
        return {
            "municipality": "total",
            "practices": sum(m.practices for m in ms),
            "gp_lists": sum(m.gp_lists for m in ms),
            "listed_person_years": sum((m.listed_person_years for m in ms), Decimal(0)),
            "nurse_fte": sum((m.nurse_fte for m in ms), Decimal(0)),
            "nurse_cost": total(m.nurse_cost for m in ms),
            "fee_model": total(m.fee_model for m in ms),
            "grant_model": total(m.grant_model for m in ms),
            "funds_to_practices": total(m.funds_to_practices for m in ms),
            "funds_to_municipality": total(m.funds_to_municipality for m in ms),
        }


def _rollout_rules(rules: SchemeRules) -> SchemeRules:
    """The scheme rules with the last project-funds rate continued (roll-out assumption)."""
    rates = sorted(rules.project_funds, key=lambda r: r.valid_from)
    last = rates[-1].model_copy(update={"last_day": dt.date(9999, 12, 30)})
    return rules.model_copy(update={"project_funds": (*rates[:-1], last)})


def rollout(
    tables: Tables,
    parts: ModelParts,
    *,
    cost_per_fte: Decimal | None = None,
    rules: SchemeRules | None = None,
) -> Rollout:
    """Roll-out figures per municipality from the models' *parts* of the national extract."""
    inputs = parts.inputs
    rules = rules or load_scheme_rules()
    funds_rules = _rollout_rules(rules)
    cost = nok(inputs.rates.nurse.cost_per_fte if cost_per_fte is None else cost_per_fte)
    comparison = compare_parts(tables, parts)
    munis = {
        r["municipality_code"]: r["name"]
        for r in rows(tables.table("municipalities").select("municipality_code", "name"))
    }
    # GP lists per practice: GPs with listed persons in the year
    lm = tables.table("list_memberships")
    y0, y1 = dt.date(inputs.year, 1, 1), dt.date(inputs.year, 12, 31)
    lm = lm.filter((lm.start <= y1) & (lm.end.isnull() | (lm.end >= y0)))
    pr = tables.table("practitioners")
    gps = pr.filter(pr.role == "gp")
    active = lm.select(gp=lm.gp_id).distinct()
    j = gps.join(active, gps.practitioner_id == active.gp)
    j = j.filter((j.start <= y1) & (j.end.isnull() | (j.end >= y0)))
    lists = j.group_by("practice_id").agg(gp_lists=j.practitioner_id.nunique())
    gp_lists = {r["practice_id"]: int(r["gp_lists"]) for r in rows(lists)}
    periods: dict[str, list[Period]] = defaultdict(list)
    for r in rows(j.select("practice_id", "start", "end")):
        periods[r["practice_id"]].append(Period.from_last_day(r["start"], r["end"]))
    by_muni: dict[str, list[Any]] = defaultdict(list)
    for p in comparison.practices:
        by_muni[p.fee.municipality_code].append(p)
    out = []
    for code in sorted(by_muni):
        items = by_muni[code]
        fte = sum(
            (rules.staffing_norm.required_fte(gp_lists.get(p.fee.practice_id, 0)) for p in items),
            Decimal(0),
        )
        funds = gp_month_funds(
            funds_rules,
            [period for p in items for period in periods.get(p.fee.practice_id, [])],
            inputs.year,
        )
        out.append(
            MunicipalityRollout(
                municipality_code=code,
                municipality=munis.get(code, code),
                practices=len(items),
                gp_lists=sum(gp_lists.get(p.fee.practice_id, 0) for p in items),
                listed_person_years=sum((p.fee.listed_person_years for p in items), Decimal(0)),
                nurse_fte=fte,
                nurse_cost=(cost * fte).rounded(),
                fee_model=total(p.fee.total for p in items),
                grant_model=total(p.grant.total for p in items),
                funds_to_practices=funds.to_practice,
                funds_to_municipality=funds.to_municipality,
            )
        )
    return Rollout(year=inputs.year, cost_per_fte=cost, municipalities=tuple(out))
