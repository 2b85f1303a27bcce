"""The team's daily work: recall register and batch letters, structured annual checks that close
their recall, quality indicators from the values, plans that drive the due list, coordination
threads as FHIR Communication, the per-condition worklist and the API with the forms' rules."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.urls import reverse

from pht.app.care import actions, clock, quality
from pht.app.care.models import (
    AnnualCheck,
    FollowUpPlan,
    Patient,
    PlanEvent,
    Task,
    TaskKind,
    TaskStatus,
)
from tests.app.bundle import PRACTICE_A
from tests.app.care_fixtures import (
    DIABETES_OVERDUE,
    HYPERTENSION_ONLY,
    bundle_with_hand_built,
    load_names,
)
from tests.app.conftest import client_for
from tests.app.pdfpages import page_count

pytestmark = pytest.mark.django_db

GOOD = {"hba1c": "51", "bp_systolic": "132", "bp_diastolic": "78", "ldl": "2,4"}


@pytest.fixture
def hand_built(users: Any) -> dict[str, Patient]:
    from pht.app.care.loading import load_bundle

    bundle, ids = bundle_with_hand_built()
    load_bundle(bundle)
    load_names(ids)
    return {name: Patient.objects.get(person_id=pid) for name, pid in ids.items()}


def _recall(patient: Patient, user: Any, condition: str = "diabetes") -> Task:
    return actions.do_create_task(
        user=user,
        patient=patient,
        title=f"Årskontroll {condition}",
        due=clock.today(),
        kind=TaskKind.ANNUAL_CHECK,
        condition=condition,
        assigned_role="secretary",
    )


def test_app_today_is_the_data_date_and_the_header_shows_it(client: Any, users: Any) -> None:
    assert clock.today() == dt.date(2023, 3, 31) and clock.is_data_date()
    client_for(client, users["nurse_a"])
    html = client.get(reverse("care:due_list")).content.decode()
    assert "Dataenes dato: 31.03.2023" in html


def test_nurse_records_diabetes_check_and_its_recall_closes_at_once(
    client: Any, users: Any, hand_built: dict[str, Patient]
) -> None:
    patient = hand_built[DIABETES_OVERDUE]
    recall = _recall(patient, users["secretary_a"])
    client_for(client, users["nurse_a"])
    url = reverse("care:check_create", kwargs={"uid": patient.uid, "condition": "diabetes"})
    form = {"date": clock.today().isoformat(), **{f"v_{k}": v for k, v in GOOD.items()}}
    # a typing error: nothing is stored, the error stands beside its field
    bad = client.post(url, {**form, "v_hba1c": "5,3,"})
    assert bad.status_code == 400 and 'id="errors-v_hba1c"' in bad.content.decode()
    missing = client.post(url, {**form, "v_bp_systolic": ""})
    assert (
        missing.status_code == 400 and "Fyll inn Blodtrykk, systolisk" in missing.content.decode()
    )
    assert not AnnualCheck.objects.exists()
    ok = client.post(url, {**form, "v_foot_exam": "ja", "v_smoking": "former"})
    assert ok.status_code == 302
    check = AnnualCheck.objects.get(patient=patient)
    assert check.values == {
        "hba1c": 51,
        "bp_systolic": 132,
        "bp_diastolic": 78,
        "ldl": 2.4,
        "foot_exam": True,
        "smoking": "former",
    }
    recall.refresh_from_db()
    assert recall.status == TaskStatus.DONE and "årskontroll registrert" in recall.close_note
    patient.refresh_from_db()
    assert "diabetes" not in patient.overdue_condition_list()
    page = client.get(reverse("care:patient", kwargs={"uid": patient.uid})).content.decode()
    assert "LDL-kolesterol: 2,4 mmol/l" in page and "Årskontrollen er lagret." in page
    # a reload of the same (older) registry data keeps the app's check as done
    from pht.app.care.loading import load_bundle

    bundle, _ids = bundle_with_hand_built()
    load_bundle(bundle)
    patient.refresh_from_db()
    assert patient.annual_checks["diabetes"]["overdue"] is False


def test_the_secretary_cannot_record_a_check(
    client: Any, users: Any, hand_built: dict[str, Patient]
) -> None:
    patient = hand_built[DIABETES_OVERDUE]
    with pytest.raises((actions.ActionError, actions.AccessDenied)):
        actions.do_record_annual_check(
            user=users["secretary_a"],
            patient=patient,
            condition="diabetes",
            date=clock.today(),
            values=GOOD,
        )
    with pytest.raises((actions.ActionError, actions.AccessDenied)):
        actions.do_log_activity(
            user=users["secretary_a"], patient=patient, kind="home_visit", date=clock.today()
        )
    assert not AnnualCheck.objects.exists()


def test_batch_letters_are_one_pdf_and_no_answer_needs_three(
    client: Any, users: Any, hand_built: dict[str, Patient]
) -> None:
    nurse, secretary = users["nurse_a"], users["secretary_a"]
    patients = list(Patient.objects.filter(practice_id=PRACTICE_A, flagged=True)[:3])
    recalls = [_recall(p, nurse) for p in patients]
    client_for(client, secretary)
    page = client.get(reverse("care:recalls")).content.decode()
    assert all(f'id="recall-{t.pk}"' in page for t in recalls)
    post = {
        "tasks": [t.pk for t in recalls],
        "channel": "letter",
        "sent_on": clock.today().isoformat(),
    }
    response = client.post(reverse("care:recall_invite"), post)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert page_count(response.content) == 3
    assert all(t.invitations.count() == 1 for t in recalls)
    # "ikke svart" only after the third invitation; "reservert seg" at once
    close = reverse("care:recall_close", kwargs={"pk": recalls[0].pk})
    assert client.post(close, {"status": "no_answer"}).status_code == 400
    for _ in range(2):
        client.post(reverse("care:recall_invite"), {**post, "tasks": [recalls[0].pk]})
    assert (
        client.post(reverse("care:recall_invite"), {**post, "tasks": [recalls[0].pk]}).status_code
        == 400
    )
    assert client.post(close, {"status": "no_answer"}).status_code == 302
    declined = reverse("care:recall_close", kwargs={"pk": recalls[1].pk})
    assert client.post(declined, {"status": "declined"}).status_code == 302
    outcomes = quality.recall_outcomes(patients[0].practice, clock.today())
    assert outcomes["no_answer"] == 1 and outcomes["declined"] == 1 and outcomes["done"] == 0
    # a foreign recall id is refused and nothing is recorded
    foreign = _recall(
        Patient.objects.exclude(practice_id=PRACTICE_A).filter(flagged=True)[0], users["nurse_b"]
    )
    before = recalls[2].invitations.count()
    bad = client.post(reverse("care:recall_invite"), {**post, "tasks": [recalls[2].pk, foreign.pk]})
    assert bad.status_code == 400 and recalls[2].invitations.count() == before


def test_hba1c_indicator_from_recorded_values_leaves_declined_out(
    users: Any, hand_built: dict[str, Patient]
) -> None:
    nurse = users["nurse_a"]
    a, b = hand_built[DIABETES_OVERDUE], hand_built[HYPERTENSION_ONLY]
    actions.do_record_annual_check(
        user=nurse, patient=a, condition="diabetes", date=clock.today(), values=GOOD
    )
    actions.do_record_annual_check(
        user=nurse,
        patient=b,
        condition="diabetes",
        date=clock.today(),
        values={**GOOD, "hba1c": "64"},
    )
    rows = {r.key: r for r in quality.check_indicators(a.practice, clock.today())}
    assert (rows["diabetes_hba1c_53"].met, rows["diabetes_hba1c_53"].checked) == (1, 2)
    recall = _recall(b, nurse)
    actions.do_close_recall_unanswered(user=nurse, task=recall, status=TaskStatus.DECLINED)
    rows = {r.key: r for r in quality.check_indicators(a.practice, clock.today())}
    assert (rows["diabetes_hba1c_53"].met, rows["diabetes_hba1c_53"].checked) == (1, 1)
    assert rows["diabetes_hba1c_53"].declined == 1


def test_worklist_overdue_filter_is_per_condition(
    client: Any, users: Any, hand_built: dict[str, Patient]
) -> None:
    client_for(client, users["nurse_a"])
    url = reverse("care:worklist")
    diabetes = client.get(url, {"condition": "diabetes", "overdue": "on"}).content.decode()
    assert DIABETES_OVERDUE in diabetes and HYPERTENSION_ONLY not in diabetes
    hypertension = client.get(url, {"condition": "hypertension", "overdue": "on"}).content.decode()
    assert HYPERTENSION_ONLY in hypertension and DIABETES_OVERDUE not in hypertension
    # every listed patient of the diabetes filter has the diabetes check overdue
    uids = re.findall(r'href="/patients/([0-9a-f-]{36})/"', diabetes)
    assert uids and all(
        "diabetes" in Patient.objects.get(uid=u).overdue_condition_list() for u in uids
    )
    # risk shown one way: per cent with band
    assert "21 % (høy)" in hypertension
    # search by fødselsnummer
    pid = hand_built[HYPERTENSION_ONLY].person_id
    found = client.get(url, {"q": pid}).content.decode()
    assert HYPERTENSION_ONLY in found and "1 pasient" in found


def test_plan_contact_on_due_list_review_end_history_and_min_plan(
    client: Any, users: Any, hand_built: dict[str, Patient]
) -> None:
    nurse = users["nurse_a"]
    patient = hand_built[HYPERTENSION_ONLY]
    today = clock.today()
    plan = actions.do_save_plan(
        user=nurse,
        patient=patient,
        goal="Gå til butikken igjen",
        responsible=nurse,
        contact_interval_months=3,
        next_due=today + dt.timedelta(days=1),
        partners=["home_nursing"],
        who_to_call="Sykepleier Kari, 75 12 34 56",
    )
    client_for(client, nurse)
    due = client.get(reverse("care:due_list")).content.decode()
    assert 'id="plan-contacts"' not in due  # not yet due
    plan.next_due = today
    plan.save()
    due = client.get(reverse("care:due_list")).content.decode()
    assert 'id="plan-contacts"' in due and HYPERTENSION_ONLY in due
    # the contact moves the next one an interval on
    r = client.post(
        reverse("care:plan_contact", kwargs={"uid": patient.uid}),
        {"date": today.isoformat(), "note": "Telefon"},
    )
    assert r.status_code == 302
    plan.refresh_from_db()
    assert plan.next_due == actions.add_months(today, 3)
    assert 'id="plan-contacts"' not in client.get(reverse("care:due_list")).content.decode()
    # review with a new goal; the history keeps the old one
    bad = client.post(reverse("care:plan_review", kwargs={"uid": patient.uid}), {"date": today})
    assert bad.status_code == 400 and 'id="errors-went_well"' in bad.content.decode()
    client.post(
        reverse("care:plan_review", kwargs={"uid": patient.uid}),
        {"date": today.isoformat(), "went_well": "Går daglig", "new_goal": "Gå på ski"},
    )
    plan.refresh_from_db()
    assert plan.goal == "Gå på ski"
    kinds = list(PlanEvent.objects.filter(plan=plan).order_by("pk").values_list("kind", flat=True))
    assert kinds == ["created", "contact", "reviewed"]
    history = client.get(reverse("care:plan_history", kwargs={"uid": patient.uid})).content
    assert "Gå til butikken igjen" in history.decode()
    pdf = client.get(reverse("care:min_plan", kwargs={"uid": patient.uid}))
    assert pdf["Content-Type"] == "application/pdf" and page_count(pdf.content) == 1
    # ending takes it off the due list
    client.post(
        reverse("care:plan_end", kwargs={"uid": patient.uid}),
        {"reason": "goal_reached", "date": today.isoformat()},
    )
    plan.refresh_from_db()
    assert not plan.active and plan.end_reason == "goal_reached"


def test_coordination_thread_and_fhir_communication(
    client: Any, users: Any, hand_built: dict[str, Patient]
) -> None:
    patient = hand_built[HYPERTENSION_ONLY]
    client_for(client, users["nurse_a"])
    r = client.post(
        reverse("care:thread_create", kwargs={"uid": patient.uid}),
        {"partner": "home_nursing", "subject": "Insulin morgen", "text": "Kan dere gi insulin?"},
    )
    assert r.status_code == 302
    thread = patient.threads.get()
    assert thread.status == "sent"
    url = reverse("care:thread", kwargs={"pk": thread.pk})
    client.post(
        url, {"direction": "in", "on": clock.today().isoformat(), "text": "Ja, fra mandag."}
    )
    thread.refresh_from_db()
    assert thread.status == "answered"
    bundle = json.loads(client.get(reverse("care:thread_fhir", kwargs={"pk": thread.pk})).content)
    comms = [e["resource"] for e in bundle["entry"]]
    assert [c["resourceType"] for c in comms] == ["Communication", "Communication"]
    assert comms[1]["inResponseTo"][0]["reference"] == f"Communication/{comms[0]['id']}"
    assert comms[0]["subject"]["identifier"]["value"] == patient.person_id
    # a meeting records who took part
    meeting = client.post(
        reverse("care:activity_create", kwargs={"uid": patient.uid}),
        {
            "kind": "coordination_meeting",
            "partner": "home_nursing",
            "date": clock.today().isoformat(),
        },
    )
    assert meeting.status_code == 400 and 'id="errors-participants"' in meeting.content.decode()


def test_api_recalls_checks_and_reviews_validate_as_the_forms(
    client: Any, users: Any, hand_built: dict[str, Patient]
) -> None:
    patient = hand_built[DIABETES_OVERDUE]
    recall = _recall(patient, users["nurse_a"])
    client_for(client, users["secretary_a"])
    rows = client.get("/api/recalls", {"status": "open"}).json()
    assert recall.pk in [r["id"] for r in rows]
    invited = client.post(
        "/api/recalls/invite",
        {"tasks": [recall.pk], "channel": "letter", "sent_on": str(clock.today())},
        content_type="application/json",
    )
    assert invited.status_code == 200 and invited.json()[0]["invitations"][0]["channel"] == "letter"
    body = {"condition": "diabetes", "date": str(clock.today()), "values": {**GOOD}}
    refused = client.post(
        f"/api/patients/{patient.uid}/checks", body, content_type="application/json"
    )
    assert refused.status_code == 403  # the secretary records no clinical checks
    client_for(client, users["nurse_a"])
    url = f"/api/patients/{patient.uid}/checks"
    bad = client.post(
        url, {**body, "values": {**GOOD, "hba1c": "abc"}}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json() == {
        "field": "hba1c",
        "message": "HbA1c: skriv et tall.",
    }
    # the page's form says exactly the same about the same value
    form_url = reverse("care:check_create", kwargs={"uid": patient.uid, "condition": "diabetes"})
    page = client.post(
        form_url,
        {
            "date": clock.today().isoformat(),
            **{f"v_{k}": v for k, v in {**GOOD, "hba1c": "abc"}.items()},
        },
    )
    assert "HbA1c: skriv et tall." in page.content.decode()
    ok = client.post(url, body, content_type="application/json")
    assert ok.status_code == 201 and ok.json()["recalls_closed"] == [recall.pk]
    assert client.get("/api/recalls", {"status": "open"}).json() == [
        r for r in client.get("/api/recalls", {"status": "open"}).json() if r["id"] != recall.pk
    ]
    actions.do_save_plan(
        user=users["nurse_a"],
        patient=patient,
        goal="Ned i vekt",
        responsible=users["nurse_a"],
        contact_interval_months=2,
        next_due=clock.today(),
        partners=[],
    )
    rev = client.post(
        f"/api/patients/{patient.uid}/plan/reviews",
        {"date": str(clock.today()), "went_well": ""},
        content_type="application/json",
    )
    assert rev.status_code == 422 and rev.json()["field"] == "went_well"
    rev = client.post(
        f"/api/patients/{patient.uid}/plan/reviews",
        {"date": str(clock.today()), "went_well": "3 kg ned", "new_goal": "5 kg ned"},
        content_type="application/json",
    )
    assert rev.status_code == 201 and rev.json()["goal"] == "5 kg ned"
    assert FollowUpPlan.objects.get(patient=patient).reviews.count() == 1


def test_sms_and_email_invitations_go_through_the_outbox(
    client: Any, users: Any, hand_built: dict[str, Patient], settings: Any, tmp_path: Any
) -> None:
    """E-mail to a real local SMTP server (aiosmtpd), SMS to the file sender."""
    from pht.app.outbox.actions import send_pending
    from pht.app.outbox.models import Message
    from tests.app.smtp import SmtpServer

    settings.PHT_SURVEY_CONTACTS = "synthetic"
    settings.PHT_OUTBOX_DIR = str(tmp_path / "outbox")
    settings.PHT_OUTBOX_SENDERS = {"email": "smtp"}
    settings.PHT_OUTBOX_FROM = "legekontoret@pht.example"
    smtp = SmtpServer()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        a, b = hand_built[DIABETES_OVERDUE], hand_built[HYPERTENSION_ONLY]
        recalls = [_recall(a, users["nurse_a"]), _recall(b, users["nurse_a"], "hypertension")]
        client_for(client, users["secretary_a"])
        post = {"tasks": [t.pk for t in recalls], "sent_on": clock.today().isoformat()}
        assert (
            client.post(reverse("care:recall_invite"), {**post, "channel": "email"}).status_code
            == 302
        )
        assert (
            client.post(reverse("care:recall_invite"), {**post, "channel": "sms"}).status_code
            == 302
        )
        queued = Message.objects.order_by("pk")
        assert [m.channel for m in queued] == ["email", "email", "sms", "sms"]
        assert {m.ref for m in queued} == {f"task:{t.pk}" for t in recalls}
        assert all(t.invitations.count() == 2 for t in recalls)
        assert recalls[0].invitations.get(number=1).outbox_ref == f"outbox:{queued[0].pk}"
        summary = send_pending()
        assert summary.sent == 4
        assert len(smtp.messages) == 2
        assert "årskontroll for diabetes" in smtp.messages[0].message["Subject"]
        sms = list((tmp_path / "outbox" / "sms").rglob("*.txt"))
        assert len(sms) == 2 and "Ring legekontoret" in sms[0].read_text()
        page = client.get(reverse("care:recalls")).content.decode()
        assert "2. 31.03.2023 · SMS" in page and "1. 31.03.2023 · e-post" in page
    finally:
        smtp.stop()
    # without a contact directory nothing is sent and nothing is recorded
    settings.PHT_SURVEY_CONTACTS = ""
    before = Message.objects.count()
    r = client.post(reverse("care:recall_invite"), {**post, "channel": "sms"})
    assert r.status_code == 400 and Message.objects.count() == before
    assert all(t.invitations.count() == 2 for t in recalls)


def test_recalls_for_everyone_overdue_for_a_condition(
    client: Any, users: Any, hand_built: dict[str, Patient]
) -> None:
    client_for(client, users["secretary_a"])
    url = reverse("care:recall_create_overdue")
    assert client.post(url, {"condition": "hypertension"}).status_code == 302
    made = Task.objects.filter(kind=TaskKind.ANNUAL_CHECK, condition="hypertension")
    assert [t.patient.name for t in made] == [HYPERTENSION_ONLY]
    assert made[0].assigned_role == "secretary" and made[0].opened_on == clock.today()
    client.post(url, {"condition": "hypertension"})  # no second recall for the same check
    assert made.count() == 1
    assert client.post(url, {"condition": "nonsense"}).status_code == 400


def test_the_recall_register_and_the_due_list_show_fifty_rows_a_page(
    client: Any, users: Any
) -> None:
    secretary = users["secretary_a"]
    patient = Patient.objects.filter(practice_id=PRACTICE_A, listed=True).order_by("pk").first()
    assert patient is not None
    before = Task.objects.filter(patient__practice_id=PRACTICE_A, assigned_role="secretary").count()
    for _ in range(55 - before):
        _recall(patient, users["nurse_a"])
    c = client_for(client, secretary)
    rows = re.compile(r'<tr class="recall-row"')
    first = c.get("/recalls/").content.decode()
    assert len(rows.findall(first)) == 50
    assert "55 åpne innkallinger" in first
    assert "Side 1 av 2 (1–50 av 55)" in first
    second = c.get("/recalls/?condition=diabetes&page=2").content.decode()
    assert len(rows.findall(second)) == 5
    assert "Side 2 av 2 (51–55 av 55)" in second
    assert 'href="?condition=diabetes&amp;page=1#recall-table"' in second  # filters kept
    # the secretary's due list: the same 55 tasks due today, 50 a page
    due = c.get("/tasks/").content.decode()
    table = due.split('id="due-now"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr") - 1 == 50  # minus the header row
    assert "Side 1 av 2 (1–50 av 55)" in due
    due2 = c.get("/tasks/?page=2").content.decode()
    assert due2.split('id="due-now"', 1)[1].split("</table>", 1)[0].count("<tr") - 1 == 5


def test_the_check_results_page_names_each_source_status_in_norwegian(
    client: Any, users: Any
) -> None:
    page = client_for(client, users["lead_a"]).get("/checks/results/").content.decode()
    statuses = re.findall(r"\((bekreftet|avledet|antatt)\)</td>", page)
    assert len(statuses) == len(
        quality.check_indicators(users["lead_a"].profile.practice, clock.today())
    )
    assert "(status " not in page
