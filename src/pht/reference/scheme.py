"""The scheme's rules and rates as dated reference data (``data/scheme.toml``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

from pydantic import BaseModel, ConfigDict

from pht.core.errors import ReferenceDataError
from pht.core.money import Money, nok
from pht.core.periods import Period
from pht.core.scheme import SizeThresholds, StaffingNorm
from pht.reference.files import read_toml, validated

__all__ = ["ProjectFundsRate", "SchemePeriod", "SchemeRules", "load_scheme_rules"]

_FILE = "scheme.toml"


class _Norm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lists_per_nurse: Decimal
    listed_per_nurse: int
    sources: list[str]
    primary: str = "lists"
    primary_status: str = "A"
    primary_sources: list[str] = []


class _Sizes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    small_below: int
    large_above: int
    sources: list[str]


class ProjectFundsRate(BaseModel):
    """Project funds per participating GP and year, valid in a period."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    valid_from: dt.date
    last_day: dt.date
    to_practice_per_gp: Decimal
    to_municipality_per_gp: Decimal
    sources: list[str]

    @property
    def period(self) -> Period:
        """The days this rate applies to."""
        return Period.from_last_day(self.valid_from, self.last_day)

    @property
    def practice_rate(self) -> Money:
        """NOK per GP per year to the practice."""
        return nok(self.to_practice_per_gp)

    @property
    def municipality_rate(self) -> Money:
        """NOK per GP per year to the municipality."""
        return nok(self.to_municipality_per_gp)


class SchemePeriod(BaseModel):
    """A dated rule of the scheme (the trial, the nurse tariffs, delegated consultations)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    label_nb: str
    valid_from: dt.date
    last_day: dt.date | None = None
    status: str
    sources: list[str]
    note: str = ""

    @property
    def period(self) -> Period:
        """The days of the rule."""
        return Period.from_last_day(self.valid_from, self.last_day)


class _SchemeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staffing_norm: _Norm
    size_classes: _Sizes
    project_funds: list[ProjectFundsRate]
    periods: list[SchemePeriod] = []


class SchemeRules(BaseModel):
    """The scheme's parameters, loaded from reference data."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    staffing_norm: StaffingNorm
    size_thresholds: SizeThresholds
    project_funds: tuple[ProjectFundsRate, ...]
    sources: tuple[str, ...]
    periods: tuple[SchemePeriod, ...] = ()
    staffing_sources: tuple[str, ...] = ()
    staffing_primary_status: str = "A"
    staffing_primary_sources: tuple[str, ...] = ()

    def project_funds_rate(self, day: dt.date) -> ProjectFundsRate:
        """The project-funds rate in force on *day*."""
        for rate in self.project_funds:
            if day in rate.period:
                return rate
        raise ReferenceDataError(f"no project-funds rate is in force on {day}", where=_FILE)


@cache
def load_scheme_rules() -> SchemeRules:
    """The scheme's rules from ``data/scheme.toml``."""
    raw = validated(_SchemeFile, read_toml(_FILE), where=_FILE)
    return SchemeRules(
        staffing_norm=StaffingNorm(
            lists_per_nurse=raw.staffing_norm.lists_per_nurse,
            listed_per_nurse=raw.staffing_norm.listed_per_nurse,
            primary=raw.staffing_norm.primary,
        ),
        staffing_primary_status=raw.staffing_norm.primary_status,
        staffing_primary_sources=tuple(raw.staffing_norm.primary_sources),
        size_thresholds=SizeThresholds(
            small_below=raw.size_classes.small_below, large_above=raw.size_classes.large_above
        ),
        project_funds=tuple(raw.project_funds),
        periods=tuple(raw.periods),
        staffing_sources=tuple(raw.staffing_norm.sources),
        sources=tuple(
            sorted(
                {*raw.staffing_norm.sources, *raw.size_classes.sources}
                | {s for r in raw.project_funds for s in r.sources}
                | {s for p in raw.periods for s in p.sources}
            )
        ),
    )
