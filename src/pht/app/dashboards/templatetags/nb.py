"""Norwegian number formats: amounts as "kr 1 234 567", decimals with a comma, shares in %."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    amount = getattr(value, "amount", value)  # pht.core.Money
    try:
        d = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None
    return None if d.is_nan() else d


def group(digits: str) -> str:
    """Thousands separated by a space: 1234567 → 1 234 567."""
    out = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return " ".join(out)


def number(value: Any, places: int = 0) -> str:
    """*value* with a space between thousands and a decimal comma; "–" when missing."""
    d = _decimal(value)
    if d is None:
        return "–"
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "−" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    return sign + group(whole) + ("," + frac if places else "")


def kroner(value: Any, places: int = 0) -> str:
    """An amount as "kr 1 234 567" (whole kroner) or with øre ("kr 1 234 567,89")."""
    d = _decimal(value)
    return "–" if d is None else "kr " + number(d, places)


@register.filter
def kr(value: Any) -> str:
    """Whole kroner: "kr 1 234 567"."""
    return kroner(value)


@register.filter
def kr_ore(value: Any) -> str:
    """Kroner and øre: "kr 1 234 567,89"."""
    return kroner(value, 2)


@register.filter
def dec(value: Any, places: int = 1) -> str:
    """A decimal with a comma: 2,33."""
    return number(value, int(places))


@register.filter
def pct(value: Any, places: int = 0) -> str:
    """A share as per cent: 0.625 → "63 %" ("–" when missing or suppressed)."""
    d = _decimal(value)
    return "–" if d is None else number(d * 100, int(places)) + " %"
