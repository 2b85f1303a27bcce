"""Patient surveys: instruments, invitations through the outbox, single-use hashed links, the
patient's page (no identity shown, back, save as you go, kind refusals, rate limits), the
team's audited view of the answers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care.actions import AccessDenied
from pht.app.care.models import Patient
from pht.app.outbox import actions as outbox
from pht.app.outbox.models import Message, Status
from pht.app.surveys import actions, links
from pht.app.surveys.models import InvitationStatus, ResponseStatus, SurveyLink, SurveyResponse
from pht.core.errors import ReferenceDataError
from pht.reference.surveys import instrument, instruments, parse_instrument
from tests.app.bundle import PRACTICE_A
from tests.app.conftest import client_for

LINK = re.compile(r"https?://[^\s]+/s/([A-Za-z0-9_\-]+)")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    caches["default"].clear()


@pytest.fixture
def patient(users: Any) -> Patient:
    return Patient.objects.filter(practice_id=PRACTICE_A, listed=True).order_by("id").first()


@pytest.fixture
def outdir(settings: Any, tmp_path: Path) -> Path:
    settings.PHT_OUTBOX_DIR = str(tmp_path / "outbox")
    settings.PHT_OUTBOX_SENDERS = {}
    settings.PHT_SURVEY_BASE_URL = "https://pht.example"
    return tmp_path / "outbox"


def send_and_get_token(outdir: Path, channel: str = "sms") -> str:
    """Run the outbox and read the link from what the file sender wrote."""
    outbox.send_pending()
    texts = [p.read_text(encoding="utf-8") for p in sorted(outdir.glob(f"{channel}/*/*"))]
    found = [m.group(1) for t in texts for m in LINK.finditer(t)]
    assert found, texts
    return found[-1]


# -- instruments -------------------------------------------------------------------------------


def test_shipped_instruments_name_licence_goal_and_indicator() -> None:
    found = instruments()
    assert {"who5", "prem"} <= set(found)
    for ins in found.values():
        meta = ins.instrument
        assert meta.licence and meta.source and meta.licence_status in ("confirmed", "derived")
        assert meta.goal.value in ("health_and_coping", "satisfaction", "coordinated_services")
    assert found["prem"].instrument.languages == ["nb", "nn", "en"]


def test_who5_scoring_and_need() -> None:
    who5 = instrument("who5")
    low = {"q1": 1, "q2": 1, "q3": 2, "q4": 1, "q5": 1}
    assert who5.scores(low) == {"index": 24.0}
    assert who5.needs(who5.scores(low)) == ["WHO-5 28 eller lavere (mulig depresjon)"]
    assert who5.scores({**low, "q5": None}) == {"index": None}  # a sum needs every item
    assert who5.needs(who5.scores({k: 5 for k in low})) == []


def test_reverse_item_counts_the_other_way() -> None:
    prem = instrument("prem")
    # q6 "had to repeat the same information": "never" (1) is the best coordination (5).
    assert prem.scores({"q4": 5, "q5": 5, "q6": 1})["coordination"] == 5.0
    assert prem.scores({"q4": 1, "q5": 1, "q6": 5})["coordination"] == 1.0


def test_a_licence_holders_file_is_checked_field_by_field() -> None:
    text = (Path(__file__).parents[2] / "src/pht/reference/data/surveys/who5.toml").read_text()
    broken = text.replace(
        'options = "frequency", nb = "… har jeg følt meg rolig',
        'options = "nope", nb = "… har jeg følt meg rolig',
    )
    with pytest.raises(ReferenceDataError) as err:
        parse_instrument(broken, where="eq5d.toml")
    assert "eq5d.toml" in str(err.value) and "nope" in str(err.value)
    with pytest.raises(ReferenceDataError, match=r"instrument\.licence"):
        parse_instrument(text.replace("licence = ", "licens = "), where="x.toml")


# -- invitations and links ---------------------------------------------------------------------


def test_invite_queues_message_and_reminder_and_stores_no_link(
    users: Any, patient: Patient, outdir: Path
) -> None:
    inv = actions.invite(
        user=users["nurse_a"],
        patient=patient,
        instrument_id="who5",
        channel="sms",
        recipient="91234567",
    )
    assert inv.message.status == Status.QUEUED and "{lenke}" in inv.message.body
    assert inv.reminder.not_before > timezone.now() + dt.timedelta(days=6)
    token = send_and_get_token(outdir)
    assert len(token) >= 43  # 32 random bytes, url-safe base64
    link = SurveyLink.objects.get(invitation=inv)
    assert link.token_hash == links.token_hash(token) and token not in link.token_hash
    inv.refresh_from_db()
    assert inv.status == InvitationStatus.SENT
    # the usable link is nowhere in the database
    for m in Message.objects.all():
        assert token not in m.body
    assert not AuditEntry.objects.filter(detail__contains=token).exists()
    assert AuditEntry.objects.filter(
        action=AuditAction.SURVEY_INVITE, patient_uid=patient.uid
    ).exists()
    with pytest.raises(actions.SurveyError):  # one open invitation per instrument at a time
        actions.invite(
            user=users["nurse_a"],
            patient=patient,
            instrument_id="who5",
            channel="sms",
            recipient="91234567",
        )


def test_other_practice_cannot_invite(users: Any, patient: Patient) -> None:
    with pytest.raises(AccessDenied):
        actions.invite(
            user=users["nurse_b"],
            patient=patient,
            instrument_id="who5",
            channel="sms",
            recipient="91234567",
        )


def _answer_whole_survey(c: Client, token: str, values: dict[str, str]) -> Any:
    r = c.get(f"/s/{token}")
    assert r.status_code == 302 and r["Location"].startswith("/s/svar/")
    ins = instrument("who5")
    for page, group in enumerate(ins.group, start=1):
        data = {"side": page, "retning": "neste", **{q.id: values[q.id] for q in group.questions}}
        assert c.post(f"/s/svar/?side={page}", data).status_code == 302
    return c.post(
        f"/s/svar/?side={len(ins.group) + 1}", {"side": len(ins.group) + 1, "retning": "send"}
    )


def test_patient_answers_and_the_link_is_used_up(
    users: Any, patient: Patient, outdir: Path
) -> None:
    inv = actions.invite(
        user=None, patient=patient, instrument_id="who5", channel="sms", recipient="91234567"
    )
    token = send_and_get_token(outdir)
    c = Client()
    c.get(f"/s/{token}")
    page1 = c.get("/s/svar/?side=1")
    html = page1.content.decode()
    assert page1.status_code == 200 and "Side 1 av 3" in html
    for secret in (
        patient.name,
        patient.person_id,
        patient.birth_date.strftime("%d.%m.%Y"),
        str(patient.uid),
    ):
        assert secret not in html
    done = _answer_whole_survey(c, token, {"q1": "1", "q2": "1", "q3": "1", "q4": "2", "q5": "1"})
    assert done.status_code == 302 and done["Location"] == "/s/takk/"
    response = SurveyResponse.objects.get(invitation=inv)
    assert response.status == ResponseStatus.SUBMITTED and response.scores == {"index": 24.0}
    assert response.needs == ["WHO-5 28 eller lavere (mulig depresjon)"]
    inv.refresh_from_db()
    inv.reminder.refresh_from_db()
    assert inv.status == InvitationStatus.ANSWERED and inv.reminder.status == Status.FAILED
    again = Client().get(f"/s/{token}")
    assert again.status_code == 410 and "allerede svart" in again.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.SURVEY_REFUSED, reason="used").exists()


def test_back_keeps_answers_and_language_is_the_patients(
    users: Any, patient: Patient, outdir: Path
) -> None:
    actions.invite(
        user=None,
        patient=patient,
        instrument_id="prem",
        channel="email",
        recipient="ola@example.no",
    )
    token = send_and_get_token(outdir, "email")
    c = Client()
    c.get(f"/s/{token}")
    c.post("/s/svar/?side=1", {"side": 1, "retning": "neste", "q1": "4", "q2": "5", "q3": "4"})
    back = c.post("/s/svar/?side=2", {"side": 2, "retning": "tilbake", "q4": "3"})
    assert back["Location"].endswith("side=1")
    html = c.get("/s/svar/?side=1&sprak=nn").content.decode()
    assert 'lang="nn"' in html and "Tek legen og teamet deg på alvor?" in html
    assert 'value="4" checked' in html  # the saved answer is shown again
    assert SurveyResponse.objects.get().answers["q4"] == 3.0
    bad = c.post("/s/svar/?side=2", {"side": 2, "retning": "neste", "q4": "9"})
    assert bad.status_code == 400 and SurveyResponse.objects.get().answers["q4"] == 3.0


def test_expired_link_is_refused_kindly(users: Any, patient: Patient, outdir: Path) -> None:
    inv = actions.invite(
        user=None, patient=patient, instrument_id="who5", channel="sms", recipient="91234567"
    )
    token = send_and_get_token(outdir)
    SurveyLink.objects.filter(invitation=inv).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    r = Client().get(f"/s/{token}")
    assert r.status_code == 410 and "Lenken er utløpt" in r.content.decode()
    assert not SurveyResponse.objects.exists()


def test_guessing_is_refused_then_rate_limited(users: Any, patient: Patient, outdir: Path) -> None:
    actions.invite(
        user=None, patient=patient, instrument_id="who5", channel="sms", recipient="91234567"
    )
    token = send_and_get_token(outdir)
    c = Client(REMOTE_ADDR="10.1.2.3")
    for i in range(10):
        guess = f"{i:02d}" + token[2:]
        assert c.get(f"/s/{guess}").status_code == 404
    blocked = c.get(f"/s/{token}")  # even the right link, from this address, for a while
    assert blocked.status_code == 429 and "Vent litt" in blocked.content.decode()
    assert not SurveyResponse.objects.exists()
    assert Client(REMOTE_ADDR="10.9.9.9").get(f"/s/{token}").status_code == 302
    assert (
        AuditEntry.objects.filter(action=AuditAction.SURVEY_REFUSED, reason="unknown").count() == 10
    )
    # the count lives in the app database, so another server process sees it: a cache object of
    # its own (as a second gunicorn worker has) reads the same ten refusals
    from django.conf import settings
    from django.core.cache.backends.db import DatabaseCache

    from pht.app.surveys import ratelimit

    limits = settings.CACHES["limits"]
    other_process = DatabaseCache(limits["LOCATION"], limits)
    assert other_process.get(ratelimit._key("fail", "10.1.2.3")) == 10


def test_letter_has_a_pdf_with_the_link_as_qr(users: Any, patient: Patient, outdir: Path) -> None:
    actions.invite(
        user=users["secretary_a"],
        patient=patient,
        instrument_id="who5",
        channel="letter",
        recipient="Ola Nordmann\nStorgata 1\n0155 Oslo",
        remind=False,
    )
    outbox.send_pending()
    pdfs = list(outdir.glob("letter/*/*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
    assert SurveyLink.objects.count() == 1
    assert Message.objects.get().attachment is None  # the PDF with the link is not stored


def test_team_sees_scores_on_the_patient_page_and_the_view_is_audited(
    client: Any, users: Any, patient: Patient, outdir: Path
) -> None:
    actions.invite(
        user=None, patient=patient, instrument_id="who5", channel="sms", recipient="91234567"
    )
    token = send_and_get_token(outdir)
    _answer_whole_survey(Client(), token, {"q1": "5", "q2": "4", "q3": "4", "q4": "3", "q5": "4"})
    c = client_for(client, users["nurse_a"])
    page = c.get(f"/patients/{patient.uid}/").content.decode()
    assert "WHO-5 (0–100)" in page and "<svg" in page and ">80<" not in page
    assert "WHO-5 (0–100)</strong>: 80" in page
    views = AuditEntry.objects.filter(action=AuditAction.SURVEY_VIEW, patient_uid=patient.uid)
    assert views.count() == 1 and views.get().username == "sykepleier-02"
    assert c.get(f"/surveys/patients/{patient.uid}/").status_code == 200
    assert views.count() == 2
    other = client_for(Client(), users["nurse_b"])
    assert other.get(f"/surveys/patients/{patient.uid}/").status_code == 404
    assert views.count() == 2


def test_invite_form_and_overview(client: Any, users: Any, patient: Patient, outdir: Path) -> None:
    c = client_for(client, users["nurse_a"])
    bad = c.post(
        f"/surveys/patients/{patient.uid}/invite/",
        {"instrument": "who5", "channel": "sms", "recipient": "123"},
    )
    assert bad.status_code == 400 and "mobilnummer" in bad.content.decode()
    ok = c.post(
        f"/surveys/patients/{patient.uid}/invite/",
        {"instrument": "who5", "channel": "sms", "recipient": "91234567"},
    )
    assert ok.status_code == 302
    page = c.get("/surveys/").content.decode()
    assert "Svarprosent" in page and "&lt;5" in page  # one invitation: suppressed


# -- FHIR and the API --------------------------------------------------------------------------


def test_fhir_questionnaire_and_response_round_trip(
    client: Any, users: Any, patient: Patient, outdir: Path
) -> None:
    from pht.app.surveys import fhir

    q = fhir.questionnaire(instrument("prem"))
    assert q["url"] == "urn:pht:questionnaire:prem" and q["copyright"]
    first = q["item"][0]["item"][0]
    assert first["type"] == "choice" and len(first["answerOption"]) == 5
    assert any(e["extension"][0]["valueCode"] == "nn" for e in first["_text"]["extension"])

    actions.invite(
        user=None, patient=patient, instrument_id="who5", channel="sms", recipient="91234567"
    )
    token = send_and_get_token(outdir)
    _answer_whole_survey(Client(), token, {"q1": "5", "q2": "4", "q3": "4", "q4": "3", "q5": "4"})
    c = client_for(client, users["nurse_a"])
    bundle = c.get(f"/api/patients/{patient.uid}/questionnaire-responses").json()
    assert bundle["total"] == 1
    qr = bundle["entry"][0]["resource"]
    assert qr["subject"]["identifier"]["value"] == patient.person_id
    assert AuditEntry.objects.filter(
        action=AuditAction.SURVEY_EXPORT, patient_uid=patient.uid
    ).exists()

    # the same answers imported as if from another system: a second, equal response
    qr["id"] = "elsewhere-1"
    ok = c.post("/api/surveys/questionnaire-responses", qr, content_type="application/json")
    assert ok.status_code == 201, ok.json()
    assert ok.json()["scores"] == {"index": 80.0}
    assert SurveyResponse.objects.filter(origin="fhir", patient=patient).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.SURVEY_IMPORT).count() == 1

    bad = dict(
        qr,
        item=[
            {
                "linkId": "siste-to-uker",
                "item": [{"linkId": "q1", "answer": [{"valueCoding": {"code": "9"}}]}],
            }
        ],
    )
    refused = c.post("/api/surveys/questionnaire-responses", bad, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["field"] == "item[0].item[0].answer[0]"
    other = client_for(Client(), users["nurse_b"])
    assert (
        other.post(
            "/api/surveys/questionnaire-responses", qr, content_type="application/json"
        ).status_code
        == 403
    )
    assert SurveyResponse.objects.filter(origin="fhir").count() == 1


def test_api_invite_validates_as_the_form(client: Any, users: Any, patient: Patient) -> None:
    c = client_for(client, users["nurse_a"])
    url = f"/api/patients/{patient.uid}/survey-invitations"
    bad = c.post(
        url,
        {"instrument": "who5", "channel": "sms", "recipient": "12"},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["field"] == "recipient"
    ok = c.post(
        url,
        {"instrument": "who5", "channel": "sms", "recipient": "91234567"},
        content_type="application/json",
    )
    assert ok.status_code == 201
    assert c.get("/api/surveys/instruments").json()[0]["licence"]


def test_demo_cycle_sends_reminds_and_receives(users: Any, outdir: Path) -> None:
    from pht.app.surveys.demo import load_demo_surveys

    s = load_demo_surveys()
    assert s.invitations > 0 and s.sent == s.invitations
    assert 0 < s.answered < s.invitations and s.reminders == s.invitations - s.answered
    assert SurveyResponse.objects.filter(status=ResponseStatus.SUBMITTED).count() == s.answered
    assert list(outdir.glob("sms/*/*.txt"))
    assert load_demo_surveys().skipped


def test_low_who5_is_a_reason_on_the_worklist(client: Any, users: Any, outdir: Path) -> None:
    flagged = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).order_by("rank").first()
    c = client_for(client, users["nurse_a"])
    assert "WHO-5 28 eller lavere" not in c.get("/worklist/").content.decode()
    actions.invite(
        user=None, patient=flagged, instrument_id="who5", channel="sms", recipient="91234567"
    )
    token = send_and_get_token(outdir)
    _answer_whole_survey(Client(), token, {"q1": "1", "q2": "1", "q3": "1", "q4": "1", "q5": "1"})
    page = c.get("/worklist/").content.decode()  # the cached table was renewed by the answer
    assert "WHO-5 28 eller lavere (mulig depresjon)" in page


def test_scores_in_the_plan_review_and_the_batch_by_wave(
    client: Any, users: Any, patient: Patient, outdir: Path, settings: Any
) -> None:
    settings.PHT_SURVEY_CONTACTS = "synthetic"
    from pht.app.care import actions as care
    from pht.app.care.clock import today

    nurse = users["nurse_a"]
    care.do_save_plan(
        user=nurse,
        patient=patient,
        goal="Gå tur hver dag",
        responsible=nurse,
        contact_interval_months=3,
        next_due=today() + dt.timedelta(days=30),
        partners=[],
    )
    Patient.objects.filter(pk=patient.pk).update(target_groups="|chronic_disease|")
    result = actions.invite_batch(
        user=nurse, practice=patient.practice, instrument_id="who5", channel="sms"
    )
    assert len(result.invited) >= 1
    inv = patient.survey_invitations.get()
    assert inv.wave == "start" and inv.source == "batch"
    token = send_and_get_token(outdir)
    _answer_whole_survey(Client(), token, {"q1": "5", "q2": "4", "q3": "4", "q4": "3", "q5": "4"})
    page = client_for(client, nurse).get(f"/patients/{patient.uid}/plan/review/").content.decode()
    assert "WHO-5 (0–100)</strong>: 80" in page
    assert AuditEntry.objects.filter(
        action=AuditAction.SURVEY_VIEW, reason="planevaluering"
    ).exists()
