"""NOK amounts with exact decimal arithmetic, rounded to whole øre.

Amounts are :class:`decimal.Decimal` kept to two decimals (øre). Multiplying by a rate or a
share may give fractions of an øre; :meth:`Money.rounded` rounds half up, and
:meth:`Money.allocate` splits an amount by weights without creating or losing an øre.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = ["ORE", "Money", "nok", "total"]

ORE = Decimal("0.01")


def _to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("use Decimal, int or str for money, never float")
    return value if isinstance(value, Decimal) else Decimal(value)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in Norwegian kroner. Exact; unrounded until :meth:`rounded` is called."""

    amount: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", _to_decimal(self.amount))
        if not self.amount.is_finite():
            raise ValueError(f"money must be finite, got {self.amount}")

    @classmethod
    def zero(cls) -> Money:
        """NOK 0.00."""
        return cls(Decimal("0.00"))

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount + other.amount)

    def __radd__(self, other: object) -> Money:
        if other == 0:  # makes sum() work
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount - other.amount)

    def __neg__(self) -> Money:
        return Money(-self.amount)

    def __mul__(self, factor: Decimal | int | Fraction) -> Money:
        if isinstance(factor, Fraction):
            return Money(self.amount * factor.numerator / factor.denominator)
        if isinstance(factor, (Decimal, int)) and not isinstance(factor, bool):
            return Money(self.amount * factor)
        return NotImplemented

    __rmul__ = __mul__

    def rounded(self) -> Money:
        """Rounded to whole øre, half up."""
        return Money(self.amount.quantize(ORE, rounding=ROUND_HALF_UP))

    def allocate(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Split this amount (rounded to øre) by *weights*; the parts add up exactly.

        Largest-remainder method: every part is rounded down to the øre, and the øre left over
        go one each to the parts with the largest remainders (ties to the earliest part).
        """
        if not weights:
            raise ValueError("allocate needs at least one weight")
        ws = [_to_decimal(w) for w in weights]
        if any(w < 0 for w in ws):
            raise ValueError("weights must not be negative")
        total_w = sum(ws, Decimal(0))
        if total_w == 0:
            raise ValueError("weights must not all be zero")
        total_ore = int(self.rounded().amount / ORE)
        sign = -1 if total_ore < 0 else 1
        total_ore = abs(total_ore)
        exact = [Fraction(total_ore) * Fraction(w) / Fraction(total_w) for w in ws]
        floors = [math.floor(e) for e in exact]
        left = total_ore - sum(floors)
        order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in order[:left]:
            floors[i] += 1
        return [Money(Decimal(sign * f) * ORE) for f in floors]

    def __str__(self) -> str:
        value = self.rounded().amount
        whole, _, frac = f"{abs(value):,.2f}".partition(".")
        sign = "-" if value < 0 else ""
        return f"NOK {sign}{whole.replace(',', ' ')},{frac}"


def nok(value: Decimal | int | str) -> Money:
    """Shorthand: ``nok("134000")``."""
    return Money(_to_decimal(value))


def total(amounts: Iterable[Money]) -> Money:
    """Sum of amounts (NOK 0.00 for none)."""
    return sum(amounts, Money.zero())
