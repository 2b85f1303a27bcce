"""Template filters for Norwegian display: code texts, per cent, kroner."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.safestring import SafeString

from pht.app.care import codes

register = template.Library()


@register.filter
def codetexts(detail: str) -> SafeString:
    """Codes in *detail* each followed by its text."""
    return codes.with_texts(detail)


@register.filter
def percent(share: Any, decimals: int = 0) -> str:
    """A share 0–1 as per cent with a decimal comma: 0.213 -> "21 %"."""
    if share is None or share == "":
        return "—"
    return f"{number_format(float(share) * 100, decimals, use_l10n=True)} %"


@register.filter
def kr(amount: Any) -> str:
    """An amount as "kr 1 234" (whole kroner, non-breaking space between thousands)."""
    if amount is None or amount == "":
        return "—"
    value = round(float(amount))
    sign = "−" if value < 0 else ""
    return f"kr {sign}{abs(value):,}".replace(",", "\u00a0")


@register.simple_tag
def app_today() -> dict[str, Any]:
    """The app's today and whether it is the data's date (for the header)."""
    from pht.app.care import clock

    return {"date": clock.today(), "from_data": clock.is_data_date()}


@register.filter
def isodate(value: Any) -> str:
    """An ISO date text (2023-12-31) as the user reads it: 31.12.2023."""
    import datetime as dt

    if not value:
        return "—"
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day:%d.%m.%Y}"


@register.filter
def role_label(value: str) -> str:
    """A stored role (``nurse``) as the user reads it (``sykepleier``)."""
    from pht.app.accounts.models import AppRole

    return str(dict(AppRole.choices).get(value, value))


@register.filter
def financing_label(value: str) -> str:
    """A practice's financing model as the user reads it."""
    from django.utils.translation import gettext

    labels = {"fee": gettext("takstmodell"), "grant": gettext("driftstilskuddsmodell")}
    return labels.get(value, value) if value else "—"
