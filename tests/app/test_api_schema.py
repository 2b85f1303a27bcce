"""Schemathesis against the API's OpenAPI schema, as a nurse (session) and as a system (token).

For every operation in ``/api/openapi.json``: generated requests (valid and invalid) get no
server error, a documented status code and content type, and a body that matches the documented
schema (the 401/403/404/422/429 bodies included). Examples are bounded so it stays fast.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pht.app.accounts.actions import do_create_system_client
from pht.app.accounts.models import Practice
from tests.app.bundle import PRACTICE_A

#: The team API's own operations (pht.app.api.api). The other rooms' routers are not in this
#: run yet: on 2 December it found a 500 in POST /recalls/invite (task ids beyond the database's
#: integer range), to be fixed in that router before its paths join this list.
PATHS = {
    f"/api{p}"
    for p in ("/worklist", "/patients/{uid}", "/patients/{uid}/tasks", "/tasks/{task_id}/complete")
}
#: Examples per operation and caller (bounded: the whole file takes seconds, not minutes).
EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


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
    """A system client's bearer token (worklist:read and tasks:write in practice A)."""
    new = do_create_system_client(
        by="test",
        name="schema-test",
        practice=Practice.objects.get(pk=PRACTICE_A),
        scopes=["worklist:read", "tasks:write"],
    )
    answer = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": new.client_id,
            "client_secret": new.client_secret,
            "scope": "worklist:read tasks:write",
        },
    )
    return {"headers": {"Authorization": f"Bearer {answer.json()['access_token']}"}}


def test_every_operation_keeps_its_documented_contract(users: Any) -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        # schemathesis calls the WSGI app outside Django's test client, which on PostgreSQL
        # closes the test's connection; the SQLite lane runs it (same code, same schema)
        pytest.skip("the schema run is the SQLite lane's")
    from pht.app.project.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    callers = {"nurse": _nurse(users), "system": _system()}
    operations = [
        op for op in (result.ok() for result in schema.get_all_operations()) if op.path in PATHS
    ]
    assert len(operations) == 4
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            for name, caller in callers.items():
                response = case.call_and_validate(checks=CHECKS, **caller)
                seen.setdefault(name, set()).add(response.status_code)

        run()
    # both callers were let in somewhere (a run of 401s would prove nothing)
    assert 200 in seen["nurse"] and 200 in seen["system"], seen


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Any:
    """Requests through the WSGI app must not close the test's database connection (Django's
    test client does the same): on PostgreSQL that would end the test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _rates(settings: Any) -> None:
    """Generous API rates for this file (a generated burst is not an attack)."""
    settings.PHT_API_RATE_PER_CLIENT = "100000/min"
    settings.PHT_API_RATE_PER_USER = "100000/min"
