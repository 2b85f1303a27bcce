"""Views of the yearly report: the municipality writes, signs and submits; the Directorate's case
officer sees each municipality's status and reads the PDF. Thin over :mod:`.reports`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import AppRole
from pht.app.audit.log import record as audit
from pht.app.call import reports
from pht.app.call.actions import case_record
from pht.app.call.views import municipal_required, officer_required
from pht.call.report_pdf import render_report_pdf
from pht.call.reports import FundsUse, ReportRejected, YearlyReport
from pht.core.errors import NotFound, PhtError
from pht.core.labels import EffectGoal

FUND_LINES = 4


@municipal_required
def report_list(request: HttpRequest) -> HttpResponse:
    """The municipality's reports: each granted application and pilot year with its status."""
    muni = profile_of(request.user).municipality  # type: ignore[union-attr]
    granted = reports.granted_applications(muni.code)
    rows = []
    for year in reports.report_years():
        status = {s.application_id: label for s, label in reports.statuses(year)}
        for d in granted:
            rows.append({"year": year, "application_id": d.application_id,
                         "status": status.get(d.application_id, "")})  # fmt: skip
    return render(request, "call/report_list.html", {"rows": rows, "municipality": muni})


def _report_from_post(data: Any, application_id: str, year: int, figures: Any) -> tuple[
    YearlyReport, dict[str, str]
]:  # fmt: skip
    errors: dict[str, str] = {}
    uses = []
    for i in range(FUND_LINES):
        item = data.get(f"item_{i}", "").strip()
        raw = data.get(f"amount_{i}", "").strip().replace(" ", "").replace(",", ".")
        if not item and not raw:
            continue
        try:
            amount = Decimal(raw or "0")
            if amount < 0 or not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors[f"amount_{i}"] = "Skriv et beløp i kroner (0 eller mer)."
            continue
        uses.append(FundsUse(item=item, amount=amount))
    report = YearlyReport(
        application_id=application_id,
        year=year,
        use_of_funds=tuple(uses),
        activity=data.get("activity", ""),
        progress=data.get("progress", ""),
        effect_goals={g: data.get(f"goal_{g.value}", "") for g in EffectGoal},
        figures=figures,
    )
    return report, errors


@municipal_required
def report_edit(request: HttpRequest, application_id: str, year: int) -> HttpResponse:
    """The form, pre-filled with the year's figures; save a draft, or sign and submit."""
    profile = profile_of(request.user)
    muni = profile.municipality  # type: ignore[union-attr]
    if application_id not in {d.application_id for d in reports.granted_applications(muni.code)}:
        raise Http404
    if year not in reports.report_years():
        raise Http404
    stored = reports.existing_report(application_id, year)
    figures = stored.figures if stored is not None and stored.submitted_on else None
    figures = figures or reports.prefill(muni, year)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and (stored is None or stored.submitted_on is None):
        report, errors = _report_from_post(request.POST, application_id, year, figures)
        if not errors:
            try:
                if "submit" in request.POST:
                    reports.do_submit_report(
                        user=request.user, request=request, municipality=muni, report=report,
                        signed_by=request.POST.get("signed_by", "").strip(),
                        signed_role="kommunal prosjektleder",
                    )  # fmt: skip
                    messages.success(request, "Årsrapporten er signert og sendt inn.")
                else:
                    reports.do_save_report(
                        user=request.user, request=request, municipality=muni, report=report
                    )
                    messages.success(request, "Utkastet er lagret.")
                return redirect("call:report_edit", application_id=application_id, year=year)
            except ReportRejected as err:
                errors = reports.field_errors(err.messages)
            except NotFound:
                raise Http404 from None
        status = 400
        stored = report
    return render(
        request,
        "call/report_form.html",
        {
            "municipality": muni,
            "application_id": application_id,
            "year": year,
            "report": stored,
            "figures": figures,
            "goals": [
                {
                    "goal": g,
                    "value": (stored.effect_goals.get(g, "") if stored else ""),
                    "figures": figures.indicators.get(g, []),
                    "error": errors.get(f"goal_{g.value}"),
                }
                for g in EffectGoal
            ],
            "uses": _use_rows(stored, figures),
            "errors": errors,
            "signer": request.user.get_full_name() or request.user.get_username(),
        },
        status=status,
    )


def _use_rows(stored: YearlyReport | None, figures: Any) -> list[dict[str, Any]]:
    rows = [{"item": u.item, "amount": u.amount} for u in (stored.use_of_funds if stored else ())]
    if not rows:
        rows = [{"item": "Prosjektmidler til kommunen (prosjektledelse)",
                 "amount": figures.funds_to_municipality}]  # fmt: skip
    rows += [{"item": "", "amount": ""}] * (FUND_LINES - len(rows))
    return [{"i": i, **r} for i, r in enumerate(rows[:FUND_LINES])]


def report_pdf(request: HttpRequest, application_id: str, year: int) -> HttpResponse:
    """The submitted report as PDF: its municipality's lead and the case officers."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    profile = profile_of(request.user)
    if profile is None or profile.role not in (AppRole.MUNICIPAL_LEAD, AppRole.CASE_OFFICER):
        raise PermissionDenied
    rec = case_record()
    if profile.role == AppRole.MUNICIPAL_LEAD and rec.owners.get(application_id) != (
        profile.municipality_id
    ):
        raise Http404
    report = reports.existing_report(application_id, year)
    if report is None or report.submitted_on is None:
        raise Http404
    try:
        name = rec.case.application(application_id).applicant.municipality
    except (NotFound, PhtError):
        name = application_id
    pdf = render_report_pdf(report, municipality=name)
    audit(user=request.user, action=reports.REPORT_PDF, request=request,
          detail={"application": application_id, "year": year})  # fmt: skip
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="arsrapport-{application_id}-{year}.pdf"'
    return response


@officer_required
def officer_reports(request: HttpRequest) -> HttpResponse:
    """Report status per granted municipality for a year."""
    years = reports.report_years()
    try:
        year = int(request.GET.get("year") or reports.today().year - 1)
    except ValueError:
        year = years[0]
    year = min(max(year, years[0]), years[-1])
    return render(
        request,
        "call/officer_reports.html",
        {"year": year, "years": years, "statuses": reports.statuses(year)},
    )
