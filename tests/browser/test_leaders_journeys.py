"""Leaders in a real browser: the team lead's financing what-if, the municipal lead's funds and
yearly report received by the case officer, and a grant-model practice's quality goal that
changes its quality grant when met."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tests.app.bundle import PRACTICE_A, PRACTICE_B
from tests.financing.scenario import P1, P2, build_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    from pht.app.dashboards.loading import compute

    wh = build_warehouse()
    out = compute(wh, [2021], use_population=False)
    wh.close()
    remap = {P1: PRACTICE_A, P2: PRACTICE_B}
    return {
        "snapshots": {
            y: {remap[p]: d for p, d in per.items() if p in remap}
            for y, per in out["snapshots"].items()
        },
        "funds": {remap[p]: f for p, f in out["funds"].items() if p in remap},
    }


@pytest.fixture
def leaders(pilot: Any, figures: dict[str, Any]) -> dict[str, Any]:
    from pht.app.dashboards.loading import store

    store(figures)
    return pilot


def log_in(page: Any, base: str, username: str, password: str) -> None:
    page.set_default_timeout(45_000)  # the shared 2-core machine can be slow to serve
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#login-submit")


def log_out(page: Any) -> None:
    with page.expect_navigation():
        page.click("#logout")


def test_team_lead_runs_a_what_if(page: Any, live_server: Any, leaders: Any) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    log_in(page, base, "teamleder-02", leaders["logins"]["teamleder-02"])
    with page.expect_navigation():
        page.get_by_role("link", name="Økonomi").click()
    expect(page.locator("#financing")).to_contain_text("Honorarmodell")
    expect(page.locator("#fee-2021-total")).to_contain_text("kr ")
    page.fill("input[name=listed]", "20")
    page.fill("input[name=nurse_fte]", "0,5")
    page.click("#whatif-run")  # htmx: the result replaces only its box
    expect(page.locator("#whatif-fee-change")).to_contain_text("kr ")
    assert page.locator("#whatif-fee-change").inner_text() != "kr 0"
    errors = page.console_errors  # type: ignore[attr-defined]
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_municipal_lead_sees_funds_and_submits_report_received_by_officer(
    page: Any, live_server: Any, leaders: Any, settings: Any
) -> None:
    from playwright.sync_api import expect

    from pht.app.call.demo import load_demo_call
    from pht.app.call.models import CallCaseRecord
    from pht.call.decisions import approve_decisions, propose_decisions

    load_demo_call(replace=True)
    rec = CallCaseRecord.objects.get()
    case = rec.case
    proposal = propose_decisions(
        case.select(), case.applications, case.rules, officer="a", on=dt.date(2017, 11, 24)
    )
    decided = approve_decisions(proposal, officer="b", on=dt.date(2017, 11, 30))
    rec.store(
        case.model_copy(
            update={"decisions": decided, "reports": [r for r in case.reports if r.year != 2021]}
        )
    )
    settings.PHT_CALL_NOW = "2022-02-20T10:00:00"
    base = live_server.url
    log_in(page, base, "prosjektleder-01", leaders["logins"]["prosjektleder-01"])
    with page.expect_navigation():
        page.get_by_role("link", name="Kommune").click()
    expect(page.locator("#funds")).to_contain_text("Sagene legekontor")
    expect(page.locator("#funds-2021-municipality")).to_contain_text("kr ")
    with page.expect_navigation():
        page.get_by_role("link", name="Årsrapport til Helsedirektoratet").click()
    row = page.locator("#reports tr", has_text="2021")
    with page.expect_navigation():
        row.get_by_role("link", name="Åpne").click()
    expect(page.locator("#report-figures")).to_contain_text("kr ")
    page.fill("#activity", "Teamene følger opp målgruppene.")
    page.fill("#progress", "Etter plan.")
    for area in page.locator("textarea[name^=goal_]").all():
        area.fill("Fremdrift etter plan.")
    with page.expect_navigation():
        page.click("#submit-report")
    expect(page.locator("#report-status")).to_contain_text("Sendt inn 20.02.2022")
    log_out(page)
    log_in(page, base, "saksbehandler", leaders["logins"]["saksbehandler"])
    page.goto(f"{base}/call/cases/reports/?year=2021")
    oslo = page.locator("#report-status tr", has_text="Oslo")
    expect(oslo).to_contain_text("mottatt")
    expect(oslo).to_contain_text("20.02.2022")


def test_grant_practice_goal_met_changes_the_quality_grant(
    page: Any, live_server: Any, leaders: Any
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    log_in(page, base, "teamleder-01", leaders["logins"]["teamleder-01"])  # Sagene: grant
    with page.expect_navigation():
        page.get_by_role("link", name="Kvalitet").click()

    def grant() -> int:
        return int(page.locator("#own-quality-grant").get_attribute("data-ore") or "-1")

    assert grant() == 0
    page.select_option("#id_indicator", "diabetes_hba1c")
    page.fill("#id_target", "60")
    page.fill("#id_period_start", "01.01.2021")
    page.fill("#id_period_end", "31.12.2021")
    with page.expect_navigation():
        page.click("#goal-save")
    expect(page.locator("#goals")).to_contain_text("HbA1c")
    assert grant() == 0
    page.select_option("#measure-form select[name=indicator]", "diabetes_hba1c")
    page.fill("#id_quarter", "2021Q4")
    page.fill("#id_numerator", "30")
    page.fill("#id_denominator", "40")
    with page.expect_navigation():
        page.click("#measure-save")
    expect(page.locator("#goals .achieved")).to_have_text("ja")
    assert grant() > 0
    page.goto(f"{base}/dashboard/{PRACTICE_B}/okonomi/")
    text = page.locator("#own-quality-grant").inner_text()
    assert re.fullmatch(r"kr [\d ]+", text), text
