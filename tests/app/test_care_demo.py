"""The demo's recall cycle (``make run``): recalls open, invited and done on the data's date,
each step by the team's own actions with its audit row."""

from __future__ import annotations

from typing import Any

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care import clock
from pht.app.care.demo import CHECKED, CONDITION, load_demo_recalls
from pht.app.care.models import AnnualCheck, Invitation, Patient, Task, TaskKind, TaskStatus
from tests.app.conftest import client_for


def test_the_demo_shows_the_whole_recall_cycle_on_the_data_date(client: Any, users: Any) -> None:
    overdue = Patient.objects.filter(
        listed=True, overdue_conditions__contains=f"|{CONDITION}|"
    ).count()
    assert overdue > 0, "the small bundle must have an overdue diabetes check"
    done = load_demo_recalls()
    recalls = Task.objects.filter(kind=TaskKind.ANNUAL_CHECK, condition=CONDITION)
    assert done.recalls == recalls.count() == overdue
    assert done.invited == Invitation.objects.count() > 0
    assert set(Invitation.objects.values_list("sent_on", flat=True)) == {clock.today()}
    closed = recalls.filter(status=TaskStatus.DONE)
    assert closed.count() == done.checked > 0
    assert done.checked <= CHECKED * Task.objects.values("patient__practice").distinct().count()
    for task in closed:  # closed by the check recorded for the same patient, at once
        check = AnnualCheck.objects.get(patient=task.patient, condition=CONDITION)
        assert check.date == clock.today() and check.values["hba1c"] >= 50
    assert AuditEntry.objects.filter(action=AuditAction.INVITE).count() == done.invited
    assert AuditEntry.objects.filter(action=AuditAction.CREATE_TASK).count() == done.recalls
    # the secretary's register shows the open and invited ones, not the done ones
    page = client_for(client, users["secretary_a"]).get("/recalls/").content.decode()
    mine = recalls.filter(patient__practice=users["secretary_a"].profile.practice)
    for task in mine:
        assert (task.patient.name in page) == (task.status != TaskStatus.DONE)
    # once per database
    assert load_demo_recalls().skipped and recalls.count() == done.recalls
