"""Norwegian number formats: amounts as "kr 1 234 567", decimals with a comma, shares in %."""

from __future__ import annotations

from typing import Any

from django import template

from pht.core.formats import as_decimal, kroner, number

register = template.Library()


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
    d = as_decimal(value)
    return "–" if d is None else number(d * 100, int(places)) + " %"
