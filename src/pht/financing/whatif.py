"""What-if: change activity, list size or population mix and see both models.

Changes are applied to the exact parts of each model (per practice and target group):

- ``nurse_consultations``: extra nurse consultations per target-group patient and year (pro
  rata by listed days). Under the fee model each pays the nurse tariff (``nurse_code``, default
  pht01) valid on 1 July; under the operating-grant model only the co-payment of its equivalent
  normaltariff code (074a by a nurse → 2ad). The extra co-payments are counted as paid by the
  patient (the ceiling is not re-run for the added consultations).
- ``list_size``: a factor on every listed person (basistilskudd, list grant, activity and
  co-payments scale with it; the knekkpunkt supplement is scaled, not recomputed).
- ``target_share``: a factor on target-group persons only (the population mix).

Quality goals keep their base result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pht.core.errors import PhtError
from pht.core.money import Money, total
from pht.financing.compare import Comparison, ModelParts, compare_parts
from pht.financing.fee_model import FeeParts, PracticeActivity
from pht.financing.grant_model import GrantParts
from pht.financing.inputs import FinancingInputs, Tables, ore
from pht.reference.financing import activity_equivalents

__all__ = ["WhatIf", "WhatIfResult", "what_if"]

_KEYS = ("refund_ore", "copay_patient_ore", "copay_ceiling_ore", "copay_child_ore")


@dataclass(frozen=True)
class WhatIf:
    """The changes to try."""

    nurse_consultations: Decimal = Decimal(0)
    list_size: Decimal = Decimal(1)
    target_share: Decimal = Decimal(1)
    nurse_code: str = "pht01"
    grant_code: str = "074a"

    def __post_init__(self) -> None:
        if self.list_size < 0 or self.target_share < 0:
            raise PhtError("list size and target share factors cannot be negative")
        if self.nurse_consultations < 0:
            raise PhtError("extra nurse consultations cannot be negative")


@dataclass(frozen=True)
class WhatIfResult:
    """Both models before and after the change, per practice."""

    change: WhatIf
    base: Comparison
    changed: Comparison

    def rows(self) -> list[dict[str, Any]]:
        """One row per practice."""
        out = []
        for b, c in zip(self.base.practices, self.changed.practices, strict=True):
            out.append(
                {
                    "practice_id": b.fee.practice_id,
                    "practice": b.fee.name,
                    "financing_model": b.fee.financing_model,
                    "fee_model": b.fee.total,
                    "fee_model_whatif": c.fee.total,
                    "fee_change": c.fee.total - b.fee.total,
                    "grant_model": b.grant.total,
                    "grant_model_whatif": c.grant.total,
                    "grant_change": c.grant.total - b.grant.total,
                }
            )
        return out

    def totals(self) -> dict[str, Money]:
        """Totals before and after."""
        return {
            "fee_model": total(p.fee.total for p in self.base.practices),
            "fee_model_whatif": total(p.fee.total for p in self.changed.practices),
            "grant_model": total(p.grant.total for p in self.base.practices),
            "grant_model_whatif": total(p.grant.total for p in self.changed.practices),
        }


def _tariff_on(inputs: FinancingInputs, code: str, day: dt.date) -> tuple[int, int]:
    """(refund, co-payment) in øre of *code* on *day*, else its last row in the year."""
    rows = [t for t in inputs.tariffs if t.code == code and t.valid.start < inputs.end]
    rows = [t for t in rows if t.valid.end is None or t.valid.end > inputs.start]
    if not rows:
        raise PhtError(f"tariff {code} has no amount in {inputs.year}")
    chosen = next((t for t in rows if day in t.valid), max(rows, key=lambda t: t.valid.start))
    return ore(chosen.refund), ore(chosen.copay)


def _scaled(act: PracticeActivity, m: dict[bool, Fraction]) -> PracticeActivity:
    cells: dict[tuple[str, bool], dict[str, int | Fraction]] = {}
    for (provider, target), v in act.cells.items():
        cells[(provider, target)] = {
            k: (Fraction(x) * m[target] if k in _KEYS else x) for k, x in v.items()
        }
    return PracticeActivity(cells)


def _add(act: PracticeActivity, provider: str, extra: dict[str, Fraction]) -> PracticeActivity:
    cells = {k: dict(v) for k, v in act.cells.items()}
    cell = cells.setdefault((provider, True), {k: 0 for k in _KEYS})
    for k, v in extra.items():
        cell[k] = cell.get(k, 0) + v
    return PracticeActivity(cells)


def _apply(parts: ModelParts, change: WhatIf) -> ModelParts:
    inputs = parts.inputs
    m = {
        True: Fraction(change.list_size) * Fraction(change.target_share),
        False: Fraction(change.list_size),
    }
    july = dt.date(inputs.year, 7, 1)
    k = Fraction(change.nurse_consultations)
    fee_refund = fee_copay = grant_copay = 0
    if k:
        # the nurse code as priced in the year (from 2026 a delegated consultation, H2ad)
        nurse_eq = activity_equivalents(inputs.year).get((change.nurse_code, "nurse"))
        fee_codes = nurse_eq.fee_codes if nurse_eq else (change.nurse_code,)
        priced = [_tariff_on(inputs, c, july) for c in fee_codes]
        fee_refund, fee_copay = sum(p[0] for p in priced), sum(p[1] for p in priced)
        eq = activity_equivalents(inputs.year).get((change.grant_code, "nurse"))
        codes = eq.grant_copay_codes if eq else (change.grant_code,)
        grant_copay = sum(_tariff_on(inputs, c, july)[1] for c in codes)
    practices = {pid for pid, _ in parts.fee.days} | set(parts.fee.activity)
    fee_act: dict[str, PracticeActivity] = {}
    grant_act: dict[str, PracticeActivity] = {}
    for pid in practices:
        fa = _scaled(parts.fee.activity.get(pid, PracticeActivity()), m)
        ga = _scaled(parts.grant.activity.get(pid, PracticeActivity()), m)
        consultations = k * m[True] * Fraction(parts.fee.days.get((pid, True), 0), inputs.days)
        if consultations:
            fa = _add(
                fa,
                "nurse",
                {
                    "refund_ore": consultations * fee_refund,
                    "copay_patient_ore": consultations * fee_copay,
                },
            )
            ga = _add(ga, "nurse", {"copay_patient_ore": consultations * grant_copay})
        fee_act[pid], grant_act[pid] = fa, ga
    fee = FeeParts(
        capita={key: v * m[key[1]] for key, v in parts.fee.capita.items()},
        days={key: v for key, v in parts.fee.days.items()},
        activity=fee_act,
    )
    grant = GrantParts(
        need={key: v for key, v in parts.grant.need.items()},
        days=parts.grant.days,
        goals=parts.grant.goals,
        activity=grant_act,
        need_factor={key: m[key[1]] for key in parts.grant.need},
    )
    return replace(parts, fee=fee, grant=grant)


def what_if(
    tables: Tables,
    parts: ModelParts,
    change: WhatIf,
    *,
    practices: list[str] | None = None,
    base_rate: Decimal | None = None,
) -> WhatIfResult:
    """Both models per practice before and after *change*."""
    base = compare_parts(tables, parts, practices=practices, base_rate=base_rate)
    changed = compare_parts(tables, _apply(parts, change), practices=practices, base_rate=base_rate)
    return WhatIfResult(change=change, base=base, changed=changed)
