"""The pages of the load test's journeys make a fixed, small number of SQL queries.

Each page is pinned to at most the queries it makes now (counts, never timings), and the pages
that list rows (due list, patient page, recalls, worklist) make no more queries for more rows:
an N+1 (a query per row) fails here before it reaches a user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pht.app.care import clock
from pht.app.care.models import Patient, TaskKind
from pht.app.surveys import actions as surveys
from pht.app.surveys import links
from tests.app.bundle import PRACTICE_A
from tests.app.conftest import client_for

# The queries every signed-in page starts with: the session, the user, the profile with its
# practice and municipality. A page's own queries come on top of them.
SIGNED_IN = 3


@pytest.fixture(autouse=True)
def _empty_caches() -> None:
    for name in ("default", "worklist"):
        caches[name].clear()


def _patients(n: int) -> list[Patient]:
    return list(Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).order_by("rank")[:n])


def _tasks(client: Any, patients: list[Patient], per_patient: int) -> None:
    """Tasks and recalls for the nurses, through the page, some due, some later."""
    today = clock.today()
    for p in patients:
        for i in range(per_patient):
            kind = TaskKind.ANNUAL_CHECK if i % 2 else TaskKind.TASK
            saved = client.post(
                f"/patients/{p.uid}/tasks/new/",
                {
                    "title": f"Ring {p.pk} {i}",
                    "kind": kind,
                    "condition": "diabetes" if kind == TaskKind.ANNUAL_CHECK else "",
                    "assigned_role": "nurse",
                    "due": (today + dt.timedelta(days=i * 10 - 5)).isoformat(),
                },
            )
            assert saved.status_code == 302, saved.content.decode()[:2000]


def _count(client: Any, path: str, most: int) -> int:
    """The queries of a GET of *path*, at most *most*.

    A session's first request of a minute also writes the session (the activity time,
    accounts.middleware), so the page is read twice more after a first GET and the fewer
    queries count: a minute that turns between the GETs adds its write to one of them only."""
    assert client.get(path).status_code == 200, path
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as seen:
            response = client.get(path)
        assert response.status_code == 200, path
        counts.append(len(seen.captured_queries))
    assert min(counts) <= most, f"{path}: {min(counts)} queries, at most {most} expected"
    return min(counts)


def test_the_due_list_and_the_patient_page_make_no_query_per_task(client: Any, users: Any) -> None:
    nurse = client_for(client, users["nurse_a"])
    one, many = _patients(1), _patients(6)
    _tasks(nurse, one, 1)
    few = _count(nurse, "/tasks/", SIGNED_IN + 8)
    page_few = _count(nurse, f"/patients/{one[0].uid}/", SIGNED_IN + 12)
    _tasks(nurse, many, 4)
    # 25 tasks on the due list and 5 on the first patient's page: not one query more
    assert _count(nurse, "/tasks/", SIGNED_IN + 8) == few
    assert _count(nurse, f"/patients/{one[0].uid}/", SIGNED_IN + 12) == page_few


def test_the_nurses_pages(client: Any, users: Any, django_assert_max_num_queries: Any) -> None:
    nurse = client_for(client, users["nurse_a"])
    patient = _patients(1)[0]
    # the worklist: from its cache, a page costs the audit row and the header's date
    _count(nurse, "/worklist/", SIGNED_IN + 2)
    for path in ("/worklist/?page=2", "/worklist/?overdue=on", "/worklist/?condition=diabetes"):
        caches["worklist"].clear()
        with django_assert_max_num_queries(SIGNED_IN + 6):
            assert nurse.get(path).status_code == 200
    _count(nurse, f"/patients/{patient.uid}/tasks/new/", SIGNED_IN + 3)
    due = (clock.today() + dt.timedelta(days=14)).isoformat()
    # the patient, the date, the task and its audit row in one transaction (a savepoint here)
    with django_assert_max_num_queries(SIGNED_IN + 6):
        saved = nurse.post(
            f"/patients/{patient.uid}/tasks/new/",
            {"title": "Ring pasienten", "kind": "task", "assigned_role": "nurse", "due": due},
        )
    assert saved.status_code == 302


def test_the_secretarys_recalls_make_no_query_per_recall(client: Any, users: Any) -> None:
    nurse = client_for(Client(), users["nurse_a"])
    secretary = client_for(client, users["secretary_a"])
    _tasks(nurse, _patients(1), 2)
    few = _count(secretary, "/recalls/", SIGNED_IN + 5)
    _tasks(nurse, _patients(6), 4)
    assert _count(secretary, "/recalls/", SIGNED_IN + 5) == few
    _count(secretary, "/tasks/", SIGNED_IN + 6)


def test_the_leaders_pages(client: Any, users: Any, django_assert_max_num_queries: Any) -> None:
    lead = client_for(client, users["lead_a"])
    # the dashboard's figures come from its cache after the first view (see figures.cached)
    _count(lead, f"/dashboard/{PRACTICE_A}/", SIGNED_IN + 3)
    _count(lead, "/kvalitet/", SIGNED_IN + 4)
    # the check indicators: three queries for all indicators, plus the recalls' outcomes
    _count(lead, "/checks/results/", SIGNED_IN + 6)
    municipal = client_for(Client(), users["municipal"])
    _count(municipal, "/dashboard/", SIGNED_IN + 2)
    # /call/ sends the municipal lead on to the municipality's applications: two requests
    with django_assert_max_num_queries(2 * SIGNED_IN + 3):
        assert municipal.get("/call/", follow=True).status_code == 200


def test_a_survey_answered_by_link(
    db: Any, loaded: Any, django_assert_max_num_queries: Any
) -> None:
    patient = _patients(1)[0]
    invitation = surveys.invite(
        user=None,
        patient=patient,
        instrument_id="who5",
        channel="sms",
        recipient="91234567",
        remind=False,
    )
    token = links.new_link(invitation, kind="invitation")
    respondent = Client()
    with django_assert_max_num_queries(16):
        assert respondent.get(f"/s/{token}").status_code == 302
    with django_assert_max_num_queries(2):
        assert respondent.get("/s/svar/?side=1").status_code == 200
    answers = {"q1": "3", "q2": "4", "q3": "2"}
    with django_assert_max_num_queries(13):
        saved = respondent.post("/s/svar/?side=1", {"side": 1, "retning": "neste", **answers})
    assert saved.status_code == 302
    respondent.post("/s/svar/?side=2", {"side": 2, "retning": "neste", "q4": "3", "q5": "1"})
    with django_assert_max_num_queries(27):
        sent = respondent.post("/s/svar/?side=3", {"side": 3, "retning": "send"})
    assert sent.status_code == 302
