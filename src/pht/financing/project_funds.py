"""Project funds (prosjektmidler): per participating GP and year, to practice and municipality.

A practice receives the practice rate for each of its GPs for each whole calendar month it is in
the pilot; its municipality receives the municipality rate on the same basis. Rates are read from
reference data for the month they apply to. Amounts are exact and rounded to the øre once, per
practice.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from pht.core.money import Money, total
from pht.core.periods import Period, calendar_year, month_starts
from pht.reference.pilot import Pilot, PilotPractice
from pht.reference.scheme import ProjectFundsRate, SchemeRules

__all__ = [
    "GpMonthFunds",
    "MunicipalityFunds",
    "PracticeFunds",
    "ProjectFunds",
    "gp_month_funds",
    "project_funds_for_year",
]


@dataclass(frozen=True, slots=True)
class PracticeFunds:
    """One practice's project funds for a year, and its municipality's share for it."""

    practice_id: str
    practice: str
    municipality_code: str
    municipality: str
    district: str | None
    gps: int
    months: int
    to_practice: Money
    to_municipality: Money


@dataclass(frozen=True, slots=True)
class MunicipalityFunds:
    """A municipality's project funds for a year (the sum over its practices)."""

    municipality_code: str
    municipality: str
    practices: int
    gps: int
    to_municipality: Money


@dataclass(frozen=True, slots=True)
class ProjectFunds:
    """Project funds for one year: per practice, per municipality, and totals."""

    year: int
    practices: tuple[PracticeFunds, ...]
    municipalities: tuple[MunicipalityFunds, ...]

    @property
    def total_to_practices(self) -> Money:
        """Sum paid to practices."""
        return total(p.to_practice for p in self.practices)

    @property
    def total_to_municipalities(self) -> Money:
        """Sum paid to municipalities."""
        return total(m.to_municipality for m in self.municipalities)

    @property
    def gps(self) -> int:
        """GPs with funds this year."""
        return sum(p.gps for p in self.practices)


def _practice_funds(
    pilot: Pilot, rules: SchemeRules, practice: PilotPractice, year: int
) -> PracticeFunds | None:
    inside = pilot.practice_period(practice).intersection(calendar_year(year))
    if inside is None:
        return None
    months = list(month_starts(inside))
    if not months:
        return None
    to_practice = Fraction(0)
    to_municipality = Fraction(0)
    for first in months:
        rate = rules.project_funds_rate(first)
        to_practice += Fraction(rate.to_practice_per_gp) * practice.gps / 12
        to_municipality += Fraction(rate.to_municipality_per_gp) * practice.gps / 12
    municipality = pilot.municipality(practice.municipality)
    return PracticeFunds(
        practice_id=practice.practice_id,
        practice=practice.name,
        municipality_code=municipality.code,
        municipality=municipality.name,
        district=pilot.district(practice.district).name if practice.district else None,
        gps=practice.gps,
        months=len(months),
        to_practice=_to_money(to_practice),
        to_municipality=_to_money(to_municipality),
    )


def _to_money(value: Fraction) -> Money:
    return Money(Decimal(value.numerator) / Decimal(value.denominator)).rounded()


def project_funds_for_year(pilot: Pilot, rules: SchemeRules, year: int) -> ProjectFunds:
    """Project funds of every pilot practice and municipality for calendar *year*."""
    rows = [
        row
        for practice in pilot.practices
        if (row := _practice_funds(pilot, rules, practice, year)) is not None
    ]
    by_muni: dict[str, list[PracticeFunds]] = {}
    for row in rows:
        by_muni.setdefault(row.municipality_code, []).append(row)
    municipalities = tuple(
        MunicipalityFunds(
            municipality_code=code,
            municipality=items[0].municipality,
            practices=len(items),
            gps=sum(i.gps for i in items),
            to_municipality=total(i.to_municipality for i in items),
        )
        for code, items in sorted(by_muni.items(), key=lambda kv: kv[1][0].municipality)
    )
    return ProjectFunds(year=year, practices=tuple(rows), municipalities=municipalities)


@dataclass(frozen=True, slots=True)
class GpMonthFunds:
    """Project funds for a set of GP periods in one year, counted in whole GP-months."""

    year: int
    gp_months: int
    to_practice: Money
    to_municipality: Money


def gp_month_funds(rules: SchemeRules, periods: Iterable[Period], year: int) -> GpMonthFunds:
    """Project funds for GPs who are in the pilot for the given *periods*, in calendar *year*.

    The per-GP rule of :func:`project_funds_for_year`, one GP at a time: each GP counts for each
    calendar month of *year* whose first day lies in the GP's period (a GP who joins on 15 May
    counts from June; one who leaves on 30 September counts to September), at the rate in force
    that month. Used by the call's payments (pro rata for GPs who join or leave). The sums are
    exact and rounded to the øre once.
    """
    # months counted per rate, then each rate's twelfths summed once (the same exact sum)
    months: Counter[dt.date] = Counter()
    for period in periods:
        inside = period.intersection(calendar_year(year))
        if inside is not None:
            months.update(month_starts(inside))
    per_rate: dict[int, tuple[ProjectFundsRate, int]] = {}
    for first, count in months.items():
        rate = rules.project_funds_rate(first)
        per_rate[id(rate)] = (rate, per_rate.get(id(rate), (rate, 0))[1] + count)
    to_practice = sum(
        (Fraction(r.to_practice_per_gp) * n / 12 for r, n in per_rate.values()), Fraction(0)
    )
    to_municipality = sum(
        (Fraction(r.to_municipality_per_gp) * n / 12 for r, n in per_rate.values()), Fraction(0)
    )
    gp_months = sum(months.values())
    return GpMonthFunds(
        year=year,
        gp_months=gp_months,
        to_practice=_to_money(to_practice),
        to_municipality=_to_money(to_municipality),
    )
