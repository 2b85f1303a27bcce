"""Calls as data: quotas per size class, GP target, dates, required content, criteria, funds.

A call is read from ``pht/reference/data/call/<id>.toml``; nothing about a call is a literal in
code. Project funds per GP and the size-class thresholds and staffing norm are the scheme's dated
rules (``scheme.toml``), which a call refers to.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from pht.core.errors import NotFound, PhtError
from pht.core.labels import SizeClass
from pht.core.money import Money
from pht.core.scheme import SizeThresholds, StaffingNorm, size_class
from pht.reference.files import read_toml, validated
from pht.reference.scheme import SchemeRules, load_scheme_rules

__all__ = [
    "CALL_FILES",
    "CallRules",
    "Criterion",
    "Quotas",
    "RequiredContent",
    "load_call",
]

#: Call id → reference-data file (in ``pht/reference/data``).
CALL_FILES: dict[str, str] = {"pht-2017": "call/call_2017.toml"}


class Quotas(BaseModel):
    """How many municipalities to select in each size class."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    small: int = Field(ge=0)
    medium: int = Field(ge=0)
    large: int = Field(ge=0)

    def of(self, cls: SizeClass) -> int:
        """The quota of size class *cls*."""
        return int(getattr(self, cls.value))

    def replaced(
        self, *, small: int | None = None, medium: int | None = None, large: int | None = None
    ) -> Quotas:
        """These quotas with some replaced (for what-if runs)."""
        return Quotas(
            small=self.small if small is None else small,
            medium=self.medium if medium is None else medium,
            large=self.large if large is None else large,
        )


class RequiredContent(BaseModel):
    """One item the call requires an application to contain."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    label: str
    source: str


class Criterion(BaseModel):
    """An assessment criterion with its weight (weights need not add up to 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    label: str
    weight: Decimal = Field(gt=0)
    status: str


class _Call(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    issuer: str
    published: dt.date
    info_meeting: dt.date | None = None
    deadline: dt.date
    decision_by: dt.date
    pilot_start: dt.date
    pilot_last_day: dt.date
    late_may_be_rejected: bool
    signatory: str
    sources: list[str]


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: int = Field(gt=0)
    target_status: str
    band: int = Field(ge=0)
    band_status: str
    sources: list[str]


class _Scoring(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_score: int
    max_score: int
    status: str
    sources: list[str]


class _Reports(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_month: int = Field(ge=1, le=12)
    due_day: int = Field(ge=1, le=31)
    reminder_days_before: int = Field(ge=0)
    status: str
    sources: list[str]


class _QuotasFile(Quotas):
    sources: list[str]


class _CallFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call: _Call
    quotas: _QuotasFile
    gp_target: _Target
    required: list[RequiredContent]
    scoring: _Scoring
    criterion: list[Criterion]
    reports: _Reports


class CallRules(BaseModel):
    """Everything a call decides: dates, quotas, GP target and band, content, criteria, funds."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    id: str
    title: str
    issuer: str
    published: dt.date
    deadline: dt.date
    decision_by: dt.date
    pilot_start: dt.date
    pilot_last_day: dt.date
    late_may_be_rejected: bool
    signatory: str
    quotas: Quotas
    gp_target: int
    gp_band: int
    required: tuple[RequiredContent, ...]
    criteria: tuple[Criterion, ...]
    min_score: int
    max_score: int
    report_due_month: int
    report_due_day: int
    reminder_days_before: int
    scheme: SchemeRules
    sources: tuple[str, ...]

    @property
    def size_thresholds(self) -> SizeThresholds:
        """Population limits of the size classes (from the scheme's rules)."""
        return self.scheme.size_thresholds

    @property
    def staffing_norm(self) -> StaffingNorm:
        """The nurse staffing norm (from the scheme's rules)."""
        return self.scheme.staffing_norm

    def size_class(self, population: int) -> SizeClass:
        """The size class of a municipality with *population* inhabitants."""
        return size_class(population, self.size_thresholds)

    @property
    def gp_range(self) -> tuple[int, int]:
        """The accepted total of GPs: target ± band (never below 0)."""
        return max(0, self.gp_target - self.gp_band), self.gp_target + self.gp_band

    def criterion(self, key: str) -> Criterion:
        """The criterion named *key*."""
        for c in self.criteria:
            if c.key == key:
                return c
        known = ", ".join(c.key for c in self.criteria)
        raise NotFound(f"unknown criterion {key!r}; the call has {known}", where=self.id)

    def is_late(self, submitted: dt.datetime | dt.date) -> bool:
        """True when a submission on *submitted* is after the deadline day (the day counts)."""
        day = submitted.date() if isinstance(submitted, dt.datetime) else submitted
        return day > self.deadline

    def project_funds_per_gp(self, day: dt.date) -> tuple[Money, Money]:
        """NOK per GP per year to the practice and to the municipality, in force on *day*."""
        rate = self.scheme.project_funds_rate(day)
        return rate.practice_rate, rate.municipality_rate

    def report_due(self, year: int) -> dt.date:
        """The day the yearly report for *year* is due (in the following year)."""
        return dt.date(year + 1, self.report_due_month, self.report_due_day)

    def with_what_if(
        self,
        *,
        small: int | None = None,
        medium: int | None = None,
        large: int | None = None,
        gp_target: int | None = None,
        gp_band: int | None = None,
    ) -> CallRules:
        """These rules with other quotas, GP target or band (for what-if selections)."""
        for name, value in (
            ("small", small),
            ("medium", medium),
            ("large", large),
            ("gp_target", gp_target),
            ("gp_band", gp_band),
        ):
            if value is not None and value < 0:
                raise PhtError(f"{name} cannot be negative, got {value}", where="what-if")
        return self.model_copy(
            update={
                "quotas": self.quotas.replaced(small=small, medium=medium, large=large),
                "gp_target": self.gp_target if gp_target is None else gp_target,
                "gp_band": self.gp_band if gp_band is None else gp_band,
            }
        )


@cache
def load_call(call_id: str = "pht-2017") -> CallRules:
    """The call *call_id* from reference data (default: the 2017 call)."""
    if call_id not in CALL_FILES:
        known = ", ".join(sorted(CALL_FILES))
        raise NotFound(f"unknown call {call_id!r}; known calls: {known}", where="calls")
    name = CALL_FILES[call_id]
    raw = validated(_CallFile, read_toml(name), where=name)
    if raw.call.id != call_id:
        raise PhtError(f"file declares call {raw.call.id!r}, expected {call_id!r}", where=name)
    scheme = load_scheme_rules()
    return CallRules(
        id=raw.call.id,
        title=raw.call.title,
        issuer=raw.call.issuer,
        published=raw.call.published,
        deadline=raw.call.deadline,
        decision_by=raw.call.decision_by,
        pilot_start=raw.call.pilot_start,
        pilot_last_day=raw.call.pilot_last_day,
        late_may_be_rejected=raw.call.late_may_be_rejected,
        signatory=raw.call.signatory,
        quotas=Quotas(small=raw.quotas.small, medium=raw.quotas.medium, large=raw.quotas.large),
        gp_target=raw.gp_target.target,
        gp_band=raw.gp_target.band,
        required=tuple(raw.required),
        criteria=tuple(raw.criterion),
        min_score=raw.scoring.min_score,
        max_score=raw.scoring.max_score,
        report_due_month=raw.reports.due_month,
        report_due_day=raw.reports.due_day,
        reminder_days_before=raw.reports.reminder_days_before,
        scheme=scheme,
        sources=tuple(
            sorted(
                {
                    *raw.call.sources,
                    *raw.quotas.sources,
                    *raw.gp_target.sources,
                    *raw.scoring.sources,
                    *raw.reports.sources,
                    *(r.source for r in raw.required),
                }
            )
        ),
    )
