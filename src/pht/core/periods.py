"""Periods: half-open date ranges ``[start, end)``.

Registries write the last day of a period (inclusive end); pht keeps every period half-open so
that adjacent periods never overlap and lengths add up. :meth:`Period.from_last_day` converts.
An open-ended period has ``end=None``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Period", "calendar_year", "month_starts", "months_in"]

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A half-open date range ``[start, end)``; ``end=None`` means still open."""

    start: dt.date
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def from_last_day(cls, start: dt.date, last_day: dt.date | None) -> Period:
        """A period from its first and last day (both inclusive), as registries write them."""
        return cls(start, None if last_day is None else last_day + _ONE_DAY)

    @property
    def last_day(self) -> dt.date | None:
        """The last day inside the period (inclusive), or ``None`` when open."""
        return None if self.end is None else self.end - _ONE_DAY

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        return self.start <= day and (self.end is None or day < self.end)

    def is_empty(self) -> bool:
        """True when the period holds no day."""
        return self.end is not None and self.end <= self.start

    def overlaps(self, other: Period) -> bool:
        """True when the two periods share at least one day."""
        inter = self.intersection(other)
        return inter is not None

    def intersection(self, other: Period) -> Period | None:
        """The days both periods hold, or ``None`` when they hold none in common."""
        start = max(self.start, other.start)
        ends = [e for e in (self.end, other.end) if e is not None]
        end = min(ends) if ends else None
        if end is not None and end <= start:
            return None
        return Period(start, end)

    def days(self) -> int:
        """Number of days in a closed period."""
        if self.end is None:
            raise ValueError("an open period has no length")
        return (self.end - self.start).days

    def days_within(self, other: Period) -> int:
        """Number of days this period shares with *other* (0 when disjoint)."""
        inter = self.intersection(other)
        return 0 if inter is None else inter.days()


def calendar_year(year: int) -> Period:
    """The calendar year as a period ``[1 January, 1 January next year)``."""
    return Period(dt.date(year, 1, 1), dt.date(year + 1, 1, 1))


def month_starts(period: Period) -> Iterator[dt.date]:
    """The first days of the calendar months that begin inside a closed *period*."""
    if period.end is None:
        raise ValueError("an open period has no months to count")
    year, month = period.start.year, period.start.month
    if period.start.day != 1:
        month += 1
        if month == 13:
            year, month = year + 1, 1
    while (first := dt.date(year, month, 1)) < period.end:
        yield first
        month += 1
        if month == 13:
            year, month = year + 1, 1


def months_in(period: Period, within: Period) -> int:
    """Whole calendar months of *within* whose first day lies in *period*.

    This is how project funds are pro-rated: a practice that joined on 1 April is in the pilot
    for 9 months of that year; one whose pilot ended on 31 March (exclusive end 1 April) for 3.
    """
    inter = period.intersection(within)
    if inter is None:
        return 0
    return sum(1 for _ in month_starts(inter))
