"""The team's work: worklist filters, plans, tasks and recalls, activities — through the views."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care import actions, clock
from pht.app.care.loading import load_bundle
from pht.app.care.models import Activity, FollowUpPlan, Patient, Task, TaskStatus
from pht.app.care.views import parse_birth_date
from tests.app.bundle import PRACTICE_A, make_bundle
from tests.app.conftest import client_for


def first_flagged(practice: str = PRACTICE_A) -> Patient:
    patient = Patient.objects.filter(practice_id=practice, flagged=True).order_by("rank").first()
    assert patient is not None
    return patient


def test_worklist_is_ranked_and_filters(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    flagged = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True)
    html = client.get(reverse("care:worklist")).content.decode()
    assert f"{flagged.count()} pasienter" in html
    overdue = flagged.filter(annual_check_overdue=True)
    assert overdue.exists()
    html = client.get(reverse("care:worklist"), {"overdue": "on"}).content.decode()
    assert f"{overdue.count()} pasient" in html
    for p in flagged.filter(annual_check_overdue=False):
        assert str(p.uid) not in html
    diabetes = flagged.filter(conditions__contains="|diabetes|")
    html = client.get(reverse("care:worklist"), {"condition": "diabetes"}).content.decode()
    assert f"{diabetes.count()} pasient" in html


def test_worklist_htmx_returns_only_the_table(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    response = client.get(
        reverse("care:worklist"),
        {"risk_band": "high"},
        headers={"HX-Request": "true", "HX-Target": "worklist-results"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="worklist-table"' in html


def test_worklist_pages(client: Any, users: Any, settings: Any) -> None:
    settings.PHT_PAGE_SIZE = 5
    client_for(client, users["nurse_a"])
    first = client.get(reverse("care:worklist")).content.decode()
    second = client.get(reverse("care:worklist"), {"page": 2}).content.decode()
    top = first_flagged()
    assert top.name in first and str(top.uid) not in second
    assert "Side 2 av" in second


def test_search_by_name_and_birth_date_finds_listed_patients(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=False).first()
    assert patient is not None
    html = client.get(reverse("care:worklist"), {"q": patient.name.split()[0]}).content.decode()
    assert str(patient.uid) in html
    born = patient.birth_date.strftime("%d.%m.%Y")
    html = client.get(reverse("care:worklist"), {"q": born}).content.decode()
    assert str(patient.uid) in html
    assert AuditEntry.objects.filter(action=AuditAction.SEARCH).exists()


def test_parse_birth_date() -> None:
    assert parse_birth_date("31.12.1950") == dt.date(1950, 12, 31)
    assert parse_birth_date("1950-12-31") == dt.date(1950, 12, 31)
    assert parse_birth_date("31121950") == dt.date(1950, 12, 31)
    assert parse_birth_date("31.02.1950") is None
    assert parse_birth_date("Kari") is None


def test_plan_form_saves_and_rejects_bad_input(client: Any, users: Any) -> None:
    patient = first_flagged()
    nurse = users["nurse_a"]
    client_for(client, nurse)
    url = reverse("care:plan", kwargs={"uid": patient.uid})
    bad = client.post(
        url,
        {"goal": "", "responsible": nurse.pk, "contact_interval_months": 0, "next_due": "x"},
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'id="errors-goal"' in html
    assert 'id="errors-contact_interval_months"' in html
    assert 'id="errors-next_due"' in html
    assert not FollowUpPlan.objects.exists()
    due = clock.today() + dt.timedelta(days=90)
    ok = client.post(
        url,
        {
            "goal": "Gå til butikken igjen",
            "responsible": nurse.pk,
            "contact_interval_months": 3,
            "next_due": due.isoformat(),
            "partners": ["home_nursing"],
        },
    )
    assert ok.status_code == 302
    plan = FollowUpPlan.objects.get(patient=patient)
    assert plan.goal == "Gå til butikken igjen" and plan.partners == ["home_nursing"]
    page = client.get(reverse("care:patient", kwargs={"uid": patient.uid})).content.decode()
    assert "Gå til butikken igjen" in page and "hjemmesykepleie" in page
    assert AuditEntry.objects.filter(action=AuditAction.SAVE_PLAN, person_id=patient.person_id)


def test_plan_responsible_must_be_of_the_same_practice(client: Any, users: Any) -> None:
    patient = first_flagged()
    client_for(client, users["nurse_a"])
    response = client.post(
        reverse("care:plan", kwargs={"uid": patient.uid}),
        {
            "goal": "Mål",
            "responsible": users["nurse_b"].pk,
            "contact_interval_months": 3,
            "next_due": (clock.today() + dt.timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert 'id="errors-responsible"' in response.content.decode()
    assert not FollowUpPlan.objects.exists()


def test_create_and_complete_task(client: Any, users: Any) -> None:
    patient = first_flagged()
    nurse = users["nurse_a"]
    client_for(client, nurse)
    due = clock.today()
    response = client.post(
        reverse("care:task_create", kwargs={"uid": patient.uid}),
        {
            "title": "Ring pasienten",
            "kind": "task",
            "assigned_user": nurse.pk,
            "due": due.isoformat(),
        },
    )
    assert response.status_code == 302
    task = Task.objects.get(patient=patient)
    due_list = client.get(reverse("care:due_list")).content.decode()
    assert "Ring pasienten" in due_list
    done = client.post(reverse("care:task_complete", kwargs={"pk": task.pk}), {"note": "ok"})
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.closed_by == nurse
    assert "Ring pasienten" not in client.get(reverse("care:due_list")).content.decode()
    kinds = set(
        AuditEntry.objects.filter(person_id=patient.person_id).values_list("action", flat=True)
    )
    assert {AuditAction.CREATE_TASK, AuditAction.COMPLETE_TASK} <= kinds


def test_task_needs_an_assignee_and_a_sane_due_date(client: Any, users: Any) -> None:
    patient = first_flagged()
    client_for(client, users["nurse_a"])
    response = client.post(
        reverse("care:task_create", kwargs={"uid": patient.uid}),
        {"title": "Ring", "kind": "task", "due": "2099-01-01"},
    )
    assert response.status_code == 400
    assert 'id="errors-assigned_user"' in response.content.decode()
    response = client.post(
        reverse("care:task_create", kwargs={"uid": patient.uid}),
        {"title": "Ring", "kind": "task", "assigned_role": "secretary", "due": "2099-01-01"},
    )
    assert response.status_code == 400
    assert 'id="errors-due"' in response.content.decode()
    assert not Task.objects.exists()


def test_task_of_other_practice_cannot_be_completed(client: Any, users: Any) -> None:
    patient = first_flagged()
    task = actions.do_create_task(
        user=users["nurse_a"],
        patient=patient,
        title="x",
        due=clock.today(),
        assigned_role="nurse",
    )
    client_for(client, users["nurse_b"])
    assert client.post(reverse("care:task_complete", kwargs={"pk": task.pk})).status_code == 404
    task.refresh_from_db()
    assert task.is_open


def test_secretary_books_recall_with_three_invitations(client: Any, users: Any) -> None:
    patient = first_flagged()
    task = actions.do_create_task(
        user=users["nurse_a"],
        patient=patient,
        title="Årskontroll diabetes",
        kind="annual_check",
        condition="diabetes",
        due=clock.today(),
        assigned_role="secretary",
    )
    client_for(client, users["secretary_a"])
    assert "Årskontroll diabetes" in client.get(reverse("care:due_list")).content.decode()
    url = reverse("care:task_invite", kwargs={"pk": task.pk})
    today = clock.today().isoformat()
    for channel in ("sms", "letter", "phone"):
        assert client.post(url, {"channel": channel, "sent_on": today}).status_code == 302
    assert client.post(url, {"channel": "sms", "sent_on": today}).status_code == 400
    task.refresh_from_db()
    assert task.status == TaskStatus.INVITED
    assert [i.channel for i in task.invitations.all()] == ["sms", "letter", "phone"]


def test_annual_check_recall_closes_itself_on_new_data(users: Any) -> None:
    patient = first_flagged()
    task = actions.do_create_task(
        user=users["nurse_a"],
        patient=patient,
        title="Årskontroll",
        kind="annual_check",
        condition="diabetes",
        due=clock.today(),
        assigned_role="secretary",
    )
    other = actions.do_create_task(
        user=users["nurse_a"],
        patient=patient,
        title="Årskontroll kols",
        kind="annual_check",
        condition="copd",
        due=clock.today(),
        assigned_role="secretary",
    )
    summary = load_bundle(
        make_bundle(annual_checks={(patient.person_id, "diabetes"): clock.today()})
    )
    task.refresh_from_db()
    other.refresh_from_db()
    assert summary.recalls_closed == 1
    assert task.status == TaskStatus.CLOSED_BY_DATA and "årskontroll registrert" in task.close_note
    assert other.is_open
    assert (
        AuditEntry.objects.filter(action=AuditAction.CLOSE_RECALL, username="system").count() == 1
    )
    # the patient kept its identity, so its plan/tasks stay attached
    assert Patient.objects.get(pk=patient.pk).uid == patient.uid


def test_log_activity_and_reject_future_dates(client: Any, users: Any) -> None:
    patient = first_flagged()
    client_for(client, users["nurse_a"])
    url = reverse("care:activity_create", kwargs={"uid": patient.uid})
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    bad = client.post(url, {"kind": "phone_consultation", "date": tomorrow, "note": "x"})
    assert bad.status_code == 400 and 'id="errors-date"' in bad.content.decode()
    meeting = client.post(url, {"kind": "coordination_meeting", "date": clock.today()})
    assert meeting.status_code == 400 and 'id="errors-partner"' in meeting.content.decode()
    ok = client.post(
        url,
        {
            "kind": "phone_consultation",
            "date": clock.today().isoformat(),
            "note": "Snakket om blodsukker",
        },
    )
    assert ok.status_code == 302
    assert Activity.objects.get(patient=patient).note == "Snakket om blodsukker"


def test_an_action_that_fails_saves_nothing(users: Any, monkeypatch: Any) -> None:
    """If the audit write fails, the task is not stored either (one transaction)."""
    patient = first_flagged()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(actions, "record", broken)
    with pytest.raises(RuntimeError):
        actions.do_create_task(
            user=users["nurse_a"],
            patient=patient,
            title="x",
            due=clock.today(),
            assigned_role="nurse",
        )
    assert not Task.objects.exists()
