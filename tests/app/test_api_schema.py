"""Schemathesis against the API's OpenAPI schema, as a nurse (session) and as a system (token).

For every operation of every router in ``/api/openapi.json``: generated requests (valid and
invalid) get no server error, a documented status code and content type, and a body that matches
the documented schema (the 401/403/404/422/429 bodies included). Examples are bounded so the
file stays well under a minute.

Schemathesis generates the requests and checks the answers; the requests themselves go through
Django's test client in this process (:func:`_send`), inside the test's transaction, so the run
is the same on SQLite and on the PostgreSQL lane. (schemathesis's own WSGI transport calls the
application outside the test client, which on PostgreSQL closed the test's connection.)
"""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.requests import REQUESTS_TRANSPORT

from pht.app.accounts.actions import do_create_system_client
from pht.app.accounts.models import Practice
from tests.app.bundle import PRACTICE_A

#: Examples per operation and caller (bounded: the whole file takes seconds, not minutes).
EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Every scope a system can hold.
SCOPES = "worklist:read tasks:write extracts:load"


def _nurse(users: Any) -> dict[str, Any]:
    """A signed-in nurse's session cookie and CSRF token."""
    client = Client()
    client.force_login(users["nurse_a"], backend="django.contrib.auth.backends.ModelBackend")
    csrf = _get_new_csrf_string()
    session = client.cookies["sessionid"].value
    return {
        "headers": {"X-CSRFToken": csrf},
        "cookies": {"sessionid": session, "csrftoken": csrf},
    }


def _system() -> dict[str, Any]:
    """A system client's bearer token with every scope, in practice A."""
    new = do_create_system_client(
        by="test",
        name="schema-test",
        practice=Practice.objects.get(pk=PRACTICE_A),
        scopes=SCOPES.split(),
    )
    answer = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": new.client_id,
            "client_secret": new.client_secret,
            "scope": SCOPES,
        },
    )
    return {"headers": {"Authorization": f"Bearer {answer.json()['access_token']}"}}


def _seed(users: Any) -> None:
    """A plan, a task and a recall for the first flagged patient of practice A (so the known
    path parameters reach real ones)."""
    import datetime as dt

    from pht.app.care import actions, clock
    from pht.app.care.models import Patient

    nurse = users["nurse_a"]
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).order_by("pk").first()
    assert patient is not None
    soon = clock.today() + dt.timedelta(days=7)
    actions.do_save_plan(
        user=nurse,
        patient=patient,
        goal="Gå tur hver dag",
        responsible=nurse,
        contact_interval_months=3,
        next_due=soon,
        partners=[],
    )
    for kind in ("task", "recall"):
        actions.do_create_task(
            user=nurse, patient=patient, title="Ring", due=soon, kind=kind, assigned_role="nurse"
        )


def _known(case: Any) -> dict[str, str]:
    """Path parameters that name things of practice A (a patient, an open task, a recall, the
    practice, its municipality, an instrument), for the parameters *case* has."""
    from pht.app.care.models import RECALL_KINDS, Patient, Task
    from pht.reference.surveys import instruments

    names = set(case.path_parameters or {})
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).order_by("pk").first()
    tasks = Task.objects.filter(patient=patient).order_by("pk")
    recall = tasks.filter(kind__in=RECALL_KINDS).first()
    task = recall if "/recalls/" in case.operation.path else tasks.first()
    practice = Practice.objects.get(pk=PRACTICE_A)
    values = {
        "uid": str(patient.uid) if patient else None,
        "task_id": str(task.pk) if task else None,
        "orgnr": PRACTICE_A,
        "code": practice.municipality_id,
        "instrument_id": next(iter(instruments())),
    }
    return {k: v for k, v in values.items() if k in names and v is not None}


def _send(case: Any, caller: dict[str, Any]) -> Response:
    """Send *case* through Django's test client (CSRF enforced, as in production) and wrap the
    answer for schemathesis's checks."""
    kwargs = REQUESTS_TRANSPORT.serialize_case(
        case,
        base_url="http://testserver",
        headers=caller.get("headers"),
        cookies=caller.get("cookies"),
    )
    fields = ("method", "url", "headers", "cookies", "params", "data", "json", "files")
    sent = requests.Request(**{k: v for k, v in kwargs.items() if k in fields}).prepare()
    url = requests.utils.urlparse(sent.url)
    path = url.path + (f"?{url.query}" if url.query else "")
    headers = dict(sent.headers)
    content_type = headers.pop("Content-Type", "application/octet-stream")
    headers.pop("Content-Length", None)
    body = sent.body or b""
    answer = Client(enforce_csrf_checks=True).generic(
        sent.method or "GET",
        path,
        data=body.encode() if isinstance(body, str) else body,
        content_type=content_type,
        headers=headers,
    )
    return Response(
        status_code=answer.status_code,
        headers={name.lower(): [value] for name, value in answer.headers.items()},
        content=answer.content,
        request=sent,
        elapsed=0.0,
        verify=True,
        message=http.client.responses.get(answer.status_code, ""),
        encoding=answer.charset,
    )


def test_every_operation_keeps_its_documented_contract(users: Any) -> None:
    from pht.app.api.api import api

    schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api"))
    _seed(users)
    callers = {"nurse": _nurse(users), "system": _system()}
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {
        (m.upper(), p) for p, ops in api.get_openapi_schema()["paths"].items() for m in ops
    }
    assert {(op.method.upper(), op.path) for op in operations} == documented  # every router
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy(), known=st.booleans())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any, known: bool) -> None:
            if known:  # half the examples name things that exist (else nearly all are 404s)
                case.path_parameters = {**(case.path_parameters or {}), **_known(case)}
            for name, caller in callers.items():
                response = _send(case, caller)
                case.validate_response(response, checks=CHECKS)
                seen.setdefault(name, set()).add(response.status_code)

        run()
    # both callers were let in somewhere (a run of 401s would prove nothing)
    assert 200 in seen["nurse"] and 200 in seen["system"], seen


@pytest.fixture(autouse=True)
def _rates(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Generous API rates for this file (a generated burst is not an attack), and a warehouse of
    its own for the extracts the system client sends."""
    settings.PHT_API_RATE_PER_CLIENT = "100000/min"
    settings.PHT_API_RATE_PER_USER = "100000/min"
    monkeypatch.setenv("PHT_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
