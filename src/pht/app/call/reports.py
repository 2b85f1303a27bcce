"""The yearly report in the app: pre-filled figures, draft, sign and submit, PDF, status.

The report is the call's own :class:`pht.call.reports.YearlyReport`, kept in the case file
(``CallCase.reports``) like every other step of the call: one model. Each change goes through
``do_save_report``/``do_submit_report``, which store the case and write the audit entry in the
same transaction. A municipality reports on its own granted applications only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum
from django.http import HttpRequest

from pht.app.accounts.models import Municipality, Practitioner
from pht.app.audit.log import record as audit
from pht.app.call.actions import CALL_ID, case_record, now
from pht.app.care.models import Activity, ActivityKind, FollowUpPlan, Patient, SurveyAnswer
from pht.call.reports import (
    ReportFigures,
    ReportStatus,
    YearlyReport,
    report_status,
    sign_and_submit,
)
from pht.call.validation import Message, Severity
from pht.core.errors import NotFound, PhtError
from pht.core.labels import EffectGoal
from pht.evaluation.suppression import publish_count

#: Audit actions of the yearly report (shown by their value in the audit log).
REPORT_SAVE = "call.report_save"
REPORT_SUBMIT = "call.report_submit"
REPORT_SUBMIT_REFUSED = "call.report_submit_refused"
REPORT_PDF = "call.report_pdf"

STATUS_NB = {
    "submitted": "mottatt",
    "submitted_late": "mottatt for sent",
    "not_due": "ikke forfalt",
    "reminder_due": "påminnelse sendes",
    "overdue": "forfalt",
}


def granted_applications(municipality_code: str, call_id: str = CALL_ID) -> list[Any]:
    """The municipality's granted applications (id, applicant) in the call."""
    rec = case_record(call_id)
    case = rec.case
    if case.decisions is None or not case.decisions.approved:
        return []
    mine = {a for a, code in rec.owners.items() if code == municipality_code}
    return [d for d in case.decisions.granted if d.application_id in mine]


def report_years(call_id: str = CALL_ID) -> list[int]:
    """The pilot's report years (the first to the last year of the pilot)."""
    rules = case_record(call_id).case.rules
    return list(range(rules.pilot_start.year, rules.pilot_last_day.year + 1))


def existing_report(application_id: str, year: int, call_id: str = CALL_ID) -> YearlyReport | None:
    """The stored report (draft or submitted) of an application and year."""
    for r in case_record(call_id).case.reports:
        if r.application_id == application_id and r.year == year:
            return r
    return None


def prefill(muni: Municipality, year: int) -> ReportFigures:
    """The year's figures from the app's data: funds, nurse FTE, indicators per effect goal
    (every count through the small-cell rule)."""
    from pht.app.dashboards import municipality as figures_of
    from pht.core.formats import kroner, number

    funds = figures_of.funds(muni, year)
    practices = figures_of.practices(muni)
    nurse_fte = Practitioner.objects.filter(
        practice__in=practices, role="nurse", active=True
    ).aggregate(s=Sum("fte"))["s"] or Decimal(0)
    rows = figures_of.indicators(muni)
    listed = Patient.objects.filter(practice__in=practices, listed=True)
    plans = FollowUpPlan.objects.filter(patient__in=listed).count()
    in_year = {"date__year": year}
    meetings = Activity.objects.filter(
        patient__in=listed, kind=ActivityKind.COORDINATION_MEETING, **in_year
    ).count()
    answered = SurveyAnswer.objects.filter(patient__in=listed, **in_year).aggregate(
        n=Count("patient", distinct=True)
    )["n"]

    def count(n: int) -> str:
        shown = publish_count(n)
        return "under 5" if shown is None else number(shown)

    checks = [
        f"{r['practice']}: andel med diabetes eller kols med årskontroll {r['quarter']}: "
        + ("vises ikke (under 5)" if r["annual_check_share"] is None
           else f"{number(r['annual_check_share'] * 100)} % (n = {number(r['annual_check_n'])})")
        for r in rows
        if r["quarter"]
    ]  # fmt: skip
    indicators = {
        EffectGoal.HEALTH_AND_COPING: checks,
        EffectGoal.SATISFACTION: [f"Svarte på spørreskjema i {year}: {count(answered)}"],
        EffectGoal.COORDINATED_SERVICES: [f"Pasienter med oppfølgingsplan: {count(plans)}"],
        EffectGoal.REDUCED_NEED: [
            f"{r['practice']}: i målgruppene "
            + ("under 5" if r["target_group_patients"] is None
               else number(r["target_group_patients"]))
            for r in rows
        ],
        EffectGoal.COLLABORATION: [f"Samarbeidsmøter registrert i {year}: {count(meetings)}"],
        EffectGoal.RESOURCE_USE: [
            f"Sykepleierårsverk: {number(nurse_fte, 2)}",
            f"Prosjektmidler {year}: {kroner(funds['total'])}",
        ],
    }  # fmt: skip
    return ReportFigures(
        municipality=muni.name,
        practices=len(practices),
        gps_months=sum(r["gp_months"] for r in funds["practices"]),
        funds_to_practices=funds["to_practices"],
        funds_to_municipality=funds["to_municipality"],
        nurse_fte=Decimal(nurse_fte),
        listed=publish_count(listed.count()),
        indicators=indicators,
    )


def _check_owner(rec: Any, application_id: str, municipality_code: str) -> None:
    case = rec.case
    granted = {d.application_id for d in case.decisions.granted} if case.decisions else set()
    if rec.owners.get(application_id) != municipality_code or application_id not in granted:
        raise NotFound(f"ingen innvilget søknad {application_id!r} for kommunen", where=rec.call_id)


def _store(rec: Any, report: YearlyReport) -> None:
    case = rec.case
    reports = [
        r
        for r in case.reports
        if (r.application_id, r.year) != (report.application_id, report.year)
    ]
    reports.append(report)
    reports.sort(key=lambda r: (r.application_id, r.year))
    rec.store(case.model_copy(update={"reports": reports}))


def do_save_report(
    *,
    user: Any,
    request: HttpRequest | None,
    municipality: Municipality,
    report: YearlyReport,
    call_id: str = CALL_ID,
) -> YearlyReport:
    """Keep the municipality's draft (refused once submitted)."""
    with transaction.atomic():
        rec = case_record(call_id, lock=True)
        _check_owner(rec, report.application_id, municipality.code)
        old = next(
            (r for r in rec.case.reports
             if (r.application_id, r.year) == (report.application_id, report.year)),
            None,
        )  # fmt: skip
        if old is not None and old.submitted_on is not None:
            raise PhtError("rapporten er allerede sendt inn", where=report.application_id)
        draft = report.model_copy(update={"submitted_on": None})
        _store(rec, draft)
        audit(user=user, action=REPORT_SAVE, detail={"application": report.application_id,
              "year": report.year}, request=request)  # fmt: skip
    return draft


def do_submit_report(
    *,
    user: Any,
    request: HttpRequest | None,
    municipality: Municipality,
    report: YearlyReport,
    signed_by: str,
    signed_role: str,
    call_id: str = CALL_ID,
) -> YearlyReport:
    """Sign and submit the report; refused (and audited) when incomplete or already in."""
    refused = None
    with transaction.atomic():
        rec = case_record(call_id, lock=True)
        _check_owner(rec, report.application_id, municipality.code)
        old = next(
            (r for r in rec.case.reports
             if (r.application_id, r.year) == (report.application_id, report.year)),
            None,
        )  # fmt: skip
        base = report.model_copy(
            update={"submitted_on": old.submitted_on if old is not None else None}
        )
        try:
            done = sign_and_submit(
                base, signed_by=signed_by, signed_role=signed_role, on=now().date()
            )
        except PhtError as err:
            refused = err
        else:
            _store(rec, done)
            audit(user=user, action=REPORT_SUBMIT, detail={"application": done.application_id,
                  "year": done.year, "signed_by": signed_by}, request=request)  # fmt: skip
            return done
    detail = {"application": report.application_id, "year": report.year}
    audit(
        user=user,
        action=REPORT_SUBMIT_REFUSED,
        reason=str(refused)[:200],
        detail=detail,
        request=request,
    )
    assert refused is not None
    raise refused


def statuses(year: int, call_id: str = CALL_ID) -> list[tuple[ReportStatus, str]]:
    """Each granted municipality's report status for *year* (with the Norwegian label)."""
    case = case_record(call_id).case
    if case.decisions is None or not case.decisions.approved:
        return []
    out = report_status(case.decisions, case.reports, case.rules, year=year, as_of=now().date())
    return [(s, STATUS_NB.get(s.status, s.status)) for s in out]


def field_errors(messages: list[Message]) -> dict[str, str]:
    """Messages by the form field they belong to."""
    out: dict[str, str] = {}
    for m in messages:
        if m.severity is not Severity.ERROR:
            continue
        field = m.field
        if field.startswith("effect_goals."):
            field = "goal_" + field.split(".", 1)[1]
        elif field.startswith("use_of_funds"):
            field = "use_of_funds"
        out.setdefault(field, m.text)
    return out


def today() -> dt.date:
    """The call's clock (``PHT_CALL_NOW`` pins it)."""
    return now().date()
