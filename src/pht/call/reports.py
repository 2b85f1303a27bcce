"""Yearly reports from granted municipalities: use of funds, activity, progress on effect goals.

Each granted municipality reports once a year on the year before (due on the call's report date,
for example 1 March). :func:`report_status` says for each municipality and year whether the
report is in, due soon (a reminder should go out), or overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from pht.call.decisions import DecisionSet
from pht.call.rules import CallRules
from pht.call.validation import Message, Severity
from pht.core.errors import PhtError
from pht.core.labels import EffectGoal

__all__ = [
    "FundsUse",
    "ReportFigures",
    "ReportRejected",
    "ReportStatus",
    "YearlyReport",
    "report_status",
    "sign_and_submit",
    "validate_report",
]


class ReportFigures(BaseModel):
    """The year's figures the report form is pre-filled with (from the app's loaded data)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    municipality: str = ""
    practices: int = 0
    gps_months: int = 0
    funds_to_practices: Decimal = Decimal(0)
    funds_to_municipality: Decimal = Decimal(0)
    nurse_fte: Decimal = Decimal(0)
    listed: int | None = None  # None when suppressed
    indicators: dict[EffectGoal, list[str]] = Field(default_factory=dict)


class FundsUse(BaseModel):
    """One line of the account of how project funds were used."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    item: str
    amount: Decimal = Field(ge=0)


class YearlyReport(BaseModel):
    """A municipality's report for one year of the pilot."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    application_id: str
    year: int
    submitted_on: dt.date | None = None
    use_of_funds: tuple[FundsUse, ...] = ()
    activity: str = ""
    effect_goals: dict[EffectGoal, str] = Field(default_factory=dict)
    figures: ReportFigures | None = None
    progress: str = ""
    signed_by: str = ""
    signed_role: str = ""

    @property
    def funds_used(self) -> Decimal:
        """Sum of the reported use of funds."""
        return sum((u.amount for u in self.use_of_funds), Decimal(0))


class ReportRejected(PhtError):
    """A report that cannot be submitted: the messages per field."""

    def __init__(self, messages: list[Message]) -> None:
        super().__init__("; ".join(f"{m.field}: {m.text}" for m in messages))
        self.messages = messages


def sign_and_submit(
    report: YearlyReport, *, signed_by: str, signed_role: str, on: dt.date
) -> YearlyReport:
    """The report signed by *signed_by* and submitted *on*; refused with the messages per field
    when it is incomplete, unsigned or already submitted."""
    messages = validate_report(report)
    if not signed_by.strip():
        messages.append(Message("signed_by", Severity.ERROR, "missing", "Rapporten må signeres"))
    if report.submitted_on is not None:
        messages.append(
            Message("submitted_on", Severity.ERROR, "submitted", "Rapporten er allerede sendt inn")
        )
    errors = [m for m in messages if m.severity is Severity.ERROR]
    if errors:
        raise ReportRejected(errors)
    return report.model_copy(
        update={"signed_by": signed_by, "signed_role": signed_role, "submitted_on": on}
    )


def validate_report(report: YearlyReport) -> list[Message]:
    """Messages per field of the report form (every effect goal needs a progress note)."""
    out: list[Message] = []
    if not report.use_of_funds:
        out.append(Message("use_of_funds", Severity.ERROR, "missing", "Bruken av midlene mangler"))
    for i, use in enumerate(report.use_of_funds):
        if not use.item.strip():
            out.append(
                Message(f"use_of_funds[{i}].item", Severity.ERROR, "missing", "Post mangler")
            )
    if not report.activity.strip():
        out.append(Message("activity", Severity.ERROR, "missing", "Aktivitet i året mangler"))
    for goal in EffectGoal:
        if not report.effect_goals.get(goal, "").strip():
            out.append(
                Message(
                    f"effect_goals.{goal.value}",
                    Severity.ERROR,
                    "missing",
                    f"Fremdrift for effektmål {goal.number} ({goal.nb}) mangler",
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class ReportStatus:
    """Whether one municipality's report for one year is in, due, or overdue."""

    application_id: str
    municipality: str
    year: int
    due: dt.date
    submitted_on: dt.date | None
    status: str  # submitted, submitted_late, not_due, reminder_due, overdue
    days_overdue: int
    remind: bool

    @property
    def overdue(self) -> bool:
        """True when the report is missing after its due date."""
        return self.status == "overdue"

    def as_row(self) -> dict[str, object]:
        """The status as a flat row."""
        return {
            "application_id": self.application_id,
            "municipality": self.municipality,
            "year": self.year,
            "due": self.due,
            "submitted_on": self.submitted_on,
            "status": self.status,
            "days_overdue": self.days_overdue,
            "remind": self.remind,
        }


def report_status(
    decisions: DecisionSet,
    reports: Iterable[YearlyReport],
    rules: CallRules,
    *,
    year: int,
    as_of: dt.date,
) -> list[ReportStatus]:
    """Status of the *year* report of every granted municipality, as of *as_of*.

    A reminder is due from ``reminder_days_before`` days before the due date until the report is
    in; after the due date a missing report is overdue (and reminded again).
    """
    got: dict[tuple[str, int], YearlyReport] = {
        (r.application_id, r.year): r for r in reports if r.submitted_on is not None
    }
    due = rules.report_due(year)
    remind_from = due - dt.timedelta(days=rules.reminder_days_before)
    out: list[ReportStatus] = []
    for d in _granted(decisions):
        rep = got.get((d[0], year))
        if rep is not None and rep.submitted_on is not None and rep.submitted_on <= as_of:
            status = "submitted" if rep.submitted_on <= due else "submitted_late"
            out.append(ReportStatus(d[0], d[1], year, due, rep.submitted_on, status, 0, False))
        elif as_of > due:
            out.append(
                ReportStatus(d[0], d[1], year, due, None, "overdue", (as_of - due).days, True)
            )
        elif as_of >= remind_from:
            out.append(ReportStatus(d[0], d[1], year, due, None, "reminder_due", 0, True))
        else:
            out.append(ReportStatus(d[0], d[1], year, due, None, "not_due", 0, False))
    return out


def _granted(decisions: DecisionSet) -> Sequence[tuple[str, str]]:
    return [(d.application_id, d.applicant) for d in decisions.granted]
