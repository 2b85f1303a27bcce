"""Rules of the scheme that are pure functions of their parameters.

The parameters themselves (thresholds, the staffing norm) are reference data with a source:
:mod:`pht.reference` loads them and passes them in; the defaults here are the 2017 call's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pht.core.labels import SizeClass

__all__ = ["SizeThresholds", "StaffingAssessment", "StaffingNorm", "size_class"]


@dataclass(frozen=True, slots=True)
class SizeThresholds:
    """Population limits of the size classes: small < ``small_below``; large > ``large_above``."""

    small_below: int = 5_000
    large_above: int = 20_000


def size_class(population: int, thresholds: SizeThresholds = SizeThresholds()) -> SizeClass:
    """The size class of a municipality with *population* inhabitants.

    Small below 5,000; medium from 5,000 to 20,000 inclusive; large above 20,000.
    """
    if population < 0:
        raise ValueError(f"population cannot be negative, got {population}")
    if population < thresholds.small_below:
        return SizeClass.SMALL
    if population > thresholds.large_above:
        return SizeClass.LARGE
    return SizeClass.MEDIUM


#: The two readings of the staffing norm: by GP lists, or by listed persons.
READING_LISTS = "lists"
READING_LISTED = "listed"


def _fte(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class StaffingAssessment:
    """How a team's nurse staffing compares with the norm, under both of its readings.

    ``required_fte``, ``meets_norm``, ``shortfall_fte`` and ``coverage`` follow ``reading``:
    the norm's primary reading when the listed persons are known, else the GP-list reading.
    """

    gp_lists: int
    listed: int | None
    nurse_fte: Decimal
    required_fte: Decimal  # by the reading used
    required_fte_by_listed: Decimal | None  # by listed patients: listed / listed_per_nurse
    meets_norm: bool
    shortfall_fte: Decimal  # 0 when the norm is met
    coverage: Decimal  # nurse_fte / required_fte, e.g. 0.78 = 78 % of the norm
    reading: str = READING_LISTS
    required_fte_by_lists: Decimal = Decimal(0)  # by GP lists: lists / lists_per_nurse
    meets_by_lists: bool = False
    meets_by_listed: bool | None = None

    @property
    def surplus_fte(self) -> Decimal:
        """FTEs above the norm (0 when below)."""
        return max(Decimal(0), self.nurse_fte - self.required_fte)


@dataclass(frozen=True, slots=True)
class StaffingNorm:
    """One full-time nurse per ``lists_per_nurse`` GP lists, or per ``listed_per_nurse`` listed.

    The scheme states the norm both ways ("én fulltidssykepleier per 3. fastlegeliste", about
    3,900 listed persons); with short lists the two disagree. ``primary`` names the reading
    that decides whether the norm is met (reference data says which one and why); the other is
    always reported beside it.
    """

    lists_per_nurse: Decimal = Decimal(3)
    listed_per_nurse: int = 3_900
    primary: str = READING_LISTS

    def __post_init__(self) -> None:
        if self.primary not in (READING_LISTS, READING_LISTED):
            raise ValueError(f"unknown reading of the staffing norm: {self.primary!r}")

    def required_fte(self, gp_lists: int) -> Decimal:
        """Nurse FTEs the norm asks for a practice with *gp_lists* GP lists (to 0.01 FTE)."""
        return _fte(Decimal(gp_lists) / self.lists_per_nurse)

    def required_fte_by_listed(self, listed: int) -> Decimal:
        """Nurse FTEs the norm asks for *listed* listed persons (to 0.01 FTE)."""
        return _fte(Decimal(listed) / Decimal(self.listed_per_nurse))

    def required(self, *, gp_lists: int, listed: int | None) -> Decimal:
        """The requirement under the primary reading (the GP-list one without *listed*)."""
        if self.primary == READING_LISTED and listed is not None:
            return self.required_fte_by_listed(listed)
        return self.required_fte(gp_lists)

    def assess(
        self, *, gp_lists: int, nurse_fte: Decimal | int | str, listed: int | None = None
    ) -> StaffingAssessment:
        """Whether a team with *gp_lists* lists and *nurse_fte* nurse FTEs meets the norm.

        Both readings are computed (the listed one when *listed* is given); the norm is met
        when the nurse FTEs reach the primary reading's requirement (to 0.01 FTE).
        """
        if gp_lists < 0:
            raise ValueError(f"gp_lists cannot be negative, got {gp_lists}")
        if listed is not None and listed < 0:
            raise ValueError(f"listed cannot be negative, got {listed}")
        fte = Decimal(nurse_fte)
        if fte < 0:
            raise ValueError(f"nurse FTE cannot be negative, got {fte}")
        by_lists = self.required_fte(gp_lists)
        by_listed = None if listed is None else self.required_fte_by_listed(listed)
        reading = (
            READING_LISTED
            if self.primary == READING_LISTED and listed is not None
            else READING_LISTS
        )
        required = by_listed if reading == READING_LISTED and by_listed is not None else by_lists
        shortfall = max(Decimal(0), required - fte)
        coverage = Decimal(1) if required == 0 else (fte / required).quantize(Decimal("0.001"))
        return StaffingAssessment(
            gp_lists=gp_lists,
            listed=listed,
            nurse_fte=fte,
            required_fte=required,
            required_fte_by_listed=by_listed,
            meets_norm=shortfall == 0,
            shortfall_fte=shortfall,
            coverage=coverage,
            reading=reading,
            required_fte_by_lists=by_lists,
            meets_by_lists=fte >= by_lists,
            meets_by_listed=None if by_listed is None else fte >= by_listed,
        )
