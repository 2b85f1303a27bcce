"""When the database cannot be reached, a page says so with 503 and Retry-After (the service
is briefly unavailable; the same click works again), never a bare 500; other failures keep 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

from pht.app.project.errors import server_error
from tests.app.conftest import client_for


@pytest.mark.django_db
def test_a_page_answers_503_while_the_database_is_down(users: Any, monkeypatch: Any) -> None:
    client = client_for(Client(raise_request_exception=False), users["nurse_a"])

    def refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise OperationalError('connection to server at "127.0.0.1" failed: Connection refused')

    monkeypatch.setattr(SessionStore, "load", refused)
    r = client.get("/tasks/")
    assert r.status_code == 503
    assert r["Retry-After"] == "10"
    assert "Tjenesten er midlertidig utilgjengelig" in r.content.decode()
    monkeypatch.undo()
    assert client.get("/tasks/").status_code == 200  # the same click works once it is back


def test_any_other_failure_is_a_plain_500(rf: Any) -> None:
    try:
        raise ValueError("a bug")
    except ValueError:
        r = server_error(rf.get("/tasks/"))
    assert r.status_code == 500
    assert "Retry-After" not in r
    assert "Noe gikk galt" in r.content.decode()
