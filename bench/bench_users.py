"""50 users on mixed journeys against PostgreSQL for 5 minutes, with faults (locust).

Builds the demo (``pht run --no-serve``: the synthetic pilot, its analytics and demo users) into
a fresh PostgreSQL database on ``scripts/postgres.sh``'s server, serves it with gunicorn (3
workers x 4 threads, as ``pht app serve``) and lets locust drive 50 users (nurses, secretaries,
team leads, municipal leads; ``bench/load/locustfile.py``; and patients answering WHO-5,
``bench/load/surveys_locustfile.py``) for ``PHT_BENCH_SECONDS`` (300).
During the run one gunicorn worker is killed (SIGKILL) and PostgreSQL is restarted. Reported:
p95 per page outside the fault windows, errors outside and inside them, the seconds until
requests succeed again after each fault, and whether every task the app said it saved is in
the database once with its audit row (nothing lost, nothing half-written).

    .venv/bin/python -m bench users
It starts a PostgreSQL server of its own (port ``PHT_BENCH_PG_PORT``, 54339) that it may
restart; run it on a quiet machine, the figures are wall-clock latencies.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from pht.cli.web import gunicorn_args

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
USERS = int(os.environ.get("PHT_BENCH_USERS", "50"))
SECONDS = int(os.environ.get("PHT_BENCH_SECONDS", "300"))
PERSONS = os.environ.get("PHT_BENCH_PERSONS", "")  # default: the pilot's real size
WINDOW_S = 10.0  # how long after a fault failures are counted as the fault's

SESSIONS = r"""
import json, random, sys
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import NoReverseMatch, reverse
from pht.app.accounts.models import Profile
from pht.app.care.models import Patient

ROLES = {"nurse": "nurse", "secretary": "secretary", "lead": "team_lead",
         "municipal": "municipal_lead"}
out = {"cookie_name": settings.SESSION_COOKIE_NAME, "sessions": {}, "patients": {}}
practices = set()
for short, role in ROLES.items():
    profiles = list(Profile.objects.filter(role=role).select_related("user"))
    if not profiles and role == "team_lead":
        profiles = [p for p in Profile.objects.select_related("user") if p.is_team_lead]
    keys = []
    for n in range(12):
        p = profiles[n % len(profiles)]
        s = SessionStore()
        s[SESSION_KEY] = str(p.user.pk)
        s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        s[HASH_SESSION_KEY] = p.user.get_session_auth_hash()
        s.create()
        keys.append({"key": s.session_key, "practice": p.practice_id or ""})
        if p.practice_id:
            practices.add(p.practice_id)
    out["sessions"][short] = keys
for practice in practices:
    uids = Patient.objects.filter(practice_id=practice, flagged=True).values_list("uid", flat=True)
    out["patients"][practice] = [str(u) for u in uids[:300]]

def urls(*names):
    found = []
    for name in names:
        try:
            found.append(reverse(name))
        except NoReverseMatch:
            pass
    return found

out["worklist_paths"] = ["/worklist/", "/worklist/?page=2", "/worklist/?overdue=on",
                         "/worklist/?condition=diabetes", "/worklist/?risk_band=high&sort=risk"]
def named(*names):
    found = urls(*names)
    if len(found) != len(names):
        raise SystemExit(f"bench: a page name no longer exists: {names}")
    return found

out["secretary_paths"] = named("care:recalls", "care:due_list", "surveys:overview")
out["lead_paths"] = ["/dashboard/{practice}/"] + named("dashboards:financing_index",
                                                       "quality:index", "care:check_results")
out["municipal_paths"] = named("call:index", "call:mine", "dashboards:municipality_index")
import datetime as dt
out["due_date"] = (dt.date.today() + dt.timedelta(days=14)).isoformat()
json.dump(out, open(sys.argv[1], "w"))
# survey respondents: WHO-5 invitations with single-use links for flagged patients
from pht.app.surveys import actions, links
tokens = []
for patient in Patient.objects.filter(flagged=True).select_related("practice").order_by("id")[:400]:
    inv = actions.invite(user=None, patient=patient, instrument_id="who5", channel="sms",
                         recipient="91234567", remind=False)
    tokens.append(links.new_link(inv, kind="invitation"))
json.dump(tokens, open(sys.argv[2], "w"))
"""

CHECK = r"""
import json, sys
import django
django.setup()
from pht.app.audit.models import AuditEntry
from pht.app.care.models import Task
titles = json.load(open(sys.argv[1]))
missing = dupes = unaudited = 0
for t in titles:
    rows = list(Task.objects.filter(title=t).values_list("pk", flat=True))
    missing += not rows
    dupes += len(rows) > 1
    for pk in rows:
        audit = AuditEntry.objects.filter(action="task.create", detail__contains=f'"task": {pk},')
        unaudited += not audit.exists()
created = Task.objects.filter(title__startswith="Ring pasienten ").count()
print(json.dumps({"acknowledged": len(titles), "missing": missing, "duplicates": dupes,
                  "without_audit": unaudited, "in_database": created}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg(*args: str) -> str:
    # a server of its own (another port and cluster), so restarting it disturbs no test run
    port = os.environ.get("PHT_BENCH_PG_PORT", "54339")
    env = {
        **os.environ,
        "PHT_PG_PORT": port,
        "PHT_PG_URL_FILE": str(ROOT / ".tools" / f"postgres-{port}.url"),
    }
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgres.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _database() -> str:
    import psycopg

    base = _pg("start").splitlines()[-1]
    name = f"pht_load_{os.getpid()}"
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(x) for x in out.stdout.split()]


def _faults(master: int, events: dict[str, float]) -> None:
    start = time.time()
    time.sleep(SECONDS * 0.35)
    workers = _children(master)
    if workers:
        events["worker_killed"] = time.time()
        os.kill(workers[0], signal.SIGKILL)
    time.sleep(max(0.0, start + SECONDS * 0.65 - time.time()))
    events["postgres_down"] = time.time()
    _pg("stop")
    time.sleep(2)
    _pg("start")
    events["postgres_up"] = time.time()


def _analyse(log: Path, events: dict[str, float]) -> tuple[list[dict[str, Any]], list[str]]:
    windows = []
    if "worker_killed" in events:
        windows.append(("worker_killed", events["worker_killed"], events["worker_killed"]))
    windows.append(("postgres", events["postgres_down"], events["postgres_up"]))
    times: dict[str, list[float]] = defaultdict(list)
    outside_errors = 0
    inside_errors = 0
    recovery: dict[str, float] = {}
    saved: list[str] = []
    requests = 0
    for line in log.read_text().splitlines():
        e = json.loads(line)
        if "saved_task" in e:
            saved.append(e["saved_task"])
            continue
        requests += 1
        t = e["t"]
        hit = next((w for w in windows if w[1] <= t <= w[2] + WINDOW_S), None)
        if hit is None:
            times[e["page"]].append(e["ms"])
            outside_errors += not e["ok"]
        else:
            inside_errors += not e["ok"]
            if not e["ok"]:
                recovery[hit[0]] = max(recovery.get(hit[0], 0.0), t - hit[2])
    rows: list[dict[str, Any]] = [
        {"what": "requests", "value": requests, "unit": "requests"},
        {"what": "errors outside the fault windows", "value": outside_errors, "unit": "requests"},
        {
            "what": "failed requests inside the fault windows",
            "value": inside_errors,
            "unit": "requests",
        },
    ]
    for name, _, _ in windows:
        rows.append(
            {
                "what": f"recovery after {name} (last failure after the fault ended)",
                "value": recovery.get(name, 0.0),
                "unit": "s",
            }
        )
    for page, ms in sorted(times.items()):
        if len(ms) >= 20:
            rows.append(
                {
                    "what": f"p95 {page} (n={len(ms)})",
                    "value": statistics.quantiles(ms, n=20)[18],
                    "unit": "ms",
                }
            )
    return rows, saved


def run() -> list[dict[str, Any]]:
    # one run at a time: two would share the PostgreSQL server that each restarts, and the CPU
    lock = (ROOT / ".tools" / "bench-users.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        msg = "another `bench users` run is going on: the figures of both would be wrong"
        raise SystemExit(msg) from None
    with lock:
        return _run()


def _run() -> list[dict[str, Any]]:
    load_average = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="pht-bench-users-"))
    url = _database()
    env = {
        **os.environ,
        "PHT_HOME": str(folder),
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "pht.app.project.settings",
    }
    started = time.time()
    cmd = [str(VENV / "pht"), "run", "--no-serve"]
    if PERSONS:
        cmd += ["--persons", PERSONS]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    build_s = time.time() - started
    config = folder / "load.json"
    tokens = folder / "survey-tokens.json"
    subprocess.run(
        [str(VENV / "python"), "-c", SESSIONS, str(config), str(tokens)], env=env, check=True
    )
    port = _free_port()
    server = subprocess.Popen(
        # pht app serve's settings (gunicorn_args: the app preloaded and warmed in the master)
        [str(VENV / "gunicorn"), *gunicorn_args(bind=f"127.0.0.1:{port}", workers=3, threads=4)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "gunicorn.log").open("wb"),
    )
    log = folder / "requests.jsonl"
    events: dict[str, float] = {}
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        faults = threading.Thread(target=_faults, args=(server.pid, events), daemon=True)
        load_env = {
            **env,
            "PHT_LOAD_CONFIG": str(config),
            "PHT_LOAD_LOG": str(log),
            "PHT_SURVEY_TOKENS": str(tokens),
        }
        locust = subprocess.Popen(
            [
                str(VENV / "locust"),
                "-f",
                # the team's roles and patients answering a survey (one user in ten)
                f"{ROOT / 'bench' / 'load' / 'locustfile.py'},"
                f"{ROOT / 'bench' / 'load' / 'surveys_locustfile.py'}",
                "--headless",
                "-u",
                str(USERS),
                "-r",
                "10",
                "-t",
                f"{SECONDS}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--only-summary",
                "--stop-timeout",
                "15",
                "--loglevel",
                "ERROR",
            ],
            env=load_env,
            stdout=subprocess.DEVNULL,
            stderr=(folder / "locust.log").open("wb"),
        )
        started_load = time.time()
        faults.start()
        locust.wait()
        faults.join()
        rows, saved = _analyse(log, events)
        titles = folder / "saved.json"
        titles.write_text(json.dumps(saved))
        check = subprocess.run(
            [str(VENV / "python"), "-c", CHECK, str(titles)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        found = json.loads(check.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=60)
    rows = [
        {"what": "load average (1 min) at the start", "value": load_average, "unit": ""},
        {"what": "building the demo (pht run --no-serve)", "value": build_s, "unit": "s"},
        {"what": "users", "value": USERS, "unit": "users"},
        {"what": "duration", "value": SECONDS, "unit": "s"},
        *rows,
        {"what": "tasks the app said it saved", "value": found["acknowledged"], "unit": "tasks"},
        {"what": "... of them missing in the database", "value": found["missing"], "unit": "tasks"},
        {"what": "... saved twice", "value": found["duplicates"], "unit": "tasks"},
        {"what": "... without their audit row", "value": found["without_audit"], "unit": "tasks"},
    ]
    rows += [
        {"what": f"fault: {name} at (s after the start)", "value": at - started_load, "unit": "s"}
        for name, at in sorted(events.items(), key=lambda kv: kv[1])
    ]
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench-users.json").write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['what']}: {row['value']:,.1f} {row['unit']}")
    sys.exit(0)
