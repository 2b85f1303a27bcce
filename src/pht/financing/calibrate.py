"""Budget-neutral calibration: the base rate at which the operating-grant model pays, in total
over a chosen set of practices, exactly what the fee model pays them.

The grant-model total is linear in the base rate ``b``::

    grant(b) = b × Σ_p U_p × (1 + q_p) / (10,000 × days) + Σ_p copayments_p

where ``U_p`` is the practice's need-weighted listed person-days (weights in 1/10,000) and
``q_p`` its quality fraction (quality share × goals reached). Solving ``grant(b) = fee`` gives
``b`` exactly (a fraction); it is reported to as many decimals as are needed for the totals —
each practice rounded to the øre, as the models pay — to agree to under 1 NOK.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from pht.core.errors import PhtError
from pht.core.money import Money, total
from pht.financing.compare import ModelParts, compare_parts, scheme_practices
from pht.financing.inputs import WEIGHT_SCALE, Tables

__all__ = ["Calibration", "calibrate_base_rate"]


@dataclass(frozen=True)
class Calibration:
    """The budget-neutral base rate for a set of practices in a year."""

    year: int
    practices: tuple[str, ...]
    reference_base_rate: Decimal
    base_rate: Decimal
    exact_base_rate: Fraction
    fee_total: Money
    grant_total: Money
    grant_total_at_reference: Money

    @property
    def residual(self) -> Money:
        """Grant total at the calibrated rate − fee total (|residual| < 1 NOK)."""
        return self.grant_total - self.fee_total


def calibrate_base_rate(
    tables: Tables, parts: ModelParts, *, practices: list[str] | None = None
) -> Calibration:
    """The base rate that makes the grant model budget-neutral for *practices*.

    Default practices: those in the scheme (with a financing model), else every practice.
    """
    inputs = parts.inputs
    chosen = practices or scheme_practices(tables) or None
    at_reference = compare_parts(tables, parts, practices=chosen)
    ids = tuple(p.fee.practice_id for p in at_reference.practices)
    fee_total = at_reference.fee_total
    copay = total(p.grant.copayments for p in at_reference.practices)
    slope = Fraction(0)  # NOK of grant per NOK of base rate
    for pid in ids:
        units = parts.grant.need_of(pid, True) + parts.grant.need_of(pid, False)
        q = parts.grant.quality_fraction(pid, inputs)
        slope += Fraction(units, WEIGHT_SCALE * inputs.days) * (1 + q)
    if slope == 0:
        raise PhtError("nobody is listed at the chosen practices: no base rate can be found")
    exact = Fraction(fee_total.amount - copay.amount) / slope
    best: tuple[Decimal, Money] | None = None
    for places in range(2, 13):
        rate = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
        )
        grant_total = compare_parts(tables, parts, practices=list(ids), base_rate=rate).grant_total
        best = (rate, grant_total)
        if abs((grant_total - fee_total).amount) < Decimal("0.5"):
            break
    assert best is not None
    return Calibration(
        year=inputs.year,
        practices=ids,
        reference_base_rate=inputs.rates.grant_model.base_rate,
        base_rate=best[0],
        exact_base_rate=exact,
        fee_total=fee_total,
        grant_total=best[1],
        grant_total_at_reference=at_reference.grant_total,
    )
