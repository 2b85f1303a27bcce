"""The call (issue 9) in a real browser: from a municipality's draft to the first payment list.

Covers an incomplete application refused field by field, a late application flagged, scoring,
the optimiser's proposal with a what-if band, a decision that needs a second officer's approval,
a decision letter, and the payment list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.call.web import PASSWORD, form_data, make_users, seed_call

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CRITERIA = ("anchoring", "team_plan", "coordination", "capacity", "control")


@pytest.fixture
def call_users(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """Users and a seeded call, committed for the live server; audit triggers dropped for flush."""
    from django.db import connection

    from pht.app.audit import triggers

    triggers.install(connection)
    users = make_users()
    seed_call()
    yield users
    triggers.remove(connection)


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("#login-submit")


def log_out(page: Any) -> None:
    with page.expect_navigation():
        page.click("#logout")


def fill_application(page: Any, data: dict[str, str]) -> None:
    for name, value in data.items():
        selector = f"#id_{name}"
        if name in {"financing_model", "signature_role"}:
            page.select_option(selector, value)
        else:
            page.fill(selector, value)


def submit_complete(page: Any, base: str, username: str, name: str, code: str, n: int) -> None:
    log_in(page, base, username)
    page.goto(f"{base}/call/")
    page.click("#new-application")
    fill_application(page, form_data(name=name, code=code, n=n))
    with page.expect_navigation():
        page.click("#submit-application")


def test_call_from_draft_to_payment_list(
    page: Any, live_server: Any, call_users: Any, settings: Any
) -> None:
    from playwright.sync_api import expect

    from pht.app.audit.models import AuditEntry
    from pht.app.call.actions import case_record

    base = live_server.url
    settings.PHT_CALL_NOW = "2017-10-14T12:00:00"

    # Småby: an incomplete application is refused field by field, then fixed and submitted
    log_in(page, base, "kommune-smaby")
    page.goto(f"{base}/call/")
    expect(page.locator("h1")).to_contain_text("Søknader fra Småby")
    page.click("#new-application")
    fill_application(page, form_data(name="Småby", code="9801", n=7, complete=False))
    page.click("#submit-application")
    expect(page.locator("#errors-purpose")).to_contain_text("Formålet med tilskuddet mangler")
    expect(page.locator("#errors-bank_account")).to_contain_text("kontrollsifferet stemmer ikke")
    expect(page.locator("#errors-gps")).to_contain_text("må være med i piloten")
    fill_application(page, form_data(name="Småby", code="9801", n=7))
    page.click("#submit-application")
    expect(page.locator("#my-applications")).to_contain_text("sendt inn")
    expect(page.locator("#my-applications .late")).to_have_count(0)
    log_out(page)

    # Sentby submits the day after the deadline: accepted, flagged late
    settings.PHT_CALL_NOW = "2017-10-16T08:30:00"
    submit_complete(page, base, "kommune-sentby", "Sentby", "9802", 8)
    expect(page.locator("#my-applications .late")).to_have_text("for sen")
    log_out(page)
    owners = case_record().owners
    (smaby,) = [k for k, v in owners.items() if v == "9801"]  # the refused draft, then submitted
    (sentby,) = [k for k, v in owners.items() if v == "9802"]

    # the first case officer: late flag, accepts it, scores both, proposes
    settings.PHT_CALL_NOW = "2017-11-20T09:00:00"
    log_in(page, base, "saksbehandler-1")
    page.goto(f"{base}/call/cases/")
    expect(page.locator(f"#late-{sentby}")).to_contain_text("for sen")
    expect(page.locator(f"#late-{smaby}")).to_have_count(0)
    page.click(f"#row-{sentby} a")
    page.locator("#accept-late-form textarea").fill("Altinn var nede 15. oktober")
    page.click("#accept-late")
    expect(page.locator("#late-accepted")).to_contain_text("Altinn var nede")
    for app_id in (sentby, smaby):
        page.goto(f"{base}/call/cases/{app_id}/")
        for key in CRITERIA:
            form = page.locator(f"#score-{key}")
            form.locator(f"#id_{key}-score").fill("4")
            form.locator(f"#id_{key}-comment").fill("Godt forankret og realistisk plan")
            with page.expect_navigation():
                form.locator("button").click()
        expect(page.locator("h2", has_text="vektet poengsum")).to_contain_text("4,000")
    page.goto(f"{base}/call/cases/selection/")
    expect(page.locator("#selection-error")).to_contain_text("70–90 fastleger")  # the call's band
    page.fill("#id_gp_target", "15")
    page.fill("#id_band", "6")
    page.click("#run-what-if")
    expect(page.locator("#selection-summary")).to_contain_text("Sentby")
    expect(page.locator("#selection-summary")).to_contain_text("21 fastleger (bånd 9–21)")
    page.click("#propose-decisions")
    expect(page.locator("#decision-state")).to_contain_text("Venter på godkjenning")
    page.click("#approve-decisions")
    expect(page.locator("ul.messages")).to_contain_text("fireøyneprinsippet")
    expect(page.locator("#decision-state")).to_contain_text("Venter på godkjenning")
    log_out(page)

    # the second officer approves; letters and the first payment list
    settings.PHT_CALL_NOW = "2017-11-28T10:00:00"
    log_in(page, base, "saksbehandler-2")
    page.goto(f"{base}/call/cases/decisions/")
    page.click("#approve-decisions")
    expect(page.locator("#decision-state")).to_contain_text("Godkjent av saksbehandler-2")
    expect(page.locator(f"#decision-{sentby}")).to_contain_text("innvilget")
    letter = page.request.get(f"{base}/call/cases/{sentby}/letter.pdf")
    assert letter.ok and letter.headers["content-type"] == "application/pdf"
    assert letter.body().startswith(b"%PDF")
    page.click("#to-payments")
    expect(page.locator("h1")).to_have_text("Utbetalingsliste 2018")
    table = page.locator("#payments")
    expect(table).to_contain_text("Småby legesenter")
    expect(table).to_contain_text("Sentby legesenter")
    expect(table).to_contain_text("NOK 301 500,00")  # 3 GPs × 9/12 × 134,000
    csv_link = page.locator("#payments-csv").get_attribute("href")
    csv_text = page.request.get(f"{base}/call/cases/payments/{csv_link}").text()
    assert csv_text.startswith("year,recipient_kind,recipient,orgnr,bank_account")

    done = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "call.submit_refused",
        "call.submit",
        "call.accept_late",
        "call.score",
        "call.select",
        "call.propose",
        "call.approve_refused",
        "call.approve",
        "call.letter",
        "call.payments",
    } <= done
