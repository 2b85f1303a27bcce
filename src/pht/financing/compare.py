"""Both financing models side by side per practice, with the drivers of the difference.

The difference (operating-grant model − fee model) splits exactly into three drivers:

- ``list_and_need``: list-population grant − basistilskudd (list size and need mix),
- ``activity``: co-payments under the grant model − refunds and co-payments under the fee model,
- ``quality``: the quality grant.

Descriptive figures beside them: listed person-years, need index, claims per listed person-year,
nurse share of fee-model activity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis.expr.types as ir

from pht.core.errors import NotFound
from pht.core.money import Money, total
from pht.core.periods import Period
from pht.core.tables import materialise
from pht.financing.activity import claim_activity
from pht.financing.fee_model import (
    FeeModelIncome,
    FeeModelResult,
    FeeParts,
    assemble_fee,
    fee_parts,
)
from pht.financing.grant_model import (
    GrantModelIncome,
    GrantModelResult,
    GrantParts,
    assemble_grant,
    grant_parts,
)
from pht.financing.inputs import (
    FinancingInputs,
    Tables,
    list_cells,
    listed_days,
    rows,
    target_persons,
)
from pht.financing.project_funds import gp_month_funds
from pht.reference import load_scheme_rules
from pht.reference.scheme import SchemeRules

__all__ = [
    "Comparison",
    "ModelParts",
    "PracticeComparison",
    "compare",
    "compare_parts",
    "model_parts",
    "population_tables",
    "practice_project_funds",
    "scheme_practices",
]


@dataclass(frozen=True)
class PracticeComparison:
    """One practice under both models."""

    fee: FeeModelIncome
    grant: GrantModelIncome
    project_funds: Money = field(default_factory=Money.zero)  # to the practice; both models

    @property
    def difference(self) -> Money:
        """Grant model − fee model."""
        return self.grant.total - self.fee.total

    @property
    def drivers(self) -> dict[str, Money]:
        """The difference split into list and need, activity and quality (adds up exactly)."""
        return {
            "list_and_need": self.grant.list_grant - self.fee.per_capita,
            "activity": self.grant.copayments - self.fee.activity,
            "quality": self.grant.quality_grant,
        }

    def as_row(self) -> dict[str, Any]:
        """A flat row for reports."""
        py = self.fee.listed_person_years
        claims_per = (Decimal(self.fee.claims) / py).quantize(Decimal("0.01")) if py else None
        nurse_share = (
            (self.fee.nurse_work.amount / self.fee.activity.amount).quantize(Decimal("0.001"))
            if self.fee.activity.amount
            else Decimal(0)
        )
        d = self.drivers
        return {
            "practice_id": self.fee.practice_id,
            "practice": self.fee.name,
            "municipality_code": self.fee.municipality_code,
            "financing_model": self.fee.financing_model,
            "listed_person_years": py,
            "need_index": self.grant.need_index,
            "claims_per_person_year": claims_per,
            "nurse_share": nurse_share,
            "fee_model": self.fee.total,
            "grant_model": self.grant.total,
            "difference": self.difference,
            "driver_list_and_need": d["list_and_need"],
            "driver_activity": d["activity"],
            "driver_quality": d["quality"],
            "project_funds": self.project_funds,
        }


@dataclass(frozen=True)
class Comparison:
    """Both models for a set of practices in a year."""

    year: int
    base_rate: Decimal
    target_groups_from: str
    need_weights_from: str
    practices: tuple[PracticeComparison, ...]

    @property
    def fee_total(self) -> Money:
        """Fee-model income summed over the practices."""
        return total(p.fee.total for p in self.practices)

    @property
    def grant_total(self) -> Money:
        """Grant-model income summed over the practices."""
        return total(p.grant.total for p in self.practices)

    def rows(self) -> list[dict[str, Any]]:
        """One row per practice."""
        return [p.as_row() for p in self.practices]

    def totals(self) -> dict[str, Any]:
        """Totals over the practices."""
        return {
            "practices": len(self.practices),
            "fee_model": self.fee_total,
            "grant_model": self.grant_total,
            "difference": self.grant_total - self.fee_total,
        }


def population_tables(
    tables: Tables, year: int
) -> tuple[ir.Table | None, ir.Table | None, str, str]:
    """Target groups and need weights on 1 January of *year* from :mod:`pht.population`.

    Returns (target_groups, need_weights, where target groups came from, where need came from);
    ``None`` and ``"none"``/``"age_sex"`` when the population room is not installed.
    """
    try:
        from pht import population
    except ImportError:  # the population room is optional for the financing room
        return None, None, "none", "age_sex"
    as_of = dt.date(year, 1, 1)
    tg = population.target_groups(tables, as_of)
    need = population.expected_need(tables, as_of).select("person_id", "need_weight")
    return tg, need, "pht.population.target_groups", "pht.population.expected_need"


def scheme_practices(tables: Tables) -> list[str]:
    """Practices with a financing model (the practices in the scheme)."""
    p = tables.table("practices")
    p = p.filter(p.financing_model.notnull() & (p.financing_model != ""))
    return sorted(r["practice_id"] for r in p.select("practice_id").to_pyarrow().to_pylist())


def practice_project_funds(
    tables: Tables, year: int, rules: SchemeRules | None = None
) -> dict[str, Money]:
    """Project funds to each practice in the scheme for *year*, by its GPs' months.

    Each GP of a practice with a financing model counts for each month of the year whose first
    day lies both in the GP's period at the practice and in the practice's period in the scheme
    (``pht_start``–``pht_end``), while the scheme's project-funds rate is in force
    (:func:`pht.financing.project_funds.gp_month_funds`).
    """
    rules = rules or load_scheme_rules()
    periods = funded_gp_periods(tables, rules)
    return {pid: gp_month_funds(rules, items, year).to_practice for pid, items in periods.items()}


def funded_gp_periods(tables: Tables, rules: SchemeRules) -> dict[str, list[Period]]:
    """Per practice in the scheme, each GP's time there that lies in the practice's period in
    the scheme and in a period of the project-funds rate (one entry per GP and rate period)."""
    funded = [r.period for r in rules.project_funds]
    pr = tables.table("practitioners")
    pc = tables.table("practices")
    pc = pc.filter(pc.financing_model.notnull() & pc.pht_start.notnull())
    j = pr.filter(pr.role == "gp").join(pc, "practice_id")
    periods: dict[str, list[Period]] = {}
    for r in rows(j.select("practice_id", "start", "end", "pht_start", "pht_end")):
        gp = Period.from_last_day(r["start"], r["end"])
        inside = gp.intersection(Period.from_last_day(r["pht_start"], r["pht_end"]))
        for rate_period in funded:
            part = inside.intersection(rate_period) if inside else None
            if part is not None:
                periods.setdefault(r["practice_id"], []).append(part)
    return periods


def _pick(
    fee: FeeModelResult,
    grant: GrantModelResult,
    practices: list[str] | None,
    funds: dict[str, Money],
) -> tuple[PracticeComparison, ...]:
    ids = [p.practice_id for p in fee.practices] if practices is None else practices
    known = {p.practice_id for p in fee.practices}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise NotFound(f"no practice with organisation number {', '.join(unknown)}")
    return tuple(
        PracticeComparison(fee.practice(i), grant.practice(i), funds.get(i, Money.zero()))
        for i in ids
    )


@dataclass(frozen=True)
class ModelParts:
    """Everything both models sum, built once from the warehouse for a year."""

    inputs: FinancingInputs
    fee: FeeParts
    grant: GrantParts
    target_groups_from: str
    need_weights_from: str


def model_parts(
    tables: Tables,
    year: int,
    *,
    target_groups: ir.Table | None = None,
    need_weights: ir.Table | None = None,
    use_population: bool = False,
    inputs: FinancingInputs | None = None,
) -> ModelParts:
    """Listed days and claim lines built once, priced under both models.

    With *use_population*, target groups and need weights come from :mod:`pht.population`
    (as of 1 January) unless given.
    """
    inputs = inputs or FinancingInputs.for_year(year)
    tg_from = "given" if target_groups is not None else "none"
    need_from = "given" if need_weights is not None else "age_sex"
    if use_population and (target_groups is None or need_weights is None):
        tg, need, tg_src, need_src = population_tables(tables, year)
        if target_groups is None and tg is not None:
            target_groups, tg_from = materialise(tg), tg_src
        if need_weights is None and need is not None:
            need_weights, need_from = materialise(need), need_src
    targets = target_persons(target_groups)
    listed = listed_days(tables, inputs, targets=targets)
    cells = list_cells(listed, inputs, need_weights=need_weights)
    activity = claim_activity(tables, inputs, targets=targets)
    fee = fee_parts(tables, inputs, activity=activity["fee"], cells=cells)
    grant = grant_parts(
        tables,
        inputs,
        target_groups=target_groups,
        need_weights=need_weights,
        activity=activity["grant"],
        listed=listed,
        cells=cells,
    )
    return ModelParts(inputs, fee, grant, tg_from, need_from)


def compare_parts(
    tables: Tables,
    parts: ModelParts,
    *,
    practices: list[str] | None = None,
    base_rate: Decimal | None = None,
) -> Comparison:
    """Both models from already built *parts*."""
    inputs = parts.inputs
    fee = assemble_fee(tables, inputs, parts.fee)
    rate = inputs.rates.grant_model.base_rate if base_rate is None else Decimal(base_rate)
    grant = assemble_grant(tables, inputs, parts.grant, rate)
    return Comparison(
        year=inputs.year,
        base_rate=rate,
        target_groups_from=parts.target_groups_from,
        need_weights_from=parts.need_weights_from,
        practices=_pick(fee, grant, practices, practice_project_funds(tables, inputs.year)),
    )


def compare(
    tables: Tables,
    year: int,
    *,
    practices: list[str] | None = None,
    target_groups: ir.Table | None = None,
    need_weights: ir.Table | None = None,
    use_population: bool = False,
    base_rate: Decimal | None = None,
    inputs: FinancingInputs | None = None,
) -> Comparison:
    """Income of *practices* (default: all) under both models in *year*.

    With *use_population*, target groups and need weights come from :mod:`pht.population`
    (as of 1 January) unless given. The claim lines and listed days are built once and shared.
    """
    parts = model_parts(
        tables,
        year,
        target_groups=target_groups,
        need_weights=need_weights,
        use_population=use_population,
        inputs=inputs,
    )
    return compare_parts(tables, parts, practices=practices, base_rate=base_rate)
