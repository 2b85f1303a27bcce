"""Settings refuse unsafe defaults outside development."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHECK = "import pht.app.project.settings as s; print(s.DEBUG, len(s.SECRET_KEY))"


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PHT_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", CHECK], env={**base, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PHT_ENV": "production"}, "PHT_SECRET_KEY must be set"),
        ({"PHT_ENV": "production", "PHT_SECRET_KEY": "short"}, "placeholder or shorter"),
        (
            {"PHT_ENV": "production", "PHT_SECRET_KEY": "k" * 60, "PHT_DEBUG": "1"},
            "PHT_DEBUG may only",
        ),
        ({"PHT_ENV": "production", "PHT_SECRET_KEY": "k" * 60}, "PHT_ALLOWED_HOSTS"),
        ({"PHT_ENV": "staging"}, "is not one of"),
    ],
)
def test_production_refuses_unsafe_settings(env: dict[str, str], message: str) -> None:
    result = run(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_with_safe_settings_loads() -> None:
    result = run(
        {"PHT_ENV": "production", "PHT_SECRET_KEY": "k" * 60, "PHT_ALLOWED_HOSTS": "pht.example"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "60"]


def test_passwords_are_hashed_with_argon2(db: object) -> None:
    from django.contrib.auth.hashers import make_password

    assert make_password("a long enough password").startswith("argon2$")
