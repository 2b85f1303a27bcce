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


@dataclass(frozen=True, slots=True)
class StaffingAssessment:
    """How a team's nurse staffing compares with the norm."""

    gp_lists: int
    listed: int | None
    nurse_fte: Decimal
    required_fte: Decimal  # by GP lists: lists / lists_per_nurse
    required_fte_by_listed: Decimal | None  # by listed patients: listed / listed_per_nurse
    meets_norm: bool
    shortfall_fte: Decimal  # 0 when the norm is met
    coverage: Decimal  # nurse_fte / required_fte, e.g. 0.78 = 78 % of the norm

    @property
    def surplus_fte(self) -> Decimal:
        """FTEs above the norm (0 when below)."""
        return max(Decimal(0), self.nurse_fte - self.required_fte)


@dataclass(frozen=True, slots=True)
class StaffingNorm:
    """One full-time nurse per ``lists_per_nurse`` GP lists (about ``listed_per_nurse`` listed)."""

    lists_per_nurse: Decimal = Decimal(3)
    listed_per_nurse: int = 3_900

    def required_fte(self, gp_lists: int) -> Decimal:
        """Nurse FTEs the norm asks for a practice with *gp_lists* GP lists (to 0.01 FTE)."""
        return (Decimal(gp_lists) / self.lists_per_nurse).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )

    def assess(
        self, *, gp_lists: int, nurse_fte: Decimal | int | str, listed: int | None = None
    ) -> StaffingAssessment:
        """Whether a team with *gp_lists* lists and *nurse_fte* nurse FTEs meets the norm.

        The norm is met when the nurse FTEs reach the requirement by GP lists (to 0.01 FTE);
        the requirement by listed patients is reported beside it when *listed* is given.
        """
        if gp_lists < 0:
            raise ValueError(f"gp_lists cannot be negative, got {gp_lists}")
        fte = Decimal(nurse_fte)
        if fte < 0:
            raise ValueError(f"nurse FTE cannot be negative, got {fte}")
        required = self.required_fte(gp_lists)
        by_listed = (
            None
            if listed is None
            else (Decimal(listed) / Decimal(self.listed_per_nurse)).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
        )
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
        )
