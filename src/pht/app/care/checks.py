"""Structured annual checks (årskontroller) per condition, from reference data.

The items of each condition's check (``reference/data/care/annual_checks.toml``: the diabetes
check in the manner of the NOKLUS form, COPD, hypertension, coronary heart disease, asthma) are
the one schema of a check: the page's form is built from them and :func:`clean_values` checks the
values for the form, the API and the action alike, naming the field of every error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from django.utils.translation import get_language

from pht.core.errors import PhtError

_FILE = "data/care/annual_checks.toml"


class CheckValueError(PhtError):
    """A value of a check is missing or wrong; ``field`` names the item."""

    def __init__(self, message: str, *, field: str) -> None:
        self.field = field
        super().__init__(message, where=field)


@dataclass(frozen=True)
class CheckItem:
    """One field of a condition's annual check."""

    key: str
    label_nb: str
    label_en: str
    kind: str  # number | yesno | choice
    unit: str = ""
    min: float | None = None
    max: float | None = None
    decimals: int = 0
    required: bool = False
    choices: tuple[tuple[str, str, str], ...] = ()

    def label(self) -> str:
        """The label in the user's language."""
        return self.label_en if (get_language() or "nb").startswith("en") else self.label_nb

    def choice_label(self, value: str) -> str:
        """A choice's label in the user's language."""
        en = (get_language() or "nb").startswith("en")
        for v, nb, en_label in self.choices:
            if v == value:
                return en_label if en else nb
        return value


@dataclass(frozen=True)
class CheckSpec:
    """The annual check of one condition, with its source."""

    condition: str
    label_nb: str
    label_en: str
    status: str
    source: str
    items: tuple[CheckItem, ...]

    def label(self) -> str:
        """The condition's label in the user's language."""
        return self.label_en if (get_language() or "nb").startswith("en") else self.label_nb

    def item(self, key: str) -> CheckItem:
        """The item *key*."""
        for it in self.items:
            if it.key == key:
                return it
        raise KeyError(key)


@dataclass(frozen=True)
class Indicator:
    """A quality indicator computed from recorded check values."""

    key: str
    label_nb: str
    label_en: str
    condition: str
    item: str
    op: str
    target: Any
    status: str
    source: str

    def label(self) -> str:
        """The label in the user's language."""
        return self.label_en if (get_language() or "nb").startswith("en") else self.label_nb

    def met(self, values: dict[str, Any]) -> bool | None:
        """Whether *values* meet the target; None when the value was not recorded."""
        if self.item == "bp":
            sys_, dia = values.get("bp_systolic"), values.get("bp_diastolic")
            if sys_ is None or dia is None:
                return None
            return float(sys_) < self.target[0] and float(dia) < self.target[1]
        v = values.get(self.item)
        if v is None:
            return None
        if self.op == "<=":
            return float(v) <= float(self.target)
        if self.op == "<":
            return float(v) < float(self.target)
        return bool(v == self.target)


@cache
def _raw() -> dict[str, Any]:
    text = resources.files("pht.reference").joinpath(_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def specs() -> dict[str, CheckSpec]:
    """Every condition's check, by condition (validated on first use)."""
    raw = _raw()
    sources = raw["sources"]
    out = {}
    for condition, c in raw["conditions"].items():
        if c["source"] not in sources:
            raise PhtError(f"{_FILE}: [conditions.{condition}] cites unknown source {c['source']}")
        items = tuple(
            CheckItem(**{**it, "choices": tuple(tuple(x) for x in it.get("choices", ()))})
            for it in c["items"]
        )
        out[condition] = CheckSpec(
            condition, c["label_nb"], c["label_en"], c["status"], c["source"], items
        )
    return out


@cache
def indicators() -> tuple[Indicator, ...]:
    """The quality indicators from check values."""
    raw = _raw()
    out = []
    for ind in raw["indicators"]:
        if ind["source"] not in raw["sources"]:
            raise PhtError(f"{_FILE}: indicator {ind['key']} cites unknown source {ind['source']}")
        out.append(Indicator(**ind))
    return tuple(out)


def source_text(key: str) -> str:
    """The citation of source *key*."""
    return str(_raw()["sources"].get(key, key))


def spec(condition: str) -> CheckSpec:
    """The check of *condition*; an error naming the field ``condition`` if there is none."""
    found = specs().get(condition)
    if found is None:
        raise CheckValueError(
            "Det finnes ingen strukturert årskontroll for denne tilstanden.", field="condition"
        )
    return found


def _number(item: CheckItem, raw: Any) -> float | int:
    text = str(raw).strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CheckValueError(f"{item.label_nb}: skriv et tall.", field=item.key) from None
    if not value.is_finite():
        raise CheckValueError(f"{item.label_nb}: skriv et tall.", field=item.key)
    lo, hi = item.min, item.max
    if (lo is not None and value < Decimal(str(lo))) or (
        hi is not None and value > Decimal(str(hi))
    ):
        lo_s = f"{lo:g}".replace(".", ",")
        hi_s = f"{hi:g}".replace(".", ",")
        raise CheckValueError(
            f"{item.label_nb} må ligge mellom {lo_s} og {hi_s} {item.unit}".rstrip() + ".",
            field=item.key,
        )
    exp = value.as_tuple().exponent
    if isinstance(exp, int) and -exp > item.decimals:
        raise CheckValueError(
            f"{item.label_nb}: høyst {item.decimals} desimaler."
            if item.decimals
            else f"{item.label_nb}: skriv et helt tall.",
            field=item.key,
        )
    return int(value) if item.decimals == 0 else float(value)


def clean_values(condition: str, values: dict[str, Any]) -> dict[str, Any]:
    """*values* of *condition*'s check checked and typed (numbers, booleans, choice keys);
    empty values left out; the first error raised as :class:`CheckValueError`."""
    s = spec(condition)
    unknown = sorted(set(values) - {it.key for it in s.items})
    if unknown:
        raise CheckValueError(f"Ukjent felt: {', '.join(unknown)}.", field=unknown[0])
    out: dict[str, Any] = {}
    for item in s.items:
        raw = values.get(item.key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if item.required:
                raise CheckValueError(f"Fyll inn {item.label_nb}.", field=item.key)
            continue
        if item.kind == "number":
            out[item.key] = _number(item, raw)
        elif item.kind == "yesno":
            if isinstance(raw, bool):
                out[item.key] = raw
            elif str(raw).lower() in ("ja", "yes", "true", "1", "on"):
                out[item.key] = True
            elif str(raw).lower() in ("nei", "no", "false", "0"):
                out[item.key] = False
            else:
                raise CheckValueError(f"{item.label_nb}: velg ja eller nei.", field=item.key)
        else:
            keys = [c[0] for c in item.choices]
            if raw not in keys:
                raise CheckValueError(f"{item.label_nb}: velg et av valgene.", field=item.key)
            out[item.key] = raw
    if "bp_systolic" in out and "bp_diastolic" in out and out["bp_systolic"] <= out["bp_diastolic"]:
        raise CheckValueError(
            "Systolisk blodtrykk må være høyere enn diastolisk.", field="bp_diastolic"
        )
    return out


def display_values(condition: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value as the user reads it: decimal comma, unit, ja/nei) of recorded values."""
    from django.utils.formats import number_format
    from django.utils.translation import gettext

    s = specs().get(condition)
    if s is None:
        return [(k, str(v)) for k, v in values.items()]
    rows = []
    for item in s.items:
        if item.key not in values:
            continue
        v = values[item.key]
        if item.kind == "number":
            text = number_format(v, item.decimals, use_l10n=True)
            text = f"{text} {item.unit}".strip()
        elif item.kind == "yesno":
            text = gettext("ja") if v else gettext("nei")
        else:
            text = item.choice_label(v)
        rows.append((item.label(), text))
    return rows
