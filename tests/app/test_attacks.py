"""The attacks of issue 18's "Why", tried again: each now fails, and the refusals are audited."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from pht.app.accounts.demo import DEMO_PASSWORD
from pht.app.accounts.middleware import LAST_SEEN
from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care import clock
from pht.app.care.models import Patient, Task
from tests.app.bundle import PRACTICE_A, PRACTICE_B
from tests.app.conftest import client_for


def _patient(practice: str) -> Patient:
    p = Patient.objects.filter(practice_id=practice, flagged=True).order_by("rank").first()
    assert p is not None
    return p


def test_api_task_input_is_checked_as_the_form_does(client: Any, users: Any) -> None:
    """assigned_role "admin" was a 500; a bogus condition and a 5,000-character title were
    stored. Now each is a 422 naming its field, and nothing is stored."""
    client_for(client, users["nurse_a"])
    url = f"/api/patients/{_patient(PRACTICE_A).uid}/tasks"
    due = (clock.today() + dt.timedelta(days=7)).isoformat()
    base = {"title": "Ring pasienten", "due": due, "assigned_role": "nurse"}
    cases = [
        ({"assigned_role": "admin"}, "assigned_role"),
        ({"kind": "annual_check", "condition": "bogus"}, "condition"),
        ({"title": "x" * 5000}, "title"),
        ({"kind": "annual_check", "condition": ""}, "condition"),
        ({"title": "   "}, "title"),
        ({"due": "2026-02-30"}, "due"),
        ({"kind": "nonsense"}, "kind"),
    ]
    before = Task.objects.count()
    for change, field in cases:
        response = client.post(url, {**base, **change}, content_type="application/json")
        assert response.status_code == 422, (change, response.content)
        assert response.json()["field"] == field, (change, response.json())
        assert response.json()["message"]
    malformed = client.post(url, "{not json", content_type="application/json")
    assert malformed.status_code == 400 and malformed.json()["detail"]
    assert Task.objects.count() == before
    ok = client.post(url, base, content_type="application/json")
    assert ok.status_code == 201


def test_refused_access_is_audited_with_what_was_tried(client: Any, users: Any) -> None:
    nurse = users["nurse_a"]
    other = _patient(PRACTICE_B)
    client_for(client, nurse)
    assert client.get(reverse("care:patient", kwargs={"uid": other.uid})).status_code == 404
    assert client.get(f"/api/patients/{other.uid}").status_code == 404
    entries = AuditEntry.objects.filter(action=AuditAction.DENIED, username=nurse.username)
    assert entries.count() == 2
    entry = entries.filter(path__startswith="/patients/").get()
    assert entry.patient_uid == other.uid and entry.person_id == "" and entry.patient_name == ""
    assert '"status": 404' in entry.detail and '"view": "care:patient"' in entry.detail
    # 403 for a role without patient access
    client_for(client, users["analyst"])
    assert client.get(reverse("care:worklist")).status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.DENIED, username="analytiker").exists()


def test_lockout_and_password_spraying_are_slowed_and_audited(settings: Any, users: Any) -> None:
    settings.PHT_LOGIN_FAILURES_PER_ADDRESS = 8
    c = Client(REMOTE_ADDR="10.9.8.7")
    login = reverse("accounts:login")
    # one user name: locked after 5 failures (django-axes), audited
    for _ in range(5):
        c.post(login, {"username": "sykepleier-02", "password": "feil-passord-123"})
    locked = c.post(login, {"username": "sykepleier-02", "password": DEMO_PASSWORD})
    assert locked.status_code == 429
    assert AuditEntry.objects.filter(action=AuditAction.DENIED, username="sykepleier-02").exists()
    # spraying: one wrong password over other user names from the same address
    for name in ("lege-02", "teamleder-02", "sekretaer-02"):
        c.post(login, {"username": name, "password": "Sommer2026!!"})
    sprayed = c.post(login, {"username": "psykolog-02", "password": DEMO_PASSWORD})
    assert sprayed.status_code == 429, "a right password from a spraying address is refused"
    assert "For mange forsøk" in sprayed.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.DENIED, username="psykolog-02").exists()
    # another address is not affected
    other = Client(REMOTE_ADDR="10.9.8.8")
    ok = other.post(login, {"username": "psykolog-02", "password": DEMO_PASSWORD})
    assert ok.status_code == 302


def test_every_form_showing_a_patient_audits_the_view(client: Any, users: Any) -> None:
    patient = _patient(PRACTICE_A)
    client_for(client, users["nurse_a"])
    for name in ("care:plan", "care:task_create", "care:activity_create"):
        response = client.get(reverse(name, kwargs={"uid": patient.uid}))
        assert response.status_code == 200 and patient.name in response.content.decode()
    views = AuditEntry.objects.filter(action=AuditAction.VIEW_PATIENT, person_id=patient.person_id)
    assert views.count() == 3


def test_no_store_on_patient_data_and_csp_everywhere(client: Any, users: Any) -> None:
    patient = _patient(PRACTICE_A)
    client_for(client, users["nurse_a"])
    for url in (
        reverse("care:patient", kwargs={"uid": patient.uid}),
        reverse("care:worklist"),
        f"/api/patients/{patient.uid}",
        "/api/worklist",
        "/does-not-exist/",
    ):
        response = client.get(url)
        assert "no-store" in response["Cache-Control"], url
        assert "default-src 'self'" in response["Content-Security-Policy"], url


def test_idle_session_ends_after_the_setting(client: Any, users: Any, settings: Any) -> None:
    settings.PHT_SESSION_IDLE_MINUTES = 30
    client_for(client, users["nurse_a"])
    assert client.get(reverse("care:worklist")).status_code == 200
    session = client.session
    session[LAST_SEEN] = time.time() - 31 * 60
    session.save()
    response = client.get(reverse("care:worklist"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    assert client.get(reverse("care:worklist")).status_code == 302  # signed out for good


def test_norwegian_error_pages(client: Any, users: Any) -> None:
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(users["nurse_a"], backend="django.contrib.auth.backends.ModelBackend")
    response = csrf.post(reverse("care:task_complete", kwargs={"pk": 1}), {})
    assert response.status_code == 403 and "Skjemaet er utløpt" in response.content.decode()
    client_for(client, users["analyst"])
    assert "Ingen tilgang" in client.get(reverse("care:worklist")).content.decode()
    assert "Fant ikke siden" in client.get("/nowhere/").content.decode()


def test_call_action_and_audit_row_are_stored_together_or_not_at_all(
    db: Any, settings: Any
) -> None:
    """A failure between a call action's change and its audit row leaves neither."""
    from pht.app.call import actions
    from pht.app.call.models import CallCaseRecord
    from tests.call.web import form_data, make_users, seed_call

    make_users()
    seed_call()
    settings.PHT_CALL_NOW = "2017-10-14T12:00:00"
    from django.contrib.auth import get_user_model

    officer = get_user_model().objects.get(username="kommune-smaby")
    before = CallCaseRecord.objects.get().data
    entries = AuditEntry.objects.count()

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("the process dies before the audit row is written")

    from pht.app.call.forms import ApplicationForm

    form = ApplicationForm(form_data(name="Småby", code="9801", n=7))
    assert form.is_valid(), form.errors

    def application_data(_: Any) -> dict[str, Any]:
        return form.to_application_data()

    with mock.patch("pht.app.call.actions.audit", boom), pytest.raises(RuntimeError):
        actions.do_save_draft(
            user=officer,
            request=None,
            municipality="9801",
            application=None,
            data=application_data(form_data(name="Småby", code="9801", n=7)),
        )
    assert CallCaseRecord.objects.get().data == before
    assert AuditEntry.objects.count() == entries
    app = actions.do_save_draft(
        user=officer,
        request=None,
        municipality="9801",
        application=None,
        data=application_data(form_data(name="Småby", code="9801", n=7)),
    )
    assert CallCaseRecord.objects.get().data != before
    assert AuditEntry.objects.filter(action=AuditAction.CALL_DRAFT).count() == 1
    assert app.id
