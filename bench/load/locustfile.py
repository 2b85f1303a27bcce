"""Mixed journeys of the team and its leaders for ``bench/bench_users.py`` (locust).

Each simulated user signs in once (a session made by the bench, as a login would) and then
walks its role's pages with think time. Every request is appended to ``$PHT_LOAD_LOG`` as one
JSON line (time, page, status, milliseconds) so the bench can judge the fault windows apart from
the rest; every task a nurse created and was told was saved is listed in the same log, so the
bench can check afterwards that the database holds it with its audit row.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
import uuid
from typing import Any

from locust import HttpUser, between, events, task

CONFIG: dict[str, Any] = json.loads(open(os.environ["PHT_LOAD_CONFIG"]).read())  # noqa: SIM115
_LOG = open(os.environ["PHT_LOAD_LOG"], "a", buffering=1)  # noqa: SIM115
_LOCK = threading.Lock()
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _write(entry: dict[str, Any]) -> None:
    with _LOCK:
        _LOG.write(json.dumps(entry) + "\n")


@events.request.add_listener
def _record(
    request_type: str, name: str, response_time: float, response: Any, exception: Any, **_: Any
) -> None:
    status = getattr(response, "status_code", 0) or 0
    ok = exception is None and 0 < status < 400
    _write(
        {
            "t": time.time(),
            "page": f"{request_type} {name}",
            "status": status,
            "ms": response_time,
            "ok": ok,
        }
    )


class _Role(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    role = ""

    def on_start(self) -> None:
        session = random.choice(CONFIG["sessions"][self.role])
        self.practice = session["practice"]
        self.client.cookies.set(CONFIG["cookie_name"], session["key"])
        self.patients = CONFIG["patients"].get(self.practice, [])

    def page(self, path: str, name: str) -> Any:
        with self.client.get(path, name=name, catch_response=True, allow_redirects=False) as r:
            if r.status_code >= 400 or (
                r.status_code == 302 and "/accounts/login" in r.headers.get("location", "")
            ):
                r.failure(f"{r.status_code}")
            return r


class Nurse(_Role):
    weight = 5
    role = "nurse"

    @task(3)
    def due_list(self) -> None:
        self.page("/tasks/", "due list")

    @task(3)
    def worklist(self) -> None:
        self.page(random.choice(CONFIG["worklist_paths"]), "worklist")

    @task(3)
    def patient(self) -> None:
        if self.patients:
            self.page(f"/patients/{random.choice(self.patients)}/", "patient page")

    @task(1)
    def new_task(self) -> None:
        if not self.patients:
            return
        uid = random.choice(self.patients)
        form = self.page(f"/patients/{uid}/tasks/new/", "task form")
        token = CSRF.search(form.text or "")
        if not token:
            return
        title = f"Ring pasienten {uuid.uuid4().hex[:12]}"
        with self.client.post(
            f"/patients/{uid}/tasks/new/",
            name="task save",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "title": title,
                "kind": "task",
                "assigned_role": "nurse",
                "due": CONFIG["due_date"],
            },
            headers={"Referer": f"{self.host}/patients/{uid}/tasks/new/"},
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code == 302:
                _write({"t": time.time(), "saved_task": title, "patient": uid})
            else:
                r.failure(f"{r.status_code}")


class Secretary(_Role):
    weight = 2
    role = "secretary"

    @task
    def due_list(self) -> None:
        self.page("/tasks/", "due list")

    @task
    def pages(self) -> None:
        path = random.choice(CONFIG["secretary_paths"])
        self.page(path, path)


class TeamLead(_Role):
    weight = 1
    role = "lead"

    @task
    def dashboard(self) -> None:
        self.page(f"/dashboard/{self.practice}/", "practice dashboard")

    @task
    def pages(self) -> None:
        path = random.choice(CONFIG["lead_paths"]).format(practice=self.practice)
        self.page(path, path.replace(self.practice, "{practice}"))


class MunicipalLead(_Role):
    weight = 1
    role = "municipal"

    @task
    def overview(self) -> None:
        self.page("/dashboard/", "overview")

    @task
    def pages(self) -> None:
        path = random.choice(CONFIG["municipal_paths"])
        self.page(path, path)
