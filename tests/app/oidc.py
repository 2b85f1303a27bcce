"""The local OpenID provider of ``scripts/oidc-provider.sh`` (npm's oidc-provider) for the tests.

``make test`` starts it before pytest; without it these tests are skipped with the command to
run, except under CI (``CI`` set), where a missing provider fails them.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

CONFIG = Path(__file__).resolve().parents[2] / ".tools" / "oidc.json"


def provider_config() -> dict[str, Any]:
    """The running provider's issuer, client id and client key file; skip (or fail) without."""
    why = ""
    if not CONFIG.exists():
        why = f"no {CONFIG}"
    else:
        cfg: dict[str, Any] = json.loads(CONFIG.read_text())
        try:
            url = f"{cfg['issuer']}/.well-known/openid-configuration"
            with urllib.request.urlopen(url, timeout=3) as answer:
                if answer.status == 200:
                    return cfg
        except OSError as err:
            why = f"the provider does not answer: {err}"
    message = f"{why}: run `bash scripts/oidc-provider.sh start`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def configure(settings: Any, cfg: dict[str, Any]) -> None:
    """Point pht's single sign-on at the provider (settings as PHT_OIDC_* would set them)."""
    from pht.app.accounts import oidc

    settings.PHT_OIDC_ISSUER = cfg["issuer"]
    settings.PHT_OIDC_CLIENT_ID = cfg["client_id"]
    settings.PHT_OIDC_KEY_ID = cfg["key_id"]
    settings.PHT_OIDC_PRIVATE_KEY = Path(cfg["private_key_file"]).read_text()
    oidc._registry.cache_clear()


def sign_in_at_provider(authorize_url: str, login: str) -> str:
    """Follow the provider's pages as a person typing *login*; the redirect back to pht."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        url = authorize_url
        for _ in range(10):
            answer = http.get(url)
            if answer.status_code in (302, 303):
                url = urljoin(url, answer.headers["location"])
                if "/accounts/sso/callback/" in url:
                    return url
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
            assert form is not None, answer.text[:500]
            hidden = dict(
                re.findall(
                    r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', answer.text
                )
            )
            fields = {**hidden, "login": login, "password": "test"}
            posted = http.post(urljoin(url, form.group(1)), data=fields)
            assert posted.status_code in (302, 303), posted.text[:500]
            url = urljoin(url, posted.headers["location"])
    raise AssertionError("the provider never sent the browser back to pht")
