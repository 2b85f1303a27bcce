"""Real-browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Chromium comes from ``scripts/install-chromium.sh`` (``make test`` runs it); without
/usr/bin/chromium these tests are skipped with that reason. A failing test leaves a screenshot
in ``test-artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """Remember each phase's report on the item, so fixtures know whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install-chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: Any) -> Iterator[Any]:
    """A fresh browser page; a screenshot in test-artifacts/ when the test fails."""
    context = browser.new_context(locale="nb-NO")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.on(
        "console",
        lambda m: pg.console_errors.append(m.text) if m.type == "error" else None,  # type: ignore[attr-defined]
    )
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def warm_up() -> None:
    """Import every view and compile the login page before the browser's first request: on a
    loaded machine the first request (URLconf with the chart and analytics imports) takes
    longer than a page load may."""
    from django.test import Client
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every app's views
    Client().get("/accounts/login/")


@pytest.fixture
def pilot(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """The small bundle loaded and the demo users created (committed, for the live server).

    The database is emptied after the test; the audit table's triggers refuse that, so they are
    dropped for the flush; every test that needs them installs them again first.
    """
    from django.db import connection

    from pht.app.accounts.demo import create_demo_users
    from pht.app.audit import triggers
    from pht.app.care.loading import load_bundle
    from tests.app.bundle import make_bundle

    triggers.install(connection)
    warm_up()
    load_bundle(make_bundle())
    yield {"logins": {x.username: x.password for x in create_demo_users()}}
    triggers.remove(connection)
