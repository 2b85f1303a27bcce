"""`make lint`'s dependency audit fails loudly when PyPI's advisory data cannot be fetched
(pip-audit alone reports "No known vulnerabilities found" and exit 0 then)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pip_audit.py"


def _module() -> Any:
    spec = importlib.util.spec_from_file_location("pip_audit_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SKIPPED = {
    "dependencies": [
        {"name": "django", "skip_reason": "Dependency not found on PyPI: django (5.2.19)"},
        {"name": "idna", "version": "3.10", "vulns": []},
    ],
    "fixes": [],
}


def test_unaudited_dependencies_fail_the_lint_and_say_why() -> None:
    status, message = _module().verdict(SKIPPED, warn_only=False, probe_result="… answered 404")
    assert status == 2
    assert "1 of 2 locked dependencies were NOT audited" in message and "answered 404" in message
    status, message = _module().verdict(SKIPPED, warn_only=True)
    assert status == 0 and "NOT audited" in message and "PHT_PIP_AUDIT=warn" in message


def test_a_clean_audit_passes_and_a_vulnerability_fails() -> None:
    clean = {"dependencies": [{"name": "idna", "version": "3.10", "vulns": []}]}
    assert _module().verdict(clean, warn_only=False) == (
        0,
        "pip-audit: 1 locked dependencies audited, no known vulnerability",
    )
    vulnerable = {
        "dependencies": [
            {"name": "idna", "version": "3.6", "vulns": [{"id": "PYSEC-2024-60", "aliases": []}]}
        ]
    }
    status, message = _module().verdict(vulnerable, warn_only=True)
    assert status == 1 and "idna 3.6: PYSEC-2024-60" in message
