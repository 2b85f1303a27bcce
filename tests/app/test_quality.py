"""Quality-improvement cycles: goals, PDSA notes, quarterly counts, peers, the quality grant."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from tests.app.bundle import PRACTICE_A, PRACTICE_B
from tests.app.conftest import client_for

LIST_GRANT = "1000000.00"


@pytest.fixture
def grant_practice(users: Any) -> Any:
    """Practice B (grant model) with a financing snapshot of 2023."""
    from pht.app.dashboards.models import FinancingSnapshot

    FinancingSnapshot.objects.create(
        practice_id=PRACTICE_B, year=2023, data={"grant": {"list_grant": LIST_GRANT}}
    )
    return users


def _grant(html: str) -> int:
    m = re.search(r'id="own-quality-grant" data-ore="(\d+)"', html)
    assert m, html[:2000]
    return int(m.group(1))


def test_goal_met_changes_the_quality_grant(client: Any, grant_practice: Any) -> None:
    from pht.app.audit.models import AuditEntry

    client_for(client, grant_practice["lead_b"])
    url = reverse("quality:index")
    assert _grant(client.get(url).content.decode()) == 0
    r = client.post(url, {"new_goal": "1", "indicator": "diabetes_hba1c", "target": "60",
                          "period_start": "01.01.2023", "period_end": "31.12.2023"})  # fmt: skip
    assert r.status_code == 302
    # too few patients: the share is not shown and the goal is not met
    client.post(url, {"measure": "1", "indicator": "diabetes_hba1c", "quarter": "2023Q1",
                      "numerator": "3", "denominator": "4"})  # fmt: skip
    html = client.get(url).content.decode()
    assert _grant(html) == 0 and "&lt;5" in html
    client.post(url, {"measure": "1", "indicator": "diabetes_hba1c", "quarter": "2023Q2",
                      "numerator": "30", "denominator": "40"})  # fmt: skip
    html = client.get(url).content.decode()
    # 5 % of the list grant × 1 goal reached / max(1 goal, at least 2)
    expected = Decimal(LIST_GRANT) * Decimal("0.05") / 2
    assert _grant(html) == int(expected * 100)
    assert AuditEntry.objects.filter(action="quality.goal").count() == 1
    assert AuditEntry.objects.filter(action="quality.measure").count() == 2


def test_refusals_and_notes(client: Any, grant_practice: Any) -> None:
    from pht.app.quality.models import PdsaNote, QualityGoal

    client_for(client, grant_practice["nurse_b"])
    url = reverse("quality:index")
    # only the team lead sets goals
    r = client.post(url, {"new_goal": "1", "indicator": "target_plan", "target": "50",
                          "period_start": "01.01.2023", "period_end": "31.12.2023"})  # fmt: skip
    assert r.status_code == 400 and QualityGoal.objects.count() == 0
    client_for(client, grant_practice["lead_b"])
    bad = client.post(url, {"new_goal": "1", "indicator": "target_plan", "target": "150",
                            "period_start": "01.01.2023", "period_end": "31.12.2023"})  # fmt: skip
    assert bad.status_code == 400 and "mellom 0 og 100" in bad.content.decode()
    client.post(url, {"new_goal": "1", "indicator": "annual_check_dm_copd", "target": "50",
                      "period_start": "01.01.2019", "period_end": "31.12.2019"})  # fmt: skip
    goal = QualityGoal.objects.get()
    page = reverse("quality:goal", kwargs={"goal_id": goal.pk})
    client.post(
        page, {"stage": "plan", "date": "01.02.2023", "text": "Innkalle alle med diabetes."}
    )
    assert PdsaNote.objects.count() == 1
    html = client.get(page).content.decode()
    # registry indicator: quarters with n, Wilson interval and the pooled comparison practices
    assert "2019Q4" in html and "95 % KI" in html and "Innkalle alle" in html
    assert re.search(r"\d+ %–\d+ %", html)
    client_for(client, grant_practice["lead_a"])
    assert client.get(page).status_code == 404


def test_peers_by_name_only_with_consent(client: Any, grant_practice: Any) -> None:
    from pht.app.accounts.models import Practice
    from pht.app.quality.figures import peers
    from pht.app.quality.models import PeerConsent
    from pht.reference.quality import load_quality_catalogue

    ind = load_quality_catalogue().get("annual_check_dm_copd")
    b = Practice.objects.get(pk=PRACTICE_B)
    before = peers(b, ind)
    assert before["named"] == [] and before["hidden"] == 1  # one other practice: no distribution
    PeerConsent.objects.create(practice_id=PRACTICE_A, share_name=True)
    after = peers(b, ind)
    assert [p["practice"] for p in after["named"]] == ["Storforshei legesenter"]
    assert after["named"][0]["n"] >= 5
