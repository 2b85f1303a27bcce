"""A nurse's Monday morning in a real browser, and the daily leader's audit check."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pht.app.care.models import Patient, Task, TaskStatus
from tests.app.bundle import PRACTICE_A, PRACTICE_B

pytestmark = [pytest.mark.browser]

NURSE = "sykepleier-02"  # practice A
LEAD = "teamleder-02"


def log_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-submit")
    page.wait_for_load_state()


def test_nurse_journey_and_audit(page: Any, live_server: Any, pilot: Any) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    password = pilot["logins"][NURSE]
    log_in(page, base, NURSE, password)
    expect(page.locator("h1")).to_have_text("Mine oppgaver")

    # the worklist shows only her practice's patients
    page.click("text=Arbeidsliste")
    expect(page.locator("h1")).to_contain_text("Arbeidsliste")
    shown = set(page.locator("a.patient-link").all_inner_texts())
    own = set(Patient.objects.filter(practice_id=PRACTICE_A).values_list("name", flat=True))
    others = set(Patient.objects.filter(practice_id=PRACTICE_B).values_list("name", flat=True))
    assert shown and shown <= own
    assert not shown & (others - own)

    # filter to diabetes with htmx: the table updates without a page load
    expected = Patient.objects.filter(
        practice_id=PRACTICE_A, flagged=True, conditions__contains="|diabetes|"
    ).count()
    page.evaluate("window.__marker = 'same page'")
    page.select_option("#id_condition", "diabetes")
    count = page.locator("#worklist-count")
    expect(count).to_have_text(re.compile(rf"^{expected} pasient"))
    assert page.evaluate("window.__marker") == "same page"
    assert "condition=diabetes" in page.url

    # open the first patient
    first = page.locator("a.patient-link").first
    name = first.inner_text()
    first.click()
    expect(page.locator("#patient-name")).to_have_text(name)
    patient = Patient.objects.get(name=name, practice_id=PRACTICE_A)

    # create a task, with one bad try first: the message sits beside the field
    page.click("#new-task")
    page.fill("#id_title", "")
    page.click("#task-submit")
    expect(page.locator("#errors-title")).to_be_visible()
    page.fill("#id_title", "Ring om blodsukkermåling")
    page.click("#task-submit")
    expect(page.locator("#open-tasks")).to_contain_text("Ring om blodsukkermåling")
    page.locator("#open-tasks button.complete-task").first.click()
    expect(page.locator("#no-open-tasks")).to_be_visible()
    expect(page.locator("#closed-tasks")).to_contain_text("Ring om blodsukkermåling")
    assert Task.objects.get(patient=patient).status == TaskStatus.DONE

    # another practice's patient answers 404, whatever URL she types
    other = Patient.objects.filter(practice_id=PRACTICE_B).first()
    assert other is not None
    response = page.goto(f"{base}/patients/{other.uid}/")
    assert response is not None and response.status == 404
    assert other.name not in page.content()

    # log out
    page.goto(f"{base}/")
    page.click("#logout")
    expect(page.locator("h1")).to_have_text("Logg inn")
    assert page.goto(f"{base}/worklist/").url.startswith(f"{base}/accounts/login/")

    # the daily leader sees the visit in the audit page
    log_in(page, base, LEAD, pilot["logins"][LEAD])
    page.goto(f"{base}/audit/")
    page.fill("#id_user", NURSE)
    page.select_option("#id_action", "patient.view")
    page.click("#audit-filters button[type=submit]")
    rows = page.locator("tr.audit-row")
    expect(rows.first).to_contain_text(name)
    expect(rows.first).to_contain_text("åpnet pasient")
    assert other.name not in page.content()

    csp_errors = [e for e in page.console_errors if "Content Security Policy" in e]
    assert not csp_errors, csp_errors
