"""Single sign-on against a real OpenID provider (npm's oidc-provider, started by make test)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from pht.app.audit.models import AuditAction, AuditEntry
from tests.app.oidc import configure, provider_config, sign_in_at_provider


@pytest.fixture
def provider(settings: Any) -> dict[str, Any]:
    cfg = provider_config()
    configure(settings, cfg)
    return cfg


def _sso(client: Client, login: str) -> Any:
    """Start at pht, sign in at the provider as *login*, come back: pht's answer."""
    start = client.get("/accounts/sso/")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start["Location"]).query)
    # authorization code flow with PKCE (S256), state and nonce
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0] and query["state"][0] and query["nonce"][0]
    back = urlsplit(sign_in_at_provider(start["Location"], login))
    return client.get(f"{back.path}?{back.query}")


def test_a_nurse_signs_in_by_hpr_number_and_out_again(provider: dict[str, Any], users: Any) -> None:
    nurse = users["nurse_a"]
    hpr = nurse.profile.practitioner.practitioner_id
    client = Client(SERVER_NAME="localhost")
    answer = _sso(client, hpr)
    assert answer.status_code == 302, answer.content[:300]
    due_list = client.get(answer["Location"])
    assert due_list.status_code == 200
    assert client.session["_auth_user_id"] == str(nurse.pk)
    # logout: the pht session ends and the browser goes to the provider's end-session endpoint
    out = client.post("/accounts/logout/")
    assert out.status_code == 302 and out["Location"].startswith(provider["issuer"])
    query = parse_qs(urlsplit(out["Location"]).query)
    assert query["id_token_hint"][0] and "post_logout_redirect_uri" in query
    assert "_auth_user_id" not in client.session
    assert client.get("/tasks/").status_code == 302  # signed out


def test_a_person_unknown_to_pht_is_refused_and_audited(
    provider: dict[str, Any], users: Any
) -> None:
    for login, hpr in (("98765432", "98765432"), ("nohpr-kari", "")):
        client = Client(SERVER_NAME="localhost")
        answer = _sso(client, login)
        assert answer.status_code == 403
        assert "Ingen tilgang" in answer.content.decode()
        assert "_auth_user_id" not in client.session
        entry = AuditEntry.objects.filter(action=AuditAction.DENIED).latest("id")
        assert '"login": "oidc"' in entry.detail and "no membership" in entry.detail
        assert login in entry.detail
        if hpr:
            assert entry.username == f"hpr:{hpr}"


def test_a_forged_callback_is_refused(provider: dict[str, Any], db: Any) -> None:
    client = Client(SERVER_NAME="localhost")
    answer = client.get("/accounts/sso/callback/", {"code": "stolen", "state": "guessed"})
    assert answer.status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.DENIED).exists()


def test_password_login_can_be_switched_off(client: Any, users: Any, settings: Any) -> None:
    settings.PHT_PASSWORD_LOGIN = False
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page
    answer = client.post(
        "/accounts/login/", {"username": "sykepleier-02", "password": "pht-demo-passord"}
    )
    assert answer.status_code == 403 and "_auth_user_id" not in client.session
