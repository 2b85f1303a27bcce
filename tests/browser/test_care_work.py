"""The team's daily work in a real browser: the secretary's batch letters, the nurse's annual
check closing its recall, a plan's contact on the due list, "Min plan" on one page, the
per-condition worklist filter; screenshots at 1280 and 390 px with nothing wider than a phone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.app.pdfpages import page_count
from tests.browser.test_nurse_journey import log_in

pytestmark = [pytest.mark.browser]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
NURSE, SECRETARY = "sykepleier-02", "sekretaer-02"  # practice A

WIDEST = """() => {
  const w = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    if (r.right > w + 1 || r.left < -1) {
      if (el.closest('.visually-hidden, .skip-link')) continue;
      out.push(el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className
               + ' ' + Math.round(r.left) + '-' + Math.round(r.right));
    }
  }
  return {w, scroll: document.documentElement.scrollWidth, out: out.slice(0, 10)};
}"""


@pytest.fixture
def care_pilot(transactional_db: Any) -> Any:
    """The small bundle with the hand-built patients, demo users, recalls and a plan."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from pht.app.accounts.demo import create_demo_users
    from pht.app.audit import triggers
    from pht.app.care import actions, clock
    from pht.app.care.loading import load_bundle
    from pht.app.care.models import Patient
    from tests.app.bundle import PRACTICE_A
    from tests.app.care_fixtures import (
        DIABETES_OVERDUE,
        HYPERTENSION_ONLY,
        bundle_with_hand_built,
        load_names,
    )
    from tests.browser.conftest import warm_up

    triggers.install(connection)
    warm_up()
    bundle, ids = bundle_with_hand_built()
    load_bundle(bundle)
    load_names(ids)
    logins = {x.username: x.password for x in create_demo_users()}
    users = get_user_model().objects
    nurse = users.get(username=NURSE)
    today = clock.today()
    diabetic = Patient.objects.get(person_id=ids[DIABETES_OVERDUE])
    other = Patient.objects.get(person_id=ids[HYPERTENSION_ONLY])
    invited = list(
        Patient.objects.filter(practice_id=PRACTICE_A, flagged=True)
        .exclude(pk__in=[diabetic.pk, other.pk])
        .order_by("name")[:3]
    )
    recalls = [
        actions.do_create_task(
            user=nurse,
            patient=p,
            title="Årskontroll diabetes",
            due=today + dt.timedelta(days=10),
            kind="annual_check",
            condition="diabetes",
            assigned_role="secretary",
        )
        for p in [*invited, diabetic]
    ]
    actions.do_save_plan(
        user=nurse,
        patient=other,
        goal="Gå til butikken igjen",
        responsible=nurse,
        contact_interval_months=3,
        next_due=today,
        partners=["home_nursing"],
    )
    yield {
        "logins": logins,
        "invited": invited,
        "recalls": recalls,
        "diabetic": diabetic,
        "other": other,
    }
    triggers.remove(connection)


def test_recall_cycle_check_plan_and_worklist(page: Any, live_server: Any, care_pilot: Any) -> None:
    from playwright.sync_api import expect

    from pht.app.care.models import Patient, Task, TaskStatus

    base = live_server.url
    # the secretary invites 3 patients by letter in one action and gets one PDF
    log_in(page, base, SECRETARY, care_pilot["logins"][SECRETARY])
    page.click("nav >> text=Innkallinger")
    expect(page.locator("h1")).to_have_text("Innkallinger")
    for task in care_pilot["recalls"][:3]:
        page.check(f"#select-{task.pk}")
    page.select_option("#id_channel", "letter")
    with page.expect_download(timeout=90_000) as info:  # WeasyPrint on a busy machine
        page.click("#invite-selected", no_wait_after=True)
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and page_count(pdf) == 3
    assert [t.invitations.count() for t in care_pilot["recalls"]] == [1, 1, 1, 0]
    page.click("#logout")

    # a nurse records a diabetes check with values; its recall closes at once
    log_in(page, base, NURSE, care_pilot["logins"][NURSE])
    diabetic = care_pilot["diabetic"]
    page.goto(f"{base}/patients/{diabetic.uid}/")
    page.click("#record-check-diabetes")
    page.fill("#id_v_hba1c", "51")
    page.fill("#id_v_bp_systolic", "134")
    page.fill("#id_v_bp_diastolic", "80")
    page.fill("#id_v_ldl", "2,6")
    page.select_option("#id_v_foot_exam", "ja")
    page.click("#check-submit")
    expect(page.locator(".messages")).to_contain_text("Årskontrollen er lagret.")
    expect(page.locator("#check-diabetes")).to_contain_text("HbA1c: 51 mmol/mol")
    recall = Task.objects.get(pk=care_pilot["recalls"][3].pk)
    assert recall.status == TaskStatus.DONE

    # the plan's next contact is on the nurse's due list on its date; "Min plan" is one page
    page.click("nav >> text=Mine oppgaver")
    other = care_pilot["other"]
    expect(page.locator("#plan-contacts")).to_contain_text(other.name)
    response = page.request.get(f"{base}/patients/{other.uid}/plan/min-plan/", timeout=90_000)
    assert response.headers["content-type"] == "application/pdf"
    assert page_count(response.body()) == 1

    # the worklist's diabetes-overdue filter lists only patients whose diabetes check is overdue
    page.click("nav >> text=Arbeidsliste")
    page.select_option("#id_condition", "diabetes")
    page.check("#id_overdue")
    page.click("#worklist-filters button[type=submit]")
    expect(page.locator("#worklist-count")).to_be_visible()
    page.wait_for_load_state("networkidle")
    names = page.locator("a.patient-link").all_inner_texts()
    assert other.name not in names
    for name in names:
        p = Patient.objects.get(name=name, practice_id=other.practice_id)
        assert "diabetes" in p.overdue_condition_list()
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_screens_at_1280_and_390_px(browser: Any, live_server: Any, care_pilot: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    other = care_pilot["other"]
    screens = {
        "due-list": "/tasks/",
        "worklist": "/worklist/",
        "patient": f"/patients/{other.uid}/",
        "recalls": "/recalls/",
    }
    for width in (1280, 390):
        context = browser.new_context(locale="nb-NO", viewport={"width": width, "height": 900})
        page = context.new_page()
        log_in(page, base, NURSE, care_pilot["logins"][NURSE])
        for name, path in screens.items():
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            if width == 390:
                found = page.evaluate(WIDEST)
                assert found["scroll"] <= found["w"] and not found["out"], (name, found)
        # printing the patient page leaves out menus, forms and buttons
        page.goto(base + screens["patient"])
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()
        assert not page.locator("#new-task").is_visible()
        assert page.locator("#patient-name").is_visible()
        context.close()
