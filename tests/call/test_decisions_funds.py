"""Assessment, four-eyes decisions, letters, payments pro rata, yearly reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pht.call.assessment import (
    Assessment,
    ConflictOfInterestError,
    declare_conflict,
    record_meeting,
    score_criterion,
    weighted_score,
)
from pht.call.decisions import (
    FourEyesError,
    Outcome,
    approve_decisions,
    pilot_practice_rows,
    propose_decisions,
)
from pht.call.letters import render_letter_html, render_letter_pdf
from pht.call.payments import GpChange, payment_list_csv, payments_for_year
from pht.call.reports import FundsUse, YearlyReport, report_status, validate_report
from pht.call.rules import Quotas, load_call
from pht.call.selection import select
from pht.core.errors import PhtError
from pht.core.labels import EffectGoal
from pht.core.money import nok
from tests.call.factory import application, scored

RULES = load_call().model_copy(
    update={"quotas": Quotas(small=1, medium=1, large=0), "gp_target": 8, "gp_band": 2}
)
DAY = dt.date(2017, 11, 20)


def test_scores_need_a_comment_a_valid_value_and_no_conflict() -> None:
    ass = Assessment(application_id="a")
    ass = score_criterion(
        ass,
        rules=RULES,
        criterion="anchoring",
        score=4,
        comment="godt forankret",
        officer="kari",
        on=DAY,
    )
    assert ass.score_of("anchoring").score == 4
    assert weighted_score(ass, RULES) is None  # not every criterion scored yet
    with pytest.raises(PhtError, match="fra 1 til 5"):
        score_criterion(
            ass, rules=RULES, criterion="team_plan", score=6, comment="x", officer="kari", on=DAY
        )
    with pytest.raises(PhtError, match="begrunnes"):
        score_criterion(
            ass, rules=RULES, criterion="team_plan", score=3, comment=" ", officer="kari", on=DAY
        )
    conflicts = declare_conflict(
        [],
        officer="ola",
        application_id="a",
        on=DAY,
        description="nær familie er fastlege i praksisen",
    )
    with pytest.raises(ConflictOfInterestError):
        score_criterion(
            ass,
            rules=RULES,
            criterion="team_plan",
            score=3,
            comment="x",
            officer="ola",
            on=DAY,
            conflicts=conflicts,
        )
    ass = record_meeting(ass, kind="visit", held_on=DAY, officers=["kari"], notes="besøk")
    assert ass.meetings[0].kind == "visit"


def test_weighted_score_uses_the_calls_weights() -> None:
    # weights 0.25 0.30 0.20 0.15 0.10 (assumption A): 5,4,3,2,1 → 1.25+1.2+0.6+0.3+0.1 = 3.45
    assert weighted_score(scored("a", RULES, [5, 4, 3, 2, 1]), RULES) == Decimal("3.450")


def _decided() -> tuple[list, object]:
    small = application("s", size="small", gps=3, n=1, name="Småby", municipality_code="1663")
    medium = application("m", size="medium", gps=5, n=2, name="Mellomby")
    other = application("o", size="medium", gps=6, n=3, name="Annenby")
    apps = [small, medium, other]
    ass = {
        "s": scored("s", RULES, [4] * 5),
        "m": scored("m", RULES, [5] * 5),
        "o": scored("o", RULES, [3] * 5),
    }
    sel = select(apps, ass, RULES)
    assert sel.selected == ("m", "s")
    return apps, propose_decisions(sel, apps, RULES, officer="kari", on=DAY)


def test_decisions_need_a_second_officer_without_conflict() -> None:
    apps, proposal = _decided()
    assert not proposal.approved
    assert [d.outcome for d in proposal.decisions] == [
        Outcome.GRANTED,
        Outcome.GRANTED,
        Outcome.DECLINED,
    ]
    with pytest.raises(FourEyesError, match="fireøyneprinsippet"):
        approve_decisions(proposal, officer="kari", on=DAY)
    conflicts = declare_conflict([], officer="ola", application_id="o", on=DAY, description="x")
    with pytest.raises(FourEyesError, match="inhabilitet for Annenby"):
        approve_decisions(proposal, officer="ola", on=DAY, conflicts=conflicts)
    with pytest.raises(PhtError):
        pilot_practice_rows(proposal, RULES)
    approved = approve_decisions(proposal, officer="per", on=dt.date(2017, 11, 28))
    assert approved.approved and approved.decided_on == dt.date(2017, 11, 28)
    rows = pilot_practice_rows(approved, RULES)
    assert {r["practice_id"] for r in rows} == {p.orgnr for a in apps[:2] for p in a.practices}
    assert all(
        r["pht_start"] == dt.date(2018, 4, 1) and r["financing_model"] == "fee" for r in rows
    )


def _pdf_has_text(pdf: bytes, text: str) -> bool:
    """A PDF string holds ASCII text as is and other text as UTF-16BE hex."""
    return text.encode() in pdf or text.encode("utf-16-be").hex().encode() in pdf.lower()


def test_letters_render_as_pdf_with_the_applicant_and_the_date() -> None:
    apps, proposal = _decided()
    approved = approve_decisions(proposal, officer="per", on=dt.date(2017, 11, 28))
    granted = approved.decision("s")
    html = render_letter_html(granted, apps[0], approved, RULES)
    assert "Søknaden er innvilget" in html and "Småby" in html
    assert "28. november 2017" in html and "134\u00a0000 kr" in html
    declined = approved.decision("o")
    html = render_letter_html(declined, apps[2], approved, RULES)
    assert "Søknaden er avslått" in html and "Ikke valgt" in html
    pdf = render_letter_pdf(declined, apps[2], approved, RULES, compress=False)
    assert pdf.startswith(b"%PDF")
    assert _pdf_has_text(pdf, "Annenby")  # in the PDF's title
    pdf = render_letter_pdf(granted, apps[0], approved, RULES, compress=False)
    assert pdf.startswith(b"%PDF") and _pdf_has_text(pdf, "Småby")
    with pytest.raises(PhtError, match="godkjent"):
        render_letter_html(granted, apps[0], proposal, RULES)


def test_payments_are_pro_rata_per_gp_month_and_export_as_csv() -> None:
    apps, proposal = _decided()
    approved = approve_decisions(proposal, officer="per", on=DAY)
    small = apps[0]
    leaver = small.practices[0].gps[2].hpr
    changes = [
        GpChange(
            practice_orgnr=small.practices[0].orgnr, hpr=leaver, left_last_day=dt.date(2018, 9, 30)
        ),
        GpChange(
            practice_orgnr=small.practices[0].orgnr, hpr="7777777", joins=dt.date(2018, 11, 15)
        ),
    ]
    lines = payments_for_year(approved, apps, RULES, 2018, changes=changes)
    by = {(line.application_id, line.recipient_kind): line for line in lines}
    # Småby: 2 GPs × 9 months (Apr–Dec) + the leaver 6 (Apr–Sep) + the newcomer 1 (Dec) = 25
    s_practice = by[("s", "practice")]
    assert s_practice.gp_months == 25 and s_practice.gps == 4
    assert s_practice.amount == nok("279166.67")  # 25/12 × 134,000
    assert by[("s", "municipality")].amount == nok("54166.67")  # 25/12 × 26,000
    assert s_practice.bank_account == small.practices[0].bank_account
    # Mellomby: 5 GPs × 9 months
    assert by[("m", "practice")].amount == nok("502500.00")
    assert by[("m", "municipality")].amount == nok("97500.00")
    full_year = payments_for_year(approved, apps, RULES, 2019)
    assert {line.gp_months for line in full_year if line.application_id == "m"} == {60}
    csv_text = payment_list_csv(lines)
    header, first = csv_text.splitlines()[:2]
    assert header.startswith("year,recipient_kind,recipient,orgnr,bank_account")
    assert ",502500.00," in csv_text and first.startswith("2018,practice,")


def test_no_payments_before_approval() -> None:
    apps, proposal = _decided()
    with pytest.raises(PhtError, match="ikke godkjent"):
        payments_for_year(proposal, apps, RULES, 2018)


def test_report_status_reminders_and_overdue() -> None:
    _apps, proposal = _decided()
    approved = approve_decisions(proposal, officer="per", on=DAY)
    reports = [YearlyReport(application_id="m", year=2018, submitted_on=dt.date(2019, 2, 20))]
    status = {
        s.application_id: s
        for s in report_status(approved, reports, RULES, year=2018, as_of=dt.date(2019, 2, 20))
    }
    assert status["m"].status == "submitted"
    assert status["s"].status == "reminder_due" and status["s"].remind  # 14 days before 1 March
    early = report_status(approved, reports, RULES, year=2018, as_of=dt.date(2019, 1, 10))
    assert {s.application_id: s.status for s in early}["s"] == "not_due"
    late = {
        s.application_id: s
        for s in report_status(approved, reports, RULES, year=2018, as_of=dt.date(2019, 3, 11))
    }
    assert late["s"].overdue and late["s"].days_overdue == 10


def test_report_form_asks_for_every_effect_goal() -> None:
    empty = YearlyReport(application_id="m", year=2018)
    fields = {m.field for m in validate_report(empty)}
    assert {"use_of_funds", "activity"} <= fields
    assert {f"effect_goals.{g.value}" for g in EffectGoal} <= fields
    full = YearlyReport(
        application_id="m",
        year=2018,
        submitted_on=dt.date(2019, 2, 1),
        use_of_funds=(FundsUse(item="Prosjektleder", amount=Decimal("100000")),),
        activity="Team etablert",
        effect_goals={g: "ok" for g in EffectGoal},
    )
    assert validate_report(full) == [] and full.funds_used == Decimal("100000")
