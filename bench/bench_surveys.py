"""The patient's survey page under load: 50 respondents at once on loopback (locust).

Builds an app database (SQLite in a temporary ``PHT_HOME``, or ``DATABASE_URL``) with one
practice, 2,000 listed patients and ``PHT_BENCH_LINKS`` (2,000) WHO-5 invitations with their
single-use links, serves it with ``pht app serve``'s gunicorn settings (3 workers x 4 threads;
``PHT_BENCH_WORKERS``/``PHT_BENCH_THREADS``) and lets locust drive ``PHT_BENCH_USERS`` (50)
respondents for ``PHT_BENCH_SECONDS`` (60): each opens a link, loads and saves each screen with
1-3 s to read, sends in, and takes the next link (``bench/load/surveys_locustfile.py``).
Reported: p50/p95/p99 of a page and of saving an answer, requests, errors, and the load
average at the start. Target (issue 17): p95 <= 100 ms for a page and for a save, no errors.

    .venv/bin/python -m bench surveys
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
USERS = int(os.environ.get("PHT_BENCH_USERS", "50"))
SECONDS = int(os.environ.get("PHT_BENCH_SECONDS", "60"))
LINKS = int(os.environ.get("PHT_BENCH_LINKS", "2000"))
WORKERS = int(os.environ.get("PHT_BENCH_WORKERS", "3"))
THREADS = int(os.environ.get("PHT_BENCH_THREADS", "4"))

BUILD = r"""
import datetime as dt, json, random, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from pht.app.accounts.models import Municipality, Practice
from pht.app.care.loading import display_name
from pht.app.care.models import Patient
from pht.app.surveys import actions, links
from pht.core.identifiers import make_orgnr

rng = random.Random(2018)
muni = Municipality.objects.create(code="1833", name="Rana")
practice = Practice.objects.create(practice_id=make_orgnr("98765432") or "", name="Benk legesenter",
    municipality=muni, financing_model="fee", pht_start=dt.date(2018, 4, 1))
n = int(sys.argv[2])
Patient.objects.bulk_create([Patient(person_id=f"{i:011d}", practice=practice,
    name=display_name(f"bench-{i}", "F"), birth_date=dt.date(1950, 1, 1 + i % 28), sex="F",
    target_groups="|chronic_disease|") for i in range(n)], batch_size=2000)
tokens = []
for patient in Patient.objects.select_related("practice").order_by("id")[:n]:
    inv = actions.invite(user=None, patient=patient, instrument_id="who5", channel="sms",
                         recipient="91234567", remind=False)
    tokens.append(links.new_link(inv, kind="invitation"))
open(sys.argv[1], "w").write(json.dumps(tokens))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _num(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:  # "N/A" when a name saw no request
        return 0.0


def _stats(prefix: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with (prefix.parent / f"{prefix.name}_stats.csv").open() as f:
        for row in csv.DictReader(f):
            out[row["Name"]] = {
                "n": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "p50": _num(row["50%"]),
                "p95": _num(row["95%"]),
                "p99": _num(row["99%"]),
            }
    return out


def run() -> list[dict[str, Any]]:
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pht-bench-surveys-") as tmp:
        home = Path(tmp)
        env = {
            **os.environ,
            "PHT_HOME": str(home),
            "DJANGO_SETTINGS_MODULE": "pht.app.project.settings",
            "PHT_OUTBOX_DIR": str(home / "outbox"),
        }
        tokens = home / "tokens.json"
        started = time.perf_counter()
        subprocess.run(
            [str(VENV / "python"), "-c", BUILD, str(tokens), str(LINKS)], env=env, check=True
        )
        build_s = time.perf_counter() - started
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "pht.app.project.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--threads",
                str(THREADS),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(home / "gunicorn.log").open("wb"),
        )
        try:
            for _ in range(240):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/s/takk/", timeout=5)
                    break
                except OSError:
                    time.sleep(0.5)
            prefix = home / "locust"
            subprocess.run(
                [
                    str(VENV / "locust"),
                    "-f",
                    str(ROOT / "bench" / "load" / "surveys_locustfile.py"),
                    "--headless",
                    "-u",
                    str(USERS),
                    "-r",
                    "10",
                    "-t",
                    f"{SECONDS}s",
                    "--host",
                    f"http://127.0.0.1:{port}",
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "ERROR",
                ],
                env={**env, "PHT_SURVEY_TOKENS": str(tokens)},
                stdout=subprocess.DEVNULL,
                stderr=(home / "locust.log").open("wb"),
                check=False,
            )
            stats = _stats(prefix)
        finally:
            server.terminate()
            server.wait(timeout=60)
    rows: list[dict[str, Any]] = [
        {"what": "load average (1 min) at the start", "value": load_average, "unit": ""},
        {"what": "building the database and links", "value": build_s, "unit": "s"},
        {"what": "respondents at once", "value": USERS, "unit": "users"},
        {"what": "duration", "value": SECONDS, "unit": "s"},
    ]
    for name in ("open", "page", "save", "submit"):
        s = stats.get(name)
        if s is None:
            continue
        rows += [
            {"what": f"{name}: requests", "value": s["n"], "unit": "requests"},
            {"what": f"{name}: errors", "value": s["failures"], "unit": "requests"},
            {"what": f"{name}: p50", "value": s["p50"], "unit": "ms"},
            {"what": f"{name}: p95", "value": s["p95"], "unit": "ms"},
            {"what": f"{name}: p99", "value": s["p99"], "unit": "ms"},
        ]
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench-surveys.json").write_text(
        json.dumps({"at": dt.datetime.now(dt.UTC).isoformat(), "rows": rows}, indent=1)
    )
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['what']}: {row['value']:,.1f} {row['unit']}")
