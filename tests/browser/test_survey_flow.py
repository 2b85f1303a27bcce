"""A patient answers WHO-5 on a 360 × 740 phone from the link in an SMS, goes back once and
finishes; axe-core finds no serious or critical accessibility problem on any survey screen; the
nurse then sees the scored result on the patient page; the link refuses a second use."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care.models import Patient
from tests.app.bundle import PRACTICE_A
from tests.browser.test_nurse_journey import log_in

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "browser" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
NURSE = "sykepleier-02"
LINK = re.compile(r"https?://\S+/s/[A-Za-z0-9_\-]+")


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from npm (pinned in tests/browser/axe), installed by scripts/install-axe.sh."""
    if not AXE.exists():
        try:
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "install-axe.sh")], check=True, timeout=300
            )
        except (OSError, subprocess.SubprocessError) as err:
            pytest.skip(f"axe-core could not be installed (scripts/install-axe.sh): {err}")
    return AXE.read_text(encoding="utf-8")


def check_accessibility(page: Any, axe_source: str) -> None:
    """No serious or critical WCAG 2.1 A/AA violation on the current page."""
    page.evaluate(axe_source)
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"""
    )
    bad = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: {bad}"


def check_phone_layout(page: Any) -> None:
    """Nothing wider than the 360 px screen; every answer a large touch target."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    heights = page.locator("label.choice").evaluate_all("els => els.map(e => e.offsetHeight)")
    assert all(h >= 44 for h in heights), heights


def test_patient_answers_on_a_phone_and_the_team_sees_the_score(
    browser: Any,
    page: Any,
    live_server: Any,
    pilot: Any,
    settings: Any,
    tmp_path: Path,
    axe_source: str,
) -> None:
    from playwright.sync_api import expect

    from pht.app.outbox.actions import send_pending
    from pht.app.surveys import actions

    base = live_server.url
    settings.PHT_OUTBOX_DIR = str(tmp_path / "outbox")
    settings.PHT_OUTBOX_SENDERS = {}
    settings.PHT_SURVEY_BASE_URL = base
    patient = Patient.objects.filter(practice_id=PRACTICE_A, listed=True).order_by("id").first()
    from django.contrib.auth import get_user_model

    nurse = get_user_model().objects.get(username=NURSE)
    actions.invite(
        user=nurse, patient=patient, instrument_id="who5", channel="sms", recipient="91234567"
    )
    assert send_pending().sent == 1
    sms = next((tmp_path / "outbox").glob("sms/*/*.txt")).read_text(encoding="utf-8")
    link = LINK.search(sms).group(0)

    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="nb-NO", is_mobile=True, has_touch=True
    )
    p = phone.new_page()
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.goto(link)
    assert (
        "/s/svar/" in p.url and "/s/" + link.rsplit("/", 1)[1] not in p.url
    )  # token left the address
    expect(p.locator("h1")).to_have_text("Trivsel (WHO-5)")
    expect(p.locator(".progress-text")).to_have_text("Side 1 av 3")
    text = p.locator("body").inner_text()
    for secret in (patient.name, patient.person_id, patient.birth_date.strftime("%d.%m.%Y")):
        assert secret not in text
    check_phone_layout(p)
    check_accessibility(p, axe_source)

    # page 1: three questions, answered by touching the labels
    p.get_by_role("group", name="… har jeg vært glad og i godt humør").get_by_text(
        "Mer enn halvparten av tiden"
    ).click()
    p.get_by_role("group", name="… har jeg følt meg rolig og avslappet").get_by_text(
        "Mesteparten av tiden"
    ).click()
    p.get_by_role("group", name="… har jeg følt meg aktiv og energisk").get_by_text(
        "Litt av tiden"
    ).click()
    p.get_by_role("button", name="Neste").click()
    expect(p.locator(".progress-text")).to_have_text("Side 2 av 3")
    check_phone_layout(p)
    check_accessibility(p, axe_source)
    p.get_by_role("group", name="… har jeg våknet opp frisk og uthvilt").get_by_text(
        "Hele tiden"
    ).click()

    # back once: the first page keeps its answers (saved as the patient went)
    p.get_by_role("button", name="Tilbake").click()
    expect(p.locator(".progress-text")).to_have_text("Side 1 av 3")
    expect(
        p.get_by_role("group", name="… har jeg følt meg rolig og avslappet").get_by_label(
            "Mesteparten av tiden"
        )
    ).to_be_checked()
    p.get_by_role("button", name="Neste").click()
    expect(
        p.get_by_role("group", name="… har jeg våknet opp frisk og uthvilt").get_by_label(
            "Hele tiden"
        )
    ).to_be_checked()
    p.get_by_role(
        "group", name="… har dagliglivet mitt vært fylt med ting som interesserer meg"
    ).get_by_text("Mindre enn halvparten av tiden").click()
    p.get_by_role("button", name="Neste").click()
    expect(p.locator("h2")).to_have_text("Klar til å sende")
    check_accessibility(p, axe_source)
    p.get_by_role("button", name="Send inn svarene").click()
    expect(p.locator("h1")).to_have_text("Takk for svarene!")
    check_accessibility(p, axe_source)
    assert not errors, errors

    # the link is used up
    p.goto(link)
    expect(p.locator("h1")).to_have_text("Du har allerede svart")
    check_accessibility(p, axe_source)
    phone.close()

    # the nurse sees the score on the patient page: (3 + 4 + 1 + 5 + 2) × 4 = 60
    log_in(page, base, NURSE, pilot["logins"][NURSE])
    page.goto(f"{base}/patients/{patient.uid}/")
    section = page.locator("section.survey-results")
    expect(section).to_contain_text("WHO-5 (0–100): 60")
    expect(section.locator("svg.score-chart")).to_have_count(1)
    assert AuditEntry.objects.filter(
        action=AuditAction.SURVEY_VIEW, username=NURSE, patient_uid=patient.uid
    ).exists()
