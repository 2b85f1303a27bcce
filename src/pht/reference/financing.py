"""Financing reference data (``data/financing/``): rates, ceilings, tariff amounts, grant model.

One rates file per calendar year (``<year>.toml``: basistilskudd by period, the co-payment
ceiling, the operating-grant model's base rate, need weights and quality goals, the nurse cost
for the roll-out) and one tariff file per year (``tariffs_<year>.csv``) in the columns of Helfo's
open tariff data, so that the official list for a year can be dropped in (CSV, or the JSON the
Helfo API returns). ``activity_equivalents.csv`` maps the operating-grant model's activity codes
and the nurse codes to the codes priced under each model.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pht.core.errors import ReferenceDataError
from pht.core.periods import Period, calendar_year
from pht.reference.files import data_text, read_csv, read_toml, validated

__all__ = [
    "ActivityEquivalent",
    "AgeSexBand",
    "BasisPeriod",
    "FinancingRates",
    "GrantModelRates",
    "PatientAdjustedIndicator",
    "PatientAdjustedWeights",
    "QualityGoal",
    "TariffAmount",
    "activity_equivalents",
    "all_activity_equivalents",
    "financing_years",
    "load_financing_rates",
    "load_patient_adjusted_weights",
    "load_tariff_amounts",
    "read_tariff_file",
]

_DIR = "financing"
_ALWAYS = Period(dt.date(1900, 1, 1), None)
_TARIFF_COLUMNS = ("takstkode", "honorar", "refusjon", "egenandel", "fradato", "tildato")
_YES = {"ja", "j", "true", "1", "yes", "y", "x"}
_NO = {"nei", "n", "false", "0", "no", ""}


class AgeSexBand(BaseModel):
    """A weight for women (F) and men (M) aged ``age_from``–``age_to`` (inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    age_from: int = Field(ge=0)
    age_to: int = Field(ge=0)
    female: Decimal = Field(alias="F", ge=0)
    male: Decimal = Field(alias="M", ge=0)


class BasisPeriod(BaseModel):
    """Basistilskudd per listed person and year in one period."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    valid_from: dt.date
    last_day: dt.date
    kind: Literal["flat", "knekkpunkt", "patient_adjusted"]
    rate: Decimal = Field(ge=0)
    rate_below_knekkpunkt: Decimal | None = None
    knekkpunkt: int | None = None
    list_cap: int | None = Field(default=None, ge=1)
    grunntilskudd_below: int | None = Field(default=None, ge=1)
    grunntilskudd_years: int | None = Field(default=None, ge=1)
    status: str
    statuses: dict[str, str] = {}
    sources: list[str]
    note: str = ""

    @property
    def period(self) -> Period:
        """The days of the period."""
        return Period.from_last_day(self.valid_from, self.last_day)

    def status_of(self, field: str) -> str:
        """The status of one figure of the period (its own when given, else the period's)."""
        return self.statuses.get(field, self.status)

    @property
    def grunntilskudd_rate(self) -> Decimal:
        """The rate a grunntilskudd pays per listed person short of ``grunntilskudd_below``."""
        return self.rate_below_knekkpunkt if self.rate_below_knekkpunkt is not None else self.rate


class QualityGoal(BaseModel):
    """A quality goal of the operating-grant model (annual-check share for a condition)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    condition: str
    diagnosis_codes: tuple[str, ...]
    visit_codes: tuple[str, ...]
    long_codes: tuple[str, ...]
    target: Decimal = Field(ge=0, le=1)
    min_patients: int = Field(ge=1)
    weight: int = Field(ge=1)


class GrantModelRates(BaseModel):
    """The operating-grant model's parameters for a year."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base_rate: Decimal = Field(ge=0)
    quality_share: Decimal = Field(ge=0, le=1)
    target_group_factor: Decimal = Field(ge=0)
    status: str
    sources: list[str]
    age_sex_weights: tuple[AgeSexBand, ...]
    quality_goals: tuple[QualityGoal, ...] = ()


class _Copayment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ceiling: Decimal = Field(ge=0)
    ceiling_status: str
    ceiling_sources: list[str]
    ceiling_note: str = ""
    free_below_age: int = Field(ge=0)
    free_below_age_sources: list[str]


class _Weights(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    status: str
    sources: list[str]
    bands: tuple[AgeSexBand, ...]
    structure_status: str = "C"
    note: str = ""


class PatientAdjustedIndicator(BaseModel):
    """An indicator of the patient-adjusted basistilskudd other than sex and age."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    label_nb: str
    weight: Decimal = Field(ge=0)
    status: str
    structure_status: str
    sources: list[str]


class PatientAdjustedWeights(BaseModel):
    """``patient_adjusted_basistilskudd.toml``: every weight of the patient-adjusted
    basistilskudd, in one place."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    valid_from: dt.date
    sex_age: _Weights
    indicators: tuple[PatientAdjustedIndicator, ...] = ()


class _Nurse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    cost_per_fte: Decimal = Field(ge=0)
    status: str
    sources: list[str]


class FinancingRates(BaseModel):
    """Everything the two financing models need for one calendar year, except tariff amounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    year: int
    copayment: _Copayment
    basistilskudd: tuple[BasisPeriod, ...]
    patient_adjusted_weights: _Weights | None = None
    grant_model: GrantModelRates
    nurse: _Nurse

    @property
    def ceiling(self) -> Decimal:
        """The co-payment ceiling (egenandelstak) of the year, NOK."""
        return self.copayment.ceiling


@dataclass(frozen=True, slots=True)
class TariffAmount:
    """One tariff code's amounts in one validity period (a row of Helfo's open tariff data)."""

    code: str
    description: str
    fee: Decimal  # honorar
    refund: Decimal  # refusjon
    copay: Decimal  # egenandel
    valid: Period
    counts_toward_ceiling: bool
    invalid_with: tuple[str, ...]
    max_per_year: int | None
    status: str
    source: str


@dataclass(frozen=True, slots=True)
class ActivityEquivalent:
    """What a claimed code is priced as under each model, for the provider who claimed it,
    in the days ``valid``."""

    code: str
    provider: str
    fee_codes: tuple[str, ...]
    grant_copay_codes: tuple[str, ...]
    status: str
    source: str
    valid: Period = _ALWAYS


def _data_dir_names() -> list[str]:
    folder = resources.files("pht.reference") / "data" / _DIR
    return sorted(p.name for p in folder.iterdir())


@cache
def financing_years() -> tuple[int, ...]:
    """The years that have a rates file."""
    return tuple(
        int(m.group(1)) for n in _data_dir_names() if (m := re.fullmatch(r"(\d{4})\.toml", n))
    )


def _check_bands(bands: Iterable[AgeSexBand], where: str) -> None:
    expected = 0
    for band in sorted(bands, key=lambda b: b.age_from):
        if band.age_from != expected or band.age_to < band.age_from:
            raise ReferenceDataError(
                f"age bands must run from 0 without gaps or overlaps (at age {band.age_from})",
                where=where,
            )
        expected = band.age_to + 1
    if expected < 120:
        raise ReferenceDataError("the last age band must reach at least age 119", where=where)


@cache
def load_financing_rates(year: int) -> FinancingRates:
    """The financing rates of calendar *year* from ``data/financing/<year>.toml``."""
    name = f"{_DIR}/{year}.toml"
    if year not in financing_years():
        known = ", ".join(str(y) for y in financing_years())
        raise ReferenceDataError(f"no financing rates for {year}; rates exist for {known}")
    rates = validated(FinancingRates, read_toml(name), where=name)
    if rates.year != year:
        raise ReferenceDataError(f"file says year {rates.year}", where=name)
    # basistilskudd periods cover the year exactly, in order
    day = calendar_year(year).start
    for p in sorted(rates.basistilskudd, key=lambda p: p.valid_from):
        if p.valid_from != day:
            raise ReferenceDataError(
                f"basistilskudd periods must cover the year without gaps (at {day})", where=name
            )
        if p.kind == "knekkpunkt" and (p.rate_below_knekkpunkt is None or not p.knekkpunkt):
            raise ReferenceDataError(
                "a knekkpunkt period needs rate_below_knekkpunkt and knekkpunkt", where=name
            )
        day = p.last_day + dt.timedelta(days=1)
        if p.list_cap is not None and p.knekkpunkt is not None and p.list_cap < p.knekkpunkt:
            raise ReferenceDataError("list_cap must be at least the knekkpunkt", where=name)
        if (p.grunntilskudd_below is None) != (p.grunntilskudd_years is None):
            raise ReferenceDataError(
                "grunntilskudd_below and grunntilskudd_years go together", where=name
            )
    if day != dt.date(year + 1, 1, 1):
        raise ReferenceDataError("basistilskudd periods must end on 31 December", where=name)
    _check_bands(rates.grant_model.age_sex_weights, f"{name} grant_model.age_sex_weights")
    if rates.patient_adjusted_weights is None:
        rates = rates.model_copy(
            update={"patient_adjusted_weights": load_patient_adjusted_weights().sex_age}
        )
    assert rates.patient_adjusted_weights is not None
    _check_bands(rates.patient_adjusted_weights.bands, f"{name} patient_adjusted_weights")
    return rates


@cache
def load_patient_adjusted_weights() -> PatientAdjustedWeights:
    """The weights of the patient-adjusted basistilskudd
    (``data/financing/patient_adjusted_basistilskudd.toml``)."""
    name = f"{_DIR}/patient_adjusted_basistilskudd.toml"
    weights = validated(PatientAdjustedWeights, read_toml(name), where=name)
    _check_bands(weights.sex_age.bands, f"{name} sex_age")
    return weights


def _decimal(value: Any, column: str, where: str) -> Decimal:
    try:
        out = Decimal(str(value).strip().replace(",", ".") or "0")
    except InvalidOperation:
        raise ReferenceDataError(f"{column}: {value!r} is not an amount", where=where) from None
    if not out.is_finite() or out < 0:
        raise ReferenceDataError(f"{column}: {value!r} is not an amount", where=where)
    return out


def _date(value: Any, column: str, where: str) -> dt.date | None:
    text = str(value or "").strip()[:10]
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ReferenceDataError(f"{column}: {value!r} is not a date", where=where) from None


def _codes(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(c for c in re.split(r"[\s,;]+", str(value or "")) if c)


def _row_to_amount(row: Mapping[str, Any], where: str) -> TariffAmount:
    missing = [c for c in _TARIFF_COLUMNS[:5] if c not in row]
    if missing:
        raise ReferenceDataError(f"missing column(s) {', '.join(missing)}", where=where)
    start = _date(row["fradato"], "fradato", where)
    if start is None:
        raise ReferenceDataError("fradato is empty", where=where)
    ceiling = str(row.get("inngaar_i_egenandelstak", "ja") or "ja").strip().lower()
    if ceiling not in _YES | _NO:
        raise ReferenceDataError(f"inngaar_i_egenandelstak: {ceiling!r} is not ja/nei", where=where)
    maximum = str(row.get("maks_antall_per_aar", "") or "").strip()
    try:
        valid = Period.from_last_day(start, _date(row.get("tildato"), "tildato", where))
    except ValueError as err:
        raise ReferenceDataError(str(err), where=where) from None
    return TariffAmount(
        code=str(row["takstkode"]).strip(),
        description=str(row.get("beskrivelse", "") or ""),
        fee=_decimal(row["honorar"], "honorar", where),
        refund=_decimal(row["refusjon"], "refusjon", where),
        copay=_decimal(row["egenandel"], "egenandel", where),
        valid=valid,
        counts_toward_ceiling=ceiling in _YES,
        invalid_with=_codes(row.get("ugyldig_kombinasjon")),
        max_per_year=int(maximum) if maximum else None,
        status=str(row.get("status", "") or "C"),
        source=str(row.get("kilde", "") or "helfo"),
    )


def _check_overlaps(amounts: list[TariffAmount], where: str) -> None:
    by_code: dict[str, list[TariffAmount]] = {}
    for a in amounts:
        by_code.setdefault(a.code, []).append(a)
    for code, rows in by_code.items():
        rows.sort(key=lambda a: a.valid.start)
        for first, second in itertools.pairwise(rows):
            if first.valid.end is None or first.valid.end > second.valid.start:
                raise ReferenceDataError(
                    f"code {code} has overlapping validity periods "
                    f"({first.valid.start} and {second.valid.start})",
                    where=where,
                )


def read_tariff_file(path: str | Path) -> tuple[TariffAmount, ...]:
    """Tariff amounts from a file in Helfo's open tariff format (CSV with a header, or JSON)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ReferenceDataError(
            f"cannot read the tariff file: {err.strerror}", where=str(p)
        ) from None
    return _parse_tariffs(text, json_format=p.suffix.lower() == ".json", name=str(p))


def _parse_tariffs(text: str, *, json_format: bool, name: str) -> tuple[TariffAmount, ...]:
    rows: list[Mapping[str, Any]]
    if json_format:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ReferenceDataError(f"not JSON: {err.msg}", where=name) from None
        rows = data if isinstance(data, list) else data.get("takstkoder", data.get("data", []))
        first_line = 1
    else:
        rows = list(csv.DictReader(text.splitlines()))
        first_line = 2
    amounts = [_row_to_amount(r, f"{name}:{i}") for i, r in enumerate(rows, start=first_line)]
    _check_overlaps(amounts, name)
    return tuple(amounts)


@cache
def load_tariff_amounts(year: int) -> tuple[TariffAmount, ...]:
    """Tariff amounts valid in calendar *year* (``data/financing/tariffs_<year>.csv``)."""
    name = f"{_DIR}/tariffs_{year}.csv"
    if f"tariffs_{year}.csv" not in _data_dir_names():
        raise ReferenceDataError(f"no tariff amounts for {year}", where=name)
    return _parse_tariffs(data_text(name), json_format=False, name=name)


@cache
def all_activity_equivalents() -> tuple[ActivityEquivalent, ...]:
    """Every row of ``activity_equivalents.csv`` with its validity."""
    name = f"{_DIR}/activity_equivalents.csv"
    out: list[ActivityEquivalent] = []
    for line, row in enumerate(read_csv(name), start=2):
        where = f"{name}:{line}"
        if row["provider"] not in ("gp", "nurse"):
            raise ReferenceDataError("provider must be gp or nurse", where=where)
        start = _date(row.get("valid_from"), "valid_from", where) or dt.date(1900, 1, 1)
        try:
            valid = Period.from_last_day(start, _date(row.get("last_day"), "last_day", where))
        except ValueError as err:
            raise ReferenceDataError(str(err), where=where) from None
        eq = ActivityEquivalent(
            code=row["code"],
            provider=row["provider"],
            fee_codes=_codes(row["fee_codes"]),
            grant_copay_codes=_codes(row["grant_copay_codes"]),
            status=row["status"],
            source=row["source"],
            valid=valid,
        )
        if any(
            (o.code, o.provider) == (eq.code, eq.provider) and o.valid.overlaps(eq.valid)
            for o in out
        ):
            raise ReferenceDataError(
                f"{eq.code} ({eq.provider}) has overlapping validity periods", where=where
            )
        out.append(eq)
    return tuple(out)


@cache
def activity_equivalents(year: int) -> dict[tuple[str, str], ActivityEquivalent]:
    """(code, provider) → the codes priced under the fee model and for co-payments under the
    operating-grant model in calendar *year*. Codes not listed are priced as themselves.

    A mapping that changes inside a year is refused (the rules change on 1 January 2026)."""
    year_days = calendar_year(year)
    out: dict[tuple[str, str], ActivityEquivalent] = {}
    for eq in all_activity_equivalents():
        if not eq.valid.overlaps(year_days):
            continue
        key = (eq.code, eq.provider)
        if key in out or not (year_days.start in eq.valid and year_days.last_day in eq.valid):
            raise ReferenceDataError(
                f"the equivalent of {eq.code} ({eq.provider}) changes inside {year}",
                where=f"{_DIR}/activity_equivalents.csv",
            )
        out[key] = eq
    return out
