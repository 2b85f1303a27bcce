"""Single sign-on in a real browser, through the local OpenID provider (npm's oidc-provider)."""

from __future__ import annotations

import copy
import urllib.request
from typing import Any

import pytest

from pht.app.audit.models import AuditAction, AuditEntry
from tests.app.oidc import configure, provider_config

pytestmark = [pytest.mark.browser]


@pytest.fixture
def sso(settings: Any) -> dict[str, Any]:
    cfg = provider_config()
    configure(settings, cfg)
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], cfg["issuer"]]
    settings.CONTENT_SECURITY_POLICY = policy  # as PHT_OIDC_ISSUER sets it
    return cfg


def _sign_in(page: Any, base: str, login: str) -> None:
    page.goto(f"{base}/accounts/login/", wait_until="domcontentloaded")
    page.click("#sso-login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "test")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if (
        page.url.startswith(provider_config()["issuer"])
        and page.locator("h1").inner_text() == "Authorize"
    ):
        page.click("button[type=submit]")  # the provider's consent page: continue
        page.wait_for_load_state()


def test_a_nurse_signs_in_with_her_hpr_number_and_an_unknown_person_is_refused(
    page: Any, browser: Any, live_server: Any, pilot: Any, sso: dict[str, Any]
) -> None:
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    base = live_server.url
    # the first request imports the whole app (pandas and more): not under the page's timeout
    with urllib.request.urlopen(f"{base}/accounts/login/", timeout=180) as first:
        assert first.status == 200
    nurse = get_user_model().objects.get(username="sykepleier-02")
    hpr = nurse.profile.practitioner.practitioner_id
    _sign_in(page, base, hpr)
    expect(page.locator("h1")).to_have_text("Mine oppgaver")  # her due list
    assert page.url.startswith(base)
    assert nurse.username in page.content() or nurse.get_full_name() in page.content()

    # signing out ends the pht session and the provider's (RP-initiated logout)
    page.click("#logout")
    page.wait_for_load_state()
    assert page.url.startswith(sso["issuer"])
    page.click("#op-logout")
    page.wait_for_load_state()
    assert page.url.startswith(f"{base}/accounts/login/")
    page.goto(f"{base}/tasks/")
    assert "/accounts/login/" in page.url

    # a person unknown to pht: refused, and the refusal is in the audit log
    other = browser.new_context(locale="nb-NO")
    stranger = other.new_page()
    try:
        _sign_in(stranger, base, "98765432")
        expect(stranger.locator("#sso-refused h1")).to_have_text("Ingen tilgang til pht")
        entry = AuditEntry.objects.filter(action=AuditAction.DENIED).latest("id")
        assert entry.username == "hpr:98765432" and "no membership" in entry.detail
    finally:
        other.close()
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
