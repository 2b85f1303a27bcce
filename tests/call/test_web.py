"""The call in the web app, driven in-process with Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from pht.app.audit.models import AuditEntry
from pht.app.call.actions import case_record
from tests.call.web import form_data, make_users, seed_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    u = make_users()
    seed_call()
    return u


def _client(username: str) -> Client:
    from django.contrib.auth import get_user_model

    c = Client()
    user = get_user_model().objects.get(username=username)
    c.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return c


def test_municipality_draft_refused_field_by_field_then_submitted(
    users: dict[str, Any], settings: Any
) -> None:
    settings.PHT_CALL_NOW = "2017-10-14T12:00:00"
    c = _client("kommune-smaby")
    bad = form_data(name="Småby", code="9801", n=7, complete=False)
    r = c.post("/call/mine/new/", {**bad, "action": "submit"})
    assert r.status_code == 422
    html = r.content.decode()
    assert 'id="errors-purpose"' in html and "Formålet med tilskuddet mangler" in html
    assert 'id="errors-bank_account"' in html and "kontrollsifferet stemmer ikke" in html
    assert 'id="errors-gps"' in html and "må være med i piloten" in html
    rec = case_record()
    (draft_id,) = [k for k, v in rec.owners.items() if v == "9801"]
    assert rec.case.application(draft_id).status.value == "draft"
    good = form_data(name="Småby", code="9801", n=7)
    r = c.post(f"/call/mine/{draft_id}/", {**good, "action": "submit"})
    assert r.status_code == 302
    app = case_record().case.application(draft_id)
    assert app.status.value == "submitted" and not app.late
    actions = list(
        AuditEntry.objects.filter(username="kommune-smaby").values_list("action", flat=True)
    )
    assert {"call.draft", "call.submit_refused", "call.submit"} <= set(actions)
    # another municipality cannot see it
    other = _client("kommune-sentby")
    assert other.get(f"/call/mine/{draft_id}/").status_code == 404
    # and a municipality is not a case officer
    assert c.get("/call/cases/").status_code == 403


def test_officer_flow_with_four_eyes_letters_and_payments(
    users: dict[str, Any], settings: Any
) -> None:
    settings.PHT_CALL_NOW = "2017-10-16T09:00:00"
    late = _client("kommune-sentby")
    r = late.post(
        "/call/mine/new/", {**form_data(name="Sentby", code="9802", n=8), "action": "submit"}
    )
    assert r.status_code == 302
    officer = _client("saksbehandler-1")
    html = officer.get("/call/cases/").content.decode()
    (late_id,) = [k for k, v in case_record().owners.items() if v == "9802"]
    assert f'id="late-{late_id}"' in html
    settings.PHT_CALL_NOW = "2017-11-20T09:00:00"
    assert (
        officer.post(
            f"/call/cases/{late_id}/accept-late/", {"reason": "Altinn var nede"}
        ).status_code
        == 302
    )
    for key in ("anchoring", "team_plan", "coordination", "capacity", "control"):
        r = officer.post(
            f"/call/cases/{late_id}/score/",
            {
                "criterion": key,
                f"{key}-criterion": key,
                f"{key}-score": "5",
                f"{key}-comment": "god plan",
            },
        )
        assert r.status_code == 302
    sel = officer.get("/call/cases/selection/?gp_target=15&band=5").content.decode()
    assert "Valgt:" in sel and "Sentby" in sel
    r = officer.post("/call/cases/propose/", {"gp_target": "15", "band": "5"})
    assert r.status_code == 302
    r = officer.post("/call/cases/decisions/approve/", follow=True)
    assert "fireøyneprinsippet" in r.content.decode()
    assert not case_record().case.decisions.approved
    second = _client("saksbehandler-2")
    assert second.post("/call/cases/decisions/approve/").status_code == 302
    decisions = case_record().case.decisions
    assert decisions.approved and decisions.approved_by == "saksbehandler-2"
    pdf = second.get(f"/call/cases/{late_id}/letter.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    csv_text = second.get("/call/cases/payments/?year=2018&format=csv").content.decode()
    assert "Sentby legesenter" in csv_text and "301500.00" in csv_text  # 3 GPs × 9/12 × 134,000
    logged = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "call.accept_late",
        "call.score",
        "call.select",
        "call.propose",
        "call.approve_refused",
        "call.approve",
        "call.letter",
        "call.payments",
    } <= logged


def test_demo_call_loads_once_and_gives_real_applicants_to_todays_municipality(db: Any) -> None:
    from pht.app.accounts.models import Municipality
    from pht.app.call.demo import SECOND_OFFICER, load_demo_call

    Municipality.objects.create(code="4649", name="Stad")  # Eid (1443) since 2020
    counts = load_demo_call()
    assert counts == {"applications": 17, "owned_by_demo_municipalities": 1}
    rec = case_record()
    (eid,) = [a for a in rec.case.applications if a.name == "Eid"]
    assert rec.owners == {eid.id: "4649"}
    assert load_demo_call()["applications"] == 0  # kept, not replaced
    c = _client(SECOND_OFFICER)
    assert "Vestøy (syntetisk)" in c.get("/call/cases/").content.decode()
    html = c.get("/call/cases/selection/?quota_medium=3&quota_large=4").content.decode()
    assert "Valgt: Rana, Eid, Flora, Kristiansand, Seljord, Oslo, Ringsaker, Ørskog, Malvik" in html


def test_officer_records_a_visit_and_overrides_the_selection(
    users: dict[str, Any], settings: Any
) -> None:
    settings.PHT_CALL_NOW = "2017-11-10T09:00:00"
    officer = _client("saksbehandler-1")
    r = officer.post(
        "/call/cases/seed-m/meeting/",
        {"kind": "visit", "held_on": "2017-11-09", "notes": "Besøk hos rådmann og fastleger"},
    )
    assert r.status_code == 302
    assert "Besøk hos rådmann" in officer.get("/call/cases/seed-m/").content.decode()
    refused = officer.post(
        "/call/cases/seed-m/override/", {"include": "out", "reason": ""}, follow=True
    )
    assert "må begrunnes" in refused.content.decode()
    officer.post(
        "/call/cases/seed-m/override/",
        {"include": "out", "reason": "praksisen trekker seg", "what_if": "gp_target=9&band=0"},
    )
    html = officer.get("/call/cases/selection/?gp_target=9&band=0").content.decode()
    assert "Tatt ut manuelt av saksbehandler-1: praksisen trekker seg" in html
    (o,) = case_record().case.overrides
    assert o.application_id == "seed-m" and not o.include
    logged = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"call.meeting", "call.override"} <= logged
