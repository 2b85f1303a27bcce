"""Worklist page under load: 20 concurrent users on loopback against gunicorn.

Builds, by code, a fresh app database (SQLite in a temporary folder) with one practice of 6,000
listed persons (about a third of them on the worklist, as in the synthetic pilot), signs in 20
team members, serves the app with ``pht app serve``'s gunicorn settings, and drives the worklist
page (first pages, filters, search, paging) with ``wrk`` (Debian's package; ``apt-get install
wrk``) or, without it, a Python thread pool, twice: every request a full page, and as the page
is used (one full page load in ten, the rest the htmx table updates that filters and paging
send). Reports p50/p95/p99 latency, throughput and errors for each, the CPU time of one request
in-process (served from the worklist cache and with the cache emptied first) and the load
average at the start (wall figures on a shared machine need it). ``PHT_BENCH_WORKERS`` and
``PHT_BENCH_THREADS`` change the gunicorn settings (default 3 x 4, as ``pht app serve``).

    .venv/bin/python -m bench app
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pht.cli.web import gunicorn_args

LISTED = 6_000
USERS = 20
DURATION_S = 20
WORKERS = int(os.environ.get("PHT_BENCH_WORKERS", "3"))
THREADS = int(os.environ.get("PHT_BENCH_THREADS", "4"))
PATHS = [
    "/worklist/",
    "/worklist/?page=2",
    "/worklist/?page=5",
    "/worklist/?condition=diabetes",
    "/worklist/?overdue=on",
    "/worklist/?risk_band=high&sort=risk",
    "/worklist/?target_group=frail_elderly&frailty_band=severe",
    "/worklist/?q=Hansen",
    "/worklist/?no_plan=on&page=3",
    "/worklist/?condition=copd&sort=name",
]

WRK_SCRIPT = """
local paths = {%(paths)s}
local cookies = {%(cookies)s}
local htmx = %(htmx)s
local n = 0
request = function()
  n = n + 1
  local i = (n %% #paths) + 1
  local headers = {["Cookie"] = cookies[(n %% #cookies) + 1], ["Host"] = "127.0.0.1"}
  if htmx and i > 1 then
    headers["HX-Request"] = "true"
    headers["HX-Target"] = "worklist-results"
  end
  return wrk.format("GET", paths[i], headers)
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format('{"requests": %%d, "errors": %%d, "seconds": %%f, "p50": %%f, '
    .. '"p95": %%f, "p99": %%f, "max": %%f}\\n',
    summary.requests, errors, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _build(home: Path) -> list[str]:
    """The app database with one 6,000-person practice; session cookies of 20 team members."""
    os.environ["PHT_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "pht.app.project.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from pht.app.accounts.models import AppRole, Municipality, Practice, Profile
    from pht.app.care.loading import display_name
    from pht.app.care.models import Patient
    from pht.core.identifiers import make_orgnr

    call_command("migrate", verbosity=0)
    rng = random.Random(2018)
    muni = Municipality.objects.create(code="1833", name="Rana")
    practice = Practice.objects.create(
        practice_id=make_orgnr("98765432") or "",
        name="Benk legesenter",
        municipality=muni,
        financing_model="fee",
        pht_start=dt.date(2018, 4, 1),
    )
    groups = ["chronic_disease", "mental_illness", "frail_elderly", "substance_use"]
    conditions = ["diabetes", "copd", "heart_failure", "dementia", "depression_anxiety"]
    patients = []
    rank = 0
    for i in range(LISTED):
        flagged = rng.random() < 0.33
        rank += flagged
        chosen = rng.sample(conditions, k=rng.randint(1, 2)) if flagged else []
        patients.append(
            Patient(
                person_id=f"{i:011d}",
                practice=practice,
                name=display_name(f"bench-{i}", rng.choice("FM")),
                birth_date=dt.date(rng.randint(1925, 2015), rng.randint(1, 12), rng.randint(1, 28)),
                sex=rng.choice("FM"),
                flagged=flagged,
                priority=rng.random() * 100,
                rank=rank if flagged else None,
                reasons="; ".join(chosen) if flagged else "",
                target_groups="|" + "|".join(rng.sample(groups, k=1)) + "|" if flagged else "",
                conditions="|" + "|".join(chosen) + "|" if flagged else "",
                frailty_band=rng.choice(["fit", "mild", "moderate", "severe"]),
                risk=rng.random() / 3,
                risk_band=rng.choice(["low", "medium", "high", "very_high"]),
                annual_check_overdue=flagged and rng.random() < 0.3,
            )
        )
    Patient.objects.bulk_create(patients, batch_size=2000)
    cookies = []
    model = get_user_model()
    for n in range(USERS):
        user = model.objects.create_user(f"bench-{n:02d}", password=None)
        Profile.objects.create(user=user, role=AppRole.NURSE, practice=practice)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    return cookies


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PHT_HOME": str(home)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *gunicorn_args(bind=f"127.0.0.1:{port}", workers=WORKERS, threads=THREADS),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(home / "gunicorn.log").open("wb"),
    )
    deadline = time.time() + 120
    last: Exception | None = None
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
            return proc
        except OSError as err:
            last = err
            time.sleep(0.5)
    proc.kill()
    log = (home / "gunicorn.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the app did not start ({last}):\n{log}")


def _wrk(port: int, cookies: list[str], folder: Path, *, htmx: bool) -> dict[str, Any]:
    script = folder / "worklist.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "paths": ", ".join(json.dumps(p) for p in PATHS),
            "cookies": ", ".join(json.dumps(c) for c in cookies),
            "htmx": "true" if htmx else "false",
        }
    )
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(USERS),
            "-d",
            f"{DURATION_S}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("{"))
    result: dict[str, Any] = json.loads(line)
    result["tool"] = "wrk"
    return result


def _python(port: int, cookies: list[str], *, htmx: bool) -> dict[str, Any]:
    import http.client

    stop = time.time() + DURATION_S

    def user(n: int) -> tuple[list[float], int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        times, errors, i = [], 0, n
        while time.time() < stop:
            i += 1
            start = time.perf_counter()
            headers = {"Cookie": cookies[n]}
            if htmx and i % len(PATHS):
                headers |= {"HX-Request": "true", "HX-Target": "worklist-results"}
            conn.request("GET", PATHS[i % len(PATHS)], headers=headers)
            response = conn.getresponse()
            response.read()
            times.append((time.perf_counter() - start) * 1000)
            errors += response.status != 200
        return times, errors

    began = time.time()
    with ThreadPoolExecutor(USERS) as pool:
        results = list(pool.map(user, range(USERS)))
    times = sorted(t for r in results for t in r[0])
    q = statistics.quantiles(times, n=100)
    return {
        "requests": len(times),
        "errors": sum(r[1] for r in results),
        "seconds": time.time() - began,
        "p50": q[49],
        "p95": q[94],
        "p99": q[98],
        "max": times[-1],
        "tool": "python",
    }


def _cpu_per_request(cookie: str) -> dict[str, float]:
    """CPU ms per worklist request in this process (Django's test client, no HTTP server):
    as served from the cache, and with the cache emptied before every request (a miss)."""
    from django.conf import settings
    from django.core.cache import caches
    from django.test import Client

    client = Client()
    name, _, value = cookie.partition("=")
    client.cookies[name] = value
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "worklist-results"}
    cache = caches["worklist"] if "worklist" in settings.CACHES else caches["default"]
    out: dict[str, float] = {}
    for label, headers, miss in (
        ("htmx table, cached", htmx, False),
        ("full page, cached", {}, False),
        ("htmx table, not cached", htmx, True),
        ("full page, not cached", {}, True),
    ):
        for path in PATHS:  # warm up
            client.get(path, **headers)
        rounds = 10
        start = time.process_time()
        for _ in range(rounds):
            for path in PATHS:
                if miss:
                    cache.clear()
                assert client.get(path, **headers).status_code == 200
        out[label] = (time.process_time() - start) * 1000 / (rounds * len(PATHS))
    return out


def run() -> list[dict[str, Any]]:
    """Build, serve, load; the figures."""
    folder = Path(tempfile.mkdtemp(prefix="pht-bench-app-"))
    load_average = os.getloadavg()[0]
    try:
        cookies = _build(folder)
        cpu = _cpu_per_request(cookies[0])
        port = _free_port()
        server = _serve(folder, port)
        try:
            # warm up every worker and path
            for path in PATHS * WORKERS:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookies[0]}
                )
                assert urllib.request.urlopen(req, timeout=30).status == 200
            results = {
                mode: _wrk(port, cookies, folder, htmx=htmx)
                if shutil.which("wrk")
                else _python(port, cookies, htmx=htmx)
                for mode, htmx in (("full pages", False), ("as used (htmx updates)", True))
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows: list[dict[str, Any]] = [
        {"what": "load average (1 min) at the start", "value": load_average, "unit": ""},
        {"what": "gunicorn workers", "value": WORKERS, "unit": "processes"},
        {"what": "gunicorn threads per worker", "value": THREADS, "unit": "threads"},
    ]
    rows += [
        {"what": f"worklist CPU per request in-process, {label}", "value": ms, "unit": "ms"}
        for label, ms in cpu.items()
    ]
    for mode, result in results.items():
        rows += [
            {
                "what": f"worklist, {mode}: p50 ({result['tool']}, {USERS} users)",
                "value": result["p50"],
                "unit": "ms",
            },
            {"what": f"worklist, {mode}: p95", "value": result["p95"], "unit": "ms"},
            {"what": f"worklist, {mode}: p99", "value": result["p99"], "unit": "ms"},
            {
                "what": f"worklist, {mode}: throughput",
                "value": result["requests"] / result["seconds"],
                "unit": "req/s",
            },
            {"what": f"worklist, {mode}: errors", "value": result["errors"], "unit": "requests"},
        ]
    return rows
