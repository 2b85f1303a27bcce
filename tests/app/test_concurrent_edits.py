"""Two people editing the same plan or task: one wins, the other is told (optimistic locking),
never a silent overwrite. Runs on SQLite and, in the PostgreSQL lane, with two real threads."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care import actions, clock
from pht.app.care.models import FollowUpPlan, Patient, Task
from tests.app.bundle import PRACTICE_A
from tests.app.conftest import client_for


def _patient() -> Patient:
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).order_by("rank").first()
    assert patient is not None
    return patient


def _plan_post(nurse: Any, goal: str, version: int | None) -> dict[str, Any]:
    data = {
        "goal": goal,
        "responsible": nurse.pk,
        "contact_interval_months": 3,
        "next_due": (clock.today() + dt.timedelta(days=30)).isoformat(),
    }
    if version is not None:
        data["version"] = version
    return data


def test_second_save_of_the_same_plan_version_is_refused(users: Any) -> None:
    patient = _patient()
    nurse, gp = users["nurse_a"], users["gp_a"]
    url = reverse("care:plan", kwargs={"uid": patient.uid})
    first = client_for(Client(), nurse)
    assert first.post(url, _plan_post(nurse, "Gå tur hver dag", None)).status_code == 302
    version = FollowUpPlan.objects.get(patient=patient).version
    # both open the form on the same version
    a, b = client_for(Client(), nurse), client_for(Client(), gp)
    assert f'name="version" value="{version}"' in a.get(url).content.decode()
    assert f'name="version" value="{version}"' in b.get(url).content.decode()
    assert a.post(url, _plan_post(nurse, "Gå til butikken", version)).status_code == 302
    refused = b.post(url, _plan_post(nurse, "Slutte å røyke", version))
    assert refused.status_code == 400
    assert "endret av en annen siden du åpnet den" in refused.content.decode()
    plan = FollowUpPlan.objects.get(patient=patient)
    assert plan.goal == "Gå til butikken" and plan.version == version + 1
    saves = AuditEntry.objects.filter(action=AuditAction.SAVE_PLAN, person_id=patient.person_id)
    assert saves.count() == 2  # the refused save wrote nothing, not even its audit row


def test_second_assignment_of_the_same_task_version_is_refused(users: Any) -> None:
    patient = _patient()
    lead, nurse, gp = users["lead_a"], users["nurse_a"], users["gp_a"]
    task = actions.do_create_task(
        user=lead,
        patient=patient,
        title="Ring pasienten",
        kind="task",
        assigned_role="nurse",
        due=clock.today(),
    )
    shown = task.version
    actions.do_assign_task(
        user=lead, task=Task.objects.get(pk=task.pk), assigned_user=nurse, version=shown
    )
    try:
        actions.do_assign_task(
            user=lead, task=Task.objects.get(pk=task.pk), assigned_user=gp, version=shown
        )
    except actions.ActionError as err:
        assert "Oppgaven er endret av en annen" in err.message
    else:
        raise AssertionError("the second assignment of the same version was saved")
    assert Task.objects.get(pk=task.pk).assigned_user == nurse


@pytest.fixture
def committed(transactional_db: Any) -> Iterator[None]:
    """Data committed for real (threads use connections of their own); the audit table's
    triggers refuse the flush afterwards, so they are dropped for it."""
    from pht.app.audit import triggers

    yield
    triggers.remove(connection)


@pytest.mark.skipif(
    "postgres" not in __import__("os").environ.get("DATABASE_URL", ""),
    reason="SQLite's test database lives in one connection; the PostgreSQL lane runs this",
)
def test_two_threads_saving_one_plan_version_one_wins(committed: None, users: Any) -> None:
    patient = _patient()
    nurse, gp = users["nurse_a"], users["gp_a"]
    plan = actions.do_save_plan(
        user=nurse,
        patient=patient,
        goal="Start",
        responsible=nurse,
        contact_interval_months=3,
        next_due=clock.today() + dt.timedelta(days=30),
        partners=[],
    )
    barrier = threading.Barrier(2)
    results: list[str] = []

    def save(user: Any, goal: str) -> None:
        try:
            barrier.wait()
            actions.do_save_plan(
                user=user,
                patient=Patient.objects.get(pk=patient.pk),
                goal=goal,
                responsible=nurse,
                contact_interval_months=3,
                next_due=clock.today() + dt.timedelta(days=30),
                partners=[],
                version=plan.version,
            )
            results.append("saved")
        except actions.ActionError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(u, g)) for u, g in ((nurse, "A"), (gp, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["refused", "saved"]
    assert FollowUpPlan.objects.get(patient=patient).version == plan.version + 1
