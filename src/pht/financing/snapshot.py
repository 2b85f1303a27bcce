"""Both models per practice, prepared once for the web app: the comparison as stored figures and
the what-if as exact linear coefficients, so a what-if answers without the warehouse.

:func:`practice_snapshots` runs :func:`pht.financing.compare.compare_parts` and
:func:`pht.financing.whatif.what_if` (the public contract) once per year at load: the base
amounts are the comparison's own (equal to ``pht finance compare`` to the øre), and the what-if
is linear in its changes (``what_if`` scales each practice's target-group and other parts by
factors and adds consultations in proportion to target-group days), so three unit runs give,
per practice and model, the part of the total that scales with every listed person
(``other``), the part that scales with target-group persons too (``target``) and the amount
one more nurse consultation per target-group patient-year adds (``per_consultation``):

    total(k, f, s) = f × other + f × s × (target + k × per_consultation)

with *k* extra nurse consultations per target-group patient-year, *f* the list-size factor and
*s* the target-share factor. :func:`apply_whatif` evaluates it exactly (fractions of øre) and
rounds once; it agrees with ``what_if`` to within the øre each component of the model rounds
(tests: well under 1 NOK). Amounts are kept as decimal strings of NOK (øre exact).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import ibis

from pht.core.money import Money
from pht.financing.compare import (
    ModelParts,
    compare_parts,
    funded_gp_periods,
    model_parts,
    scheme_practices,
)
from pht.financing.inputs import Tables, rows
from pht.financing.project_funds import gp_month_funds
from pht.financing.whatif import WhatIf, what_if
from pht.reference import load_scheme_rules
from pht.reference.scheme import SchemeRules

__all__ = ["AGE_BANDS", "WhatIfAnswer", "apply_whatif", "claims_by_code", "listed_by_band",
           "practice_snapshots", "project_funds_by_year"]  # fmt: skip

#: Age bands of the patient-adjusted basistilskudd (the fee model's weight classes).
AGE_BANDS = ((0, 5), (6, 19), (20, 39), (40, 59), (60, 79), (80, 200))


def _s(value: Any) -> Any:
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _s(v) for k, v in row.items()}


def listed_by_band(tables: Tables, year: int, practices: list[str]) -> dict[str, list[int]]:
    """Persons listed at each practice on 1 July of *year*, by the weight classes' age bands."""
    day = dt.date(year, 7, 1)
    lm = tables.table("list_memberships")
    pr = tables.table("practitioners")
    pe = tables.table("persons")
    on = lm.filter((lm.start <= ibis.date(day)) & (lm.end.isnull() | (lm.end >= ibis.date(day))))
    gps = pr.filter((pr.role == "gp") & pr.practice_id.isin(practices))
    gps = gps.select(gp_id=gps.practitioner_id, practice_id=gps.practice_id).distinct()
    j = on.join(gps, "gp_id").join(pe, "person_id")
    age = ibis.literal(year) - j.birth_date.year()
    case = ibis.cases(*[((age >= lo) & (age <= hi), i) for i, (lo, hi) in enumerate(AGE_BANDS)])
    j = j.mutate(band=case).group_by(["practice_id", "band"]).aggregate(n=j.person_id.nunique())
    out = {p: [0] * len(AGE_BANDS) for p in practices}
    for r in rows(j):
        if r["band"] is not None:
            out[r["practice_id"]][int(r["band"])] = int(r["n"])
    return out


def claims_by_code(tables: Tables, year: int, practices: list[str]) -> dict[str, dict[str, int]]:
    """Claims at each practice in *year* by their first tariff code (the claim's type)."""
    c = tables.table("contacts")
    c = c.filter(
        (c.date >= ibis.date(dt.date(year, 1, 1)))
        & (c.date < ibis.date(dt.date(year + 1, 1, 1)))
        & c.practice_id.isin(practices)
        & c.tariffs.notnull()
    )
    c = c.mutate(code=c.tariffs.strip().split(" ")[0])
    out: dict[str, dict[str, int]] = {p: {} for p in practices}
    for r in rows(c.group_by(["practice_id", "code"]).aggregate(n=c.count())):
        out[r["practice_id"]][r["code"]] = int(r["n"])
    return out


def practice_snapshots(
    tables: Tables,
    year: int,
    *,
    parts: ModelParts | None = None,
    practices: list[str] | None = None,
    use_population: bool = True,
) -> dict[str, dict[str, Any]]:
    """Per practice in the scheme: the comparison of *year* and the what-if coefficients."""
    parts = parts or model_parts(tables, year, use_population=use_population)
    chosen = practices if practices is not None else scheme_practices(tables)
    if not chosen:
        return {}
    base = compare_parts(tables, parts, practices=chosen)
    one = what_if(tables, parts, WhatIf(nurse_consultations=Decimal(1)), practices=chosen)
    two = what_if(tables, parts, WhatIf(target_share=Decimal(2)), practices=chosen)
    bands = listed_by_band(tables, year, chosen)
    codes = claims_by_code(tables, year, chosen)
    days = parts.inputs.days
    out: dict[str, dict[str, Any]] = {}
    for b, c1, c2 in zip(base.practices, one.changed.practices, two.changed.practices, strict=True):
        pid = b.fee.practice_id
        coeff = {}
        for model, base_total, k_total, s_total in (
            ("fee", b.fee.total, c1.fee.total, c2.fee.total),
            ("grant", b.grant.total, c1.grant.total, c2.grant.total),
        ):
            target = s_total - base_total
            coeff[model] = {
                "other": _s(base_total - target),
                "target": _s(target),
                "per_consultation": _s(k_total - base_total),
            }
        target_days = parts.fee.days.get((pid, True), 0)
        out[pid] = {
            "year": year,
            "base_rate": str(base.base_rate),
            "target_groups_from": base.target_groups_from,
            "need_weights_from": base.need_weights_from,
            "comparison": _row(b.as_row()),
            "fee": _row(b.fee.as_row()),
            "grant": _row(b.grant.as_row()),
            "goals": [_row(dict(g.__dict__)) for g in b.grant.goals],
            "drivers": {k: _s(v) for k, v in b.drivers.items()},
            "listed_by_band": bands.get(pid, []),
            "age_bands": [list(x) for x in AGE_BANDS],
            "claims_by_code": codes.get(pid, {}),
            "target_person_years": str(
                (Decimal(target_days) / days).quantize(Decimal("0.0001"), ROUND_HALF_UP)
            ),
            "whatif": coeff,
        }
    return out


@dataclass(frozen=True)
class WhatIfAnswer:
    """Both models' totals before and after a change."""

    fee: Money
    grant: Money
    fee_whatif: Money
    grant_whatif: Money
    consultations: Fraction  # extra nurse consultations a year at the practice

    @property
    def fee_change(self) -> Money:
        """Fee model after − before."""
        return self.fee_whatif - self.fee

    @property
    def grant_change(self) -> Money:
        """Grant model after − before."""
        return self.grant_whatif - self.grant


def _money(value: Fraction) -> Money:
    ore = (value * 100).limit_denominator(10**12)
    whole = Decimal(ore.numerator) / Decimal(ore.denominator)
    return Money(whole.quantize(Decimal(1), rounding=ROUND_HALF_UP) / 100)


def apply_whatif(
    snapshot: dict[str, Any],
    *,
    nurse_consultations: Decimal = Decimal(0),
    extra_consultations: Decimal = Decimal(0),
    list_size: Decimal = Decimal(1),
    target_share: Decimal = Decimal(1),
) -> WhatIfAnswer:
    """Both models after the change, from a snapshot's coefficients (no warehouse).

    *nurse_consultations*: extra per target-group patient and year (as ``WhatIf``);
    *extra_consultations*: extra a year for the practice as a whole (e.g. from more nurse FTE),
    turned into a number per target-group patient-year.
    """
    f, s = Fraction(list_size), Fraction(target_share)
    k = Fraction(nurse_consultations)
    tpy = Fraction(Decimal(snapshot["target_person_years"]))
    if extra_consultations:
        if not tpy:
            raise ValueError("the practice has no target-group patients to add consultations for")
        k += Fraction(extra_consultations) / (tpy * f * s) if f and s else 0
    totals = {}
    for model in ("fee", "grant"):
        c = {key: Fraction(Decimal(v)) for key, v in snapshot["whatif"][model].items()}
        totals[model] = f * c["other"] + f * s * (c["target"] + k * c["per_consultation"])
    base_fee = Money(Decimal(snapshot["fee"]["total"]))
    base_grant = Money(Decimal(snapshot["grant"]["total"]))
    return WhatIfAnswer(
        base_fee, base_grant, _money(totals["fee"]), _money(totals["grant"]), k * tpy * f * s
    )


def project_funds_by_year(
    tables: Tables, years: list[int], rules: SchemeRules | None = None
) -> dict[str, dict[int, dict[str, Any]]]:
    """Project funds of each practice in the scheme by year: GP-months, to the practice and to
    its municipality (the scheme's rule, pro rata by whole months, as
    :func:`pht.financing.compare.practice_project_funds`)."""
    rules = rules or load_scheme_rules()
    periods = funded_gp_periods(tables, rules)
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for pid, items in periods.items():
        for year in years:
            f = gp_month_funds(rules, items, year)
            if f.gp_months:
                out.setdefault(pid, {})[year] = {
                    "gp_months": f.gp_months,
                    "to_practice": _s(f.to_practice),
                    "to_municipality": _s(f.to_municipality),
                }
    return out
