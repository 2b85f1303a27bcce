"""The browser fixtures of tests/browser (Playwright + Debian's Chromium), for the call's flow."""

from tests.browser.conftest import (  # noqa: F401 - fixtures and the report hook, re-exported
    browser,
    page,
    pytest_runtest_makereport,
)
