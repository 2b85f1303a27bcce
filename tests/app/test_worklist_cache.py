"""The worklist is cached, but never stale: a change shows on the very next page view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse

from pht.app.accounts.models import AppRole, Practice, Profile
from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care import clock
from pht.app.care.loading import load_bundle
from pht.app.care.models import Patient
from tests.app.bundle import PRACTICE_A, PRACTICE_B, make_bundle
from tests.app.conftest import client_for

HTMX = {"HX-Request": "true", "HX-Target": "worklist-results"}


def table(client: Any, **params: Any) -> str:
    response = client.get(reverse("care:worklist"), params, headers=HTMX)
    assert response.status_code == 200
    return str(response.content.decode())


def top(practice: str = PRACTICE_A) -> Patient:
    patient = Patient.objects.filter(practice_id=practice, flagged=True).order_by("rank").first()
    assert patient is not None
    return patient


def test_a_nurse_sees_her_own_new_plan_at_once(client: Any, users: Any) -> None:
    nurse = users["nurse_a"]
    client_for(client, nurse)
    patient = top()
    assert str(patient.uid) in table(client, no_plan="on")
    assert str(patient.uid) in table(client, no_plan="on")  # now from the cache
    due = clock.today() + dt.timedelta(days=60)
    saved = client.post(
        reverse("care:plan", kwargs={"uid": patient.uid}),
        {
            "goal": "Klare trappene",
            "responsible": nurse.pk,
            "contact_interval_months": 2,
            "next_due": due.isoformat(),
        },
    )
    assert saved.status_code == 302
    assert str(patient.uid) not in table(client, no_plan="on")
    assert f"ja, neste {due:%d.%m.%Y}" in table(client)


def test_a_task_assigned_to_a_member_shows_and_leaves_at_once(client: Any, users: Any) -> None:
    nurse = users["nurse_a"]
    client_for(client, nurse)
    patient = top()
    assert str(patient.uid) not in table(client, member=nurse.pk)
    created = client.post(
        reverse("care:task_create", kwargs={"uid": patient.uid}),
        {
            "title": "Ring",
            "kind": "task",
            "assigned_user": nurse.pk,
            "due": (clock.today() + dt.timedelta(days=14)).isoformat(),
        },
    )
    assert created.status_code == 302
    assert str(patient.uid) in table(client, member=nurse.pk)
    task = patient.tasks.get()
    done = client.post(reverse("care:task_complete", kwargs={"pk": task.pk}), {"note": "ok"})
    assert done.status_code == 302
    assert str(patient.uid) not in table(client, member=nurse.pk)


def test_a_colleagues_change_shows_on_the_next_view(client: Any, users: Any) -> None:
    """Two nurses of the same practice: the second sees the first's change at once."""
    client_for(client, users["nurse_a"])
    patient = top()
    before = table(client)
    other = client.__class__()
    client_for(other, users["gp_a"])
    assert table(other) == before  # the same table for the whole team
    patient.reasons = "ny grunn fra registerdata"
    patient.save(update_fields=["reasons"])
    assert "ny grunn fra registerdata" in table(client)
    assert "ny grunn fra registerdata" in table(other)


def test_a_new_load_shows_at_once_and_other_practices_keep_their_cache(
    client: Any, users: Any
) -> None:
    client_for(client, users["nurse_a"])
    first = table(client)
    version_b = Practice.objects.get(pk=PRACTICE_B).data_version
    load_bundle(make_bundle(seed=8))
    assert table(client) != first
    assert str(top().uid) in table(client)
    # a load may change every practice, so every practice gets a fresh version
    assert Practice.objects.get(pk=PRACTICE_B).data_version != version_b
    # a change of one practice's patient leaves the other practice's version alone
    version_b = Practice.objects.get(pk=PRACTICE_B).data_version
    patient = top()
    patient.reasons = "endret"
    patient.save(update_fields=["reasons"])
    assert Practice.objects.get(pk=PRACTICE_B).data_version == version_b


def test_a_new_team_member_appears_in_the_filter(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    assert "Ny Kollega" not in client.get(reverse("care:worklist")).content.decode()
    user = get_user_model().objects.create_user(
        "ny-kollega", first_name="Ny", last_name="Kollega", password=None
    )
    Profile.objects.create(user=user, role=AppRole.NURSE, practice_id=PRACTICE_A)
    assert "Ny Kollega" in client.get(reverse("care:worklist")).content.decode()


def test_a_login_keeps_the_cache(client: Any, users: Any) -> None:
    version = Practice.objects.get(pk=PRACTICE_A).data_version
    client.force_login(users["nurse_a"], backend="django.contrib.auth.backends.ModelBackend")
    assert Practice.objects.get(pk=PRACTICE_A).data_version == version


def test_every_view_from_the_cache_is_audited(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    before = AuditEntry.objects.filter(action=AuditAction.VIEW_WORKLIST).count()
    for _ in range(3):
        table(client, risk_band="high")
    client.get(reverse("care:worklist"), {"risk_band": "high"})
    entries = AuditEntry.objects.filter(action=AuditAction.VIEW_WORKLIST)
    assert entries.count() == before + 4
    assert {e.username for e in entries} == {users["nurse_a"].username}
    searches = AuditEntry.objects.filter(action=AuditAction.SEARCH).count()
    table(client, q=top().name.split()[0])
    table(client, q=top().name.split()[0])
    assert AuditEntry.objects.filter(action=AuditAction.SEARCH).count() == searches + 2


def test_the_cache_keeps_practices_apart(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    a = table(client)
    client_for(client, users["nurse_b"])
    b = table(client)
    assert str(top(PRACTICE_A).uid) in a and str(top(PRACTICE_A).uid) not in b
    assert str(top(PRACTICE_B).uid) in b and str(top(PRACTICE_B).uid) not in a


def test_the_cache_keeps_languages_apart(client: Any, users: Any) -> None:
    client_for(client, users["nurse_a"])
    assert "pasienter" in table(client)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "patients" in table(client)
