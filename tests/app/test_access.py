"""Who sees what: practice scope, 404 for other practices, no patient data for others."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care.models import Patient
from tests.app.bundle import PRACTICE_A, PRACTICE_B
from tests.app.conftest import client_for


def test_login_page_is_norwegian_and_sends_a_csp(client: Any, db: Any) -> None:
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert "Logg inn" in response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"


def test_pages_need_login(client: Any, loaded: Any) -> None:
    response = client.get(reverse("care:worklist"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_nurse_sees_only_own_practice_on_worklist(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    html = client.get(reverse("care:worklist")).content.decode()
    own = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).order_by("rank").first()
    other = Patient.objects.filter(practice_id=PRACTICE_B, flagged=True).order_by("rank").first()
    assert own is not None and other is not None
    assert own.name in html
    assert str(other.uid) not in html


def test_other_practice_patient_answers_404(client: Any, users: Any) -> None:
    other = Patient.objects.filter(practice_id=PRACTICE_B).first()
    assert other is not None
    client_for(client, users["nurse_a"])
    for name in ("care:patient", "care:plan", "care:task_create", "care:activity_create"):
        assert client.get(reverse(name, kwargs={"uid": other.uid})).status_code == 404
    # and nothing about that patient was recorded as viewed
    assert not AuditEntry.objects.filter(person_id=other.person_id).exists()


def test_directorate_and_municipality_get_no_patient_data(client: Any, users: Any) -> None:
    patient = Patient.objects.filter(practice_id=PRACTICE_A).first()
    assert patient is not None
    for who in ("analyst", "officer", "municipal"):
        client_for(client, users[who])
        assert client.get(reverse("care:worklist")).status_code == 403
        assert client.get(reverse("care:patient", kwargs={"uid": patient.uid})).status_code == 403
        home = client.get(reverse("care:home"))
        assert home.status_code == 302 and reverse("dashboards:index") in home["Location"]


def test_opening_a_patient_is_audited(client: Any, users: Any) -> None:
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).first()
    assert patient is not None
    client_for(client, users["nurse_a"])
    response = client.get(reverse("care:patient", kwargs={"uid": patient.uid}))
    assert response.status_code == 200
    assert patient.name in response.content.decode()
    entry = AuditEntry.objects.filter(action=AuditAction.VIEW_PATIENT).get()
    assert entry.username == users["nurse_a"].username
    assert entry.person_id == patient.person_id
    assert entry.practice_id == PRACTICE_A
    assert entry.reason


def test_english_is_selectable(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("care:worklist")}
    )
    assert response.status_code == 302
    html = client.get(reverse("care:worklist")).content.decode()
    assert "Worklist" in html
    assert 'lang="en"' in html


def test_repeated_failed_logins_lock_the_account(client: Any, users: Any) -> None:
    from pht.app.accounts.demo import DEMO_PASSWORD

    url = reverse("accounts:login")
    for _ in range(5):
        client.post(url, {"username": "sykepleier-02", "password": "feil passord"})
    locked = client.post(url, {"username": "sykepleier-02", "password": DEMO_PASSWORD})
    assert locked.status_code in (403, 429)
    assert "midlertidig sperret" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_demo_password_logs_in(client: Any, users: Any) -> None:
    from pht.app.accounts.demo import DEMO_PASSWORD

    response = client.post(
        reverse("accounts:login"), {"username": "sykepleier-02", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(users["nurse_a"].pk)
