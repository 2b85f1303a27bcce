"""Numbers, amounts and dates as a Norwegian reader writes them: "1 234 567", "2,33",
"kr 1 234 567", "03.12.2026". One definition for the app's template filters
(``pht.app.dashboards.templatetags.nb``), its reports and the commands' own texts."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["DATE_FORMAT", "as_decimal", "day", "group", "kroner", "number"]

# dd.mm.åååå, for strftime (Python and DuckDB alike).
DATE_FORMAT = "%d.%m.%Y"


def as_decimal(value: Any) -> Decimal | None:
    """*value* (a number, text, or a ``pht.core.Money``) as a Decimal; ``None`` when missing."""
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
    out: list[str] = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return " ".join(out)


def number(value: Any, places: int = 0) -> str:
    """*value* with a space between thousands and a decimal comma; "–" when missing."""
    d = as_decimal(value)
    if d is None:
        return "–"
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "−" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    return sign + group(whole) + ("," + frac if places else "")


def kroner(value: Any, places: int = 0) -> str:
    """An amount as "kr 1 234 567" (whole kroner) or with øre ("kr 1 234 567,89")."""
    d = as_decimal(value)
    return "–" if d is None else "kr " + number(d, places)


def day(value: dt.date) -> str:
    """A date as dd.mm.åååå: 03.12.2026."""
    return value.strftime(DATE_FORMAT)
