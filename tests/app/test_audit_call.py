"""Actions of the call show in the audit page by their name, and can be filtered on."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from pht.app.audit.models import AuditAction, AuditEntry
from tests.call.web import form_data, make_users, seed_call

pytestmark = pytest.mark.django_db


def _client(username: str) -> Client:
    client = Client()
    user = get_user_model().objects.get(username=username)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_a_call_action_shows_by_its_label_in_the_audit_page(db: Any, settings: Any) -> None:
    make_users()
    seed_call()
    settings.PHT_CALL_NOW = "2017-10-14T12:00:00"
    municipality = _client("kommune-smaby")
    response = municipality.post(
        "/call/mine/new/", {**form_data(name="Småby", code="9801", n=7), "action": "submit"}
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.CALL_SUBMIT).exists()
    get_user_model().objects.create_superuser("revisor", password=None)
    auditor = _client("revisor")
    html = auditor.get("/audit/", {"action": "call.submit"}).content.decode()
    rows = html.split('<tr class="audit-row">')[1:]
    assert rows and all("sendte inn søknad" in r and "kommune-smaby" in r for r in rows)
    assert "call.submit" not in "".join(rows)  # the label, not the code
    assert '<option value="call.submit"' in html  # the action filter offers it
    everything = auditor.get("/audit/").content.decode()
    assert (
        "lagret søknadsutkast" in everything and "call.draft" not in everything.split("<tbody>")[1]
    )
    auditor.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = auditor.get("/audit/", {"action": "call.submit"}).content.decode()
    assert "submitted an application" in english
