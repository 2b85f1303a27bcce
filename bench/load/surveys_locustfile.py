"""Patients answering WHO-5 on their phones, for ``bench/bench_surveys.py`` (locust).

Each simulated respondent takes the next unused link from ``$PHT_SURVEY_TOKENS``, opens it,
and for every screen loads the page and saves its answers (with a few seconds to read), then
sends the answers in and takes the next link. Requests are named ``open``, ``page``, ``save``
and ``submit`` so the bench reports each.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading

from locust import HttpUser, between, task

TOKENS: list[str] = json.loads(open(os.environ["PHT_SURVEY_TOKENS"]).read())  # noqa: SIM115
_NEXT = itertools.count()
_LOCK = threading.Lock()
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
GROUPS = [["q1", "q2", "q3"], ["q4", "q5"]]


def _next_token() -> str | None:
    with _LOCK:
        i = next(_NEXT)
    return TOKENS[i] if i < len(TOKENS) else None


class Respondent(HttpUser):
    wait_time = between(1, 3)

    @task
    def answer_one_survey(self) -> None:
        token = _next_token()
        if token is None:
            self.stop()
            return
        self.client.cookies.clear()
        r = self.client.get(f"/s/{token}", name="open", allow_redirects=False)
        if r.status_code != 302:
            return
        for side, questions in enumerate(GROUPS, start=1):
            page = self.client.get(f"/s/svar/?side={side}", name="page")
            found = CSRF.search(page.text)
            if not found:
                return
            self.wait()
            data = {"csrfmiddlewaretoken": found.group(1), "side": side, "retning": "neste"}
            data.update({q: str(random.randint(0, 5)) for q in questions})
            self.client.post(f"/s/svar/?side={side}", data=data, name="save", allow_redirects=False)
        page = self.client.get("/s/svar/?side=3", name="page")
        found = CSRF.search(page.text)
        if found:
            self.client.post(
                "/s/svar/?side=3",
                data={"csrfmiddlewaretoken": found.group(1), "side": 3, "retning": "send"},
                name="submit",
                allow_redirects=False,
            )
