"""The need-based staffing plan: nurse hours a practice's own patients need in a year.

A pure function of counts taken from the practice's list (target-group patients, worklist,
follow-up plans and their contact intervals, annual checks due, home visits) and of the
parameters (minutes per contact, productive hours per FTE), which are reference data with a
source and status (``pht.reference.staffing``; today every one an assumption, A).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from pht.core.scheme import StaffingAssessment

__all__ = ["NeedInputs", "NeedLine", "NeedParameters", "StaffingPlan", "plan_staffing"]

_HOURS = Decimal("0.1")
_FTE = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class NeedParameters:
    """Minutes per kind of work and the hours one nurse FTE has for patient work in a year."""

    annual_check_minutes: int = 45
    plan_contact_minutes: int = 30
    assessment_minutes: int = 60  # a flagged patient without a plan: assessment and plan
    contacts_without_plan: Decimal = Decimal(2)  # a year, for target-group patients w/o plan
    home_visit_minutes: int = 90  # including travel
    home_visits_per_frail: Decimal = Decimal(2)  # a year, severely frail without logged visits
    productive_hours_per_fte: int = 1_450
    consultations_per_fte: int = 1_200  # nurse consultations a year one FTE adds
    sources: tuple[str, ...] = ()
    status: str = "A"


@dataclass(frozen=True, slots=True)
class NeedInputs:
    """Counts from one practice's own list (all as of one day)."""

    listed: int
    target_group_patients: int
    worklist: int  # flagged patients
    worklist_without_plan: int
    plan_contacts_per_year: Decimal  # Σ over plans of 12 / contact interval (months)
    target_without_plan: int
    annual_checks_due: int  # (patient, condition) pairs due within the coming year
    home_visits_last_year: int
    severely_frail: int


@dataclass(frozen=True, slots=True)
class NeedLine:
    """One kind of work: how many, minutes each, hours a year."""

    key: str
    label: str
    count: Decimal
    minutes: int
    hours: Decimal


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    """Nurse hours needed against the FTE the practice has and both readings of the norm."""

    lines: tuple[NeedLine, ...]
    hours: Decimal
    fte_needed: Decimal
    nurse_fte: Decimal
    norm: StaffingAssessment
    parameters: NeedParameters = field(default_factory=NeedParameters)

    @property
    def gap_fte(self) -> Decimal:
        """FTE needed − FTE the practice has (negative: more than needed)."""
        return self.fte_needed - self.nurse_fte


def _hours(count: Decimal, minutes: int) -> Decimal:
    return (count * minutes / 60).quantize(_HOURS, rounding=ROUND_HALF_UP)


def plan_staffing(
    inputs: NeedInputs, params: NeedParameters, *, nurse_fte: Decimal, norm: StaffingAssessment
) -> StaffingPlan:
    """The plan: hours per kind of work, their sum and the FTE it takes."""
    home_visits = Decimal(
        max(inputs.home_visits_last_year, int(inputs.severely_frail * params.home_visits_per_frail))
    )
    spec = [
        ("annual_checks", "Årskontroller som forfaller", Decimal(inputs.annual_checks_due),
         params.annual_check_minutes),
        ("plan_contacts", "Kontakter etter oppfølgingsplaner", inputs.plan_contacts_per_year,
         params.plan_contact_minutes),
        ("assessments", "Kartlegging og plan for pasienter på arbeidslisten uten plan",
         Decimal(inputs.worklist_without_plan), params.assessment_minutes),
        ("target_without_plan", "Kontakter med pasienter i målgruppene uten plan",
         inputs.target_without_plan * params.contacts_without_plan, params.plan_contact_minutes),
        ("home_visits", "Hjemmebesøk", home_visits, params.home_visit_minutes),
    ]  # fmt: skip
    lines = tuple(NeedLine(k, label, c, m, _hours(c, m)) for k, label, c, m in spec)
    hours = sum((line.hours for line in lines), Decimal(0))
    fte = (hours / params.productive_hours_per_fte).quantize(_FTE, rounding=ROUND_HALF_UP)
    return StaffingPlan(lines, hours, fte, Decimal(nurse_fte), norm, params)
