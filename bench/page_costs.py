"""What each page of the load test's journeys costs one user: time, CPU and SQL per request.

Runs in-process with Django's test client (all middleware, no HTTP server) against an existing
app database, such as the demo pilot that ``pht run --no-serve`` builds:

    PHT_HOME=/tmp/pilot DATABASE_URL=postgres://... .venv/bin/python -m bench.page_costs [N]

For every page of ``bench/load/locustfile.py`` and ``bench/load/surveys_locustfile.py`` it
prints the median wall and CPU milliseconds of N requests (default 20, after one warm-up), the
number of SQL queries and their summed milliseconds, and the slowest query. The worklist is
measured as served from its cache and with the cache emptied before each request. It writes to
the database it is given (audit rows, sessions, a few tasks, survey invitations and answers):
point it at a database made for measuring. Add ``--profile PAGE`` to print a cProfile of one
page (its name as printed), ``--only a,b`` to measure only the pages whose names hold a or b,
``--sql`` to list each page's queries (of its last request).
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pht.app.project.settings")


def _setup() -> None:
    import django

    django.setup()


def _users() -> dict[str, Any]:
    from pht.app.accounts.models import Profile

    found: dict[str, Any] = {}
    for short, role in (
        ("nurse", "nurse"),
        ("secretary", "secretary"),
        ("lead", "team_lead"),
        ("municipal", "municipal_lead"),
    ):
        profile = Profile.objects.filter(role=role).select_related("user").order_by("pk").first()
        if profile is None and short == "lead":
            profile = next(
                (p for p in Profile.objects.select_related("user") if p.is_team_lead), None
            )
        if profile is not None:
            found[short] = profile
    return found


def _client(profile: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(profile.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


class Page:
    """One page: how to request it, and its measurements."""

    def __init__(self, name: str, call: Callable[[int], Any], before: Callable[[int], Any] | None):
        self.name = name
        self.call = call
        self.before = before
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.queries: list[int] = []
        self.sql_ms: list[float] = []
        self.slowest: tuple[float, str] = (0.0, "")
        self.first_ms = 0.0
        self.last_sql: list[tuple[float, str]] = []


def _measure(page: Page, n: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(n + 1):
        if page.before is not None:
            page.before(i)
        with CaptureQueriesContext(connection) as captured:
            t0, c0 = time.perf_counter(), time.process_time()
            response = page.call(i)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        status = getattr(response, "status_code", 0)
        if status >= 400:
            raise SystemExit(f"{page.name}: answered {status}")
        if i == 0:
            page.first_ms = wall * 1000
            continue
        page.wall.append(wall * 1000)
        page.cpu.append(cpu * 1000)
        page.queries.append(len(captured.captured_queries))
        times = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
        page.sql_ms.append(sum(t for t, _ in times))
        page.last_sql = times
        for t, sql in times:
            if t > page.slowest[0]:
                page.slowest = (t, sql)


def pages() -> list[Page]:
    """The journeys' pages, each with a client of its role."""
    from django.core.cache import caches

    from pht.app.care.models import Patient
    from pht.app.surveys import actions, links

    users = _users()
    nurse, secretary = _client(users["nurse"]), _client(users["secretary"])
    lead, municipal = _client(users["lead"]), _client(users["municipal"])
    practice = users["nurse"].practice_id
    uids = [
        str(u)
        for u in Patient.objects.filter(practice_id=practice, flagged=True)
        .order_by("rank")
        .values_list("uid", flat=True)[:300]
    ]
    lead_practice = users["lead"].practice_id
    due = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    worklists = [
        "/worklist/",
        "/worklist/?page=2",
        "/worklist/?overdue=on",
        "/worklist/?condition=diabetes",
        "/worklist/?risk_band=high&sort=risk",
    ]

    def clear_worklist(i: int) -> None:
        caches["worklist"].clear()

    def task_save(i: int) -> Any:
        uid = uids[(i * 7) % 60]
        return nurse.post(
            f"/patients/{uid}/tasks/new/",
            {
                "title": f"Ring pasienten {time.time_ns()}",
                "kind": "task",
                "assigned_role": "nurse",
                "due": due,
            },
        )

    respondents: list[Any] = []
    tokens: list[str] = []
    flagged = Patient.objects.filter(flagged=True).select_related("practice").order_by("-id")

    def survey(step: str) -> Callable[[int], Any]:
        from django.test import Client

        def call(i: int) -> Any:
            if step == "open":
                client = Client()
                respondents.append(client)
                return client.get(f"/s/{tokens[i]}")
            client = respondents[i]
            if step == "page":
                return client.get("/s/svar/?side=1")
            if step == "save":
                return client.post(
                    "/s/svar/?side=1",
                    {"side": 1, "retning": "neste", "q1": "3", "q2": "4", "q3": "2"},
                )
            return client.post("/s/svar/?side=3", {"side": 3, "retning": "send"})

        return call

    def invitation(i: int) -> None:
        inv = actions.invite(
            user=None,
            patient=flagged[i],
            instrument_id="who5",
            channel="sms",
            recipient="91234567",
            remind=False,
        )
        tokens.append(links.new_link(inv, kind="invitation"))

    def second_screen(i: int) -> None:
        respondents[i].post(
            "/s/svar/?side=2", {"side": 2, "retning": "neste", "q4": "3", "q5": "1"}
        )

    return [
        # first, so that the due list shows tasks, as it does once the load test's nurses save
        Page("task save", task_save, None),
        Page("due list (nurse)", lambda i: nurse.get("/tasks/"), None),
        Page("due list (secretary)", lambda i: secretary.get("/tasks/"), None),
        Page("worklist (cached)", lambda i: nurse.get(worklists[i % 5]), None),
        Page("worklist (cache emptied)", lambda i: nurse.get(worklists[i % 5]), clear_worklist),
        Page("patient page", lambda i: nurse.get(f"/patients/{uids[(i * 7) % 60]}/"), None),
        Page(
            "task form",
            lambda i: nurse.get(f"/patients/{uids[(i * 3) % len(uids)]}/tasks/new/"),
            None,
        ),
        Page("recalls", lambda i: secretary.get("/recalls/"), None),
        Page("practice dashboard", lambda i: lead.get(f"/dashboard/{lead_practice}/"), None),
        Page("kvalitet", lambda i: lead.get("/kvalitet/"), None),
        Page("check results", lambda i: lead.get("/checks/results/"), None),
        Page("surveys overview (secretary)", lambda i: secretary.get("/surveys/"), None),
        Page("own applications (municipal)", lambda i: municipal.get("/call/mine/"), None),
        Page("overview /dashboard/ (municipal)", lambda i: municipal.get("/dashboard/"), None),
        Page("call (municipal)", lambda i: municipal.get("/call/", follow=True), None),
        Page("survey open", survey("open"), invitation),
        Page("survey page", survey("page"), None),
        Page("survey save", survey("save"), None),
        Page("survey submit", survey("submit"), second_screen),
    ]


def main(argv: list[str]) -> int:
    n = 20
    profile_name = ""
    args = list(argv)
    show_sql = "--sql" in args
    only: list[str] = []
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1].split(",")
        del args[i : i + 2]
    if show_sql:
        args.remove("--sql")
    if "--profile" in args:
        i = args.index("--profile")
        profile_name = args[i + 1]
        del args[i : i + 2]
    if args:
        n = int(args[0])
    started = time.perf_counter()
    _setup()
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the URLs' imports, timed apart from the pages)
    boot_s = time.perf_counter() - started
    print(f"load average {os.getloadavg()[0]:.2f}; django.setup() and URLs {boot_s:.1f} s")
    found = pages()
    print(f"{'page':34} {'first':>7} {'wall':>7} {'cpu':>7} {'sql':>7} {'queries':>7}  slowest")
    for page in found:
        if only and not any(o in page.name for o in only):
            continue
        if profile_name and page.name != profile_name:
            if page.name.startswith("survey"):
                _measure(page, n)  # the survey steps follow each other
            continue
        if profile_name:
            prof = cProfile.Profile()
            prof.enable()
        _measure(page, n)
        if profile_name:
            prof.disable()
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
            print(out.getvalue())
        slow_ms, slow_sql = page.slowest
        print(
            f"{page.name:34} {page.first_ms:7.1f} {statistics.median(page.wall):7.1f} "
            f"{statistics.median(page.cpu):7.1f} {statistics.median(page.sql_ms):7.1f} "
            f"{max(page.queries):7d}  {slow_ms:.1f} ms {slow_sql[:90]}"
        )
        if show_sql:
            for t, sql in page.last_sql:
                print(f"    {t:6.1f} ms  {sql[:300]}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
