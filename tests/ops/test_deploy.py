"""The deployment of docs/deploy.md brought up on this machine: Debian's nginx with TLS in front
of gunicorn with the production settings, and a smoke test through the proxy."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy.sh"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs if not k.startswith("#")}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    import os

    where = tmp_path_factory.mktemp("deploy")
    https, http = _free_port(), _free_port()
    env = {**os.environ, "LOCAL_HTTPS_PORT": str(https), "LOCAL_HTTP_PORT": str(http)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests; never in a deployment
    up = subprocess.run(["bash", str(SCRIPT), "local-up", str(where)], env=env, check=False)
    try:
        assert up.returncode == 0, "scripts/deploy.sh local-up failed"
        settings = _env_file(where / "pht.env")
        user_env = {**os.environ, **settings, "DJANGO_SUPERUSER_PASSWORD": "smoke-test-passord-1"}
        subprocess.run(
            [
                str(ROOT / ".venv/bin/python"),
                "-m",
                "django",
                "createsuperuser",
                "--no-input",
                "--username",
                "smoke",
                "--email",
                "smoke@example.org",
                "--settings=pht.app.project.settings",
            ],
            env=user_env,
            check=True,
            cwd=ROOT,
        )
        yield {"dir": where, "https": https, "http": http, "cert": str(where / "tls.pem")}
    finally:
        subprocess.run(["bash", str(SCRIPT), "local-down", str(where)], check=False)


def test_http_redirects_to_https(deployed: dict[str, object]) -> None:
    r = httpx.get(f"http://127.0.0.1:{deployed['http']}/accounts/login/?next=/")
    assert r.status_code == 301
    assert r.headers["location"] == f"https://127.0.0.1:{deployed['https']}/accounts/login/?next=/"


def test_login_through_the_proxy(deployed: dict[str, object]) -> None:
    base = f"https://127.0.0.1:{deployed['https']}"
    tls = ssl.create_default_context(cafile=str(deployed["cert"]))
    with httpx.Client(base_url=base, verify=tls, timeout=60) as client:
        page = client.get("/accounts/login/")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "no-store" in page.headers["cache-control"]
        # static files: hashed names from collectstatic, cached for a year by nginx
        css = re.search(r'href="(/static/pht/app\.[0-9a-f]{12}\.css)"', page.text)
        assert css, "the page links a hashed stylesheet"
        static = client.get(css.group(1))
        assert static.status_code == 200
        assert static.headers["cache-control"] == "public, max-age=31536000, immutable"
        token = client.cookies["csrftoken"]
        done = client.post(
            "/accounts/login/",
            data={
                "username": "smoke",
                "password": "smoke-test-passord-1",
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": f"{base}/accounts/login/"},
        )
        assert done.status_code == 302, done.text[:300]
        assert "sessionid" in client.cookies
        home = client.get(done.headers["location"], follow_redirects=True)
        assert home.status_code < 500


def test_rendered_units_are_valid(deployed: dict[str, object]) -> None:
    etc = Path(str(deployed["dir"])) / "etc"
    units = sorted(str(p) for p in etc.glob("pht-*.service"))
    assert len(units) == 3
    verify = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, check=False
    )
    if verify.returncode == 127:
        pytest.skip("systemd-analyze is not installed")
    problems = [
        line
        for line in verify.stderr.splitlines()
        if "pht-" in line and "Failed to" not in line  # no systemd running in a container
    ]
    assert not problems, verify.stderr
