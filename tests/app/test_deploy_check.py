"""Production settings: `manage.py check --deploy` has nothing to report, secrets only from the
environment (a key file is refused in production)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PHT_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env={**base, "DJANGO_SETTINGS_MODULE": "pht.app.project.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    env = {
        "PHT_ENV": "production",
        "PHT_SECRET_KEY": secrets.token_urlsafe(64),
        "PHT_ALLOWED_HOSTS": "pht.example.no",
        "PHT_HOME": str(tmp_path),
    }
    done = _check(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    # a private key from a file is refused in production: secrets come from the environment
    key = tmp_path / "key.pem"
    key.write_text("not used")
    refused = _check({**env, "PHT_OIDC_PRIVATE_KEY_FILE": str(key)})
    assert refused.returncode != 0 and "PHT_OIDC_PRIVATE_KEY_FILE is refused" in refused.stderr
