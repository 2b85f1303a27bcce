"""Every page of every app, rendered in Norwegian, is checked for English words, raw enum values,
non-Norwegian dates and decimals, and form controls without a label.

The URLs come from the project's resolver, so a page another app adds is checked too: its path
parameters are filled from :data:`SAMPLES` (by name) or from the first stored value of a model
field of that name; a parameter neither knows fails the test with its name.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from pht.app.care import actions, clock
from tests.app.bundle import PRACTICE_A
from tests.app.conftest import client_for

pytestmark = pytest.mark.django_db

#: English words that must not show in the Norwegian interface (whole words, any case), and the
#: ones that caught the eye in the issue ("contacts", "fee", "nurse", "Vega-Lite").
_WORDS = """
    the and with from of save cancel search delete edit submit none true false yes
    contacts contact fee grant nurse nurses patient patients name date page next previous
    total share quarter practice municipality home login logout password user task tasks
    risk low high medium overdue open done letter email phone annual check goal review
    week month year select unknown error warning success settings report application
    applications score decision payments chart vega lite dashboard worklist recall recalls
    status_code null undefined nan
"""
ENGLISH = set(_WORDS.split())
#: Words that are English and Norwegian alike, or names, and may stand in Norwegian text.
ALLOWED = {"status", "plan", "team", "data", "filter", "total"}
#: Raw values that are also fine as they are (abbreviations shown as such).
ALLOWED_VALUES = {"sms", "nav", "app", "in", "out", "gp", "fit", "mild", "start", "plan"}

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
SLASH_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")
NB_DATE = re.compile(r"\b\d{1,2}\.\d{1,2}\.(\d{4})?")
IP = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b")
VERSION = re.compile(r"\b(versjon|v)\s?(\w+\s)?\d+(\.\d+)+", re.I)
POINT_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")


class _Page(HTMLParser):
    """Visible text (with placeholders, titles, aria labels) and unlabelled controls; text in
    ``<code>`` (machine-readable detail, e.g. the audit log's JSON) and ``<cite>`` (the title of
    a cited source, often English) is not read."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.skip = 0
        self.labels_for: set[str] = set()
        self.in_label = 0
        self.controls: list[tuple[str, dict[str, str], bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style", "template", "code", "cite"):
            self.skip += 1
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.labels_for.add(a["for"])
        for key in ("placeholder", "title", "aria-label", "alt"):
            if a.get(key):
                self.text.append(a[key])
        if tag in ("input", "select", "textarea") and a.get("type") not in (
            "hidden",
            "submit",
            "button",
            "image",
            "reset",
        ):
            self.controls.append((tag, a, self.in_label > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template", "code", "cite"):
            self.skip = max(0, self.skip - 1)
        if tag == "label":
            self.in_label = max(0, self.in_label - 1)

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.text.append(data)

    def unlabelled(self) -> list[str]:
        return [
            f"<{tag} name={a.get('name')} id={a.get('id')}>"
            for tag, a, wrapped in self.controls
            if not wrapped
            and a.get("id") not in self.labels_for
            and not a.get("aria-label")
            and not a.get("aria-labelledby")
        ]


def _enum_values() -> set[str]:
    """Every stored value of a choice field of the project's models whose label differs."""
    out: set[str] = set()
    for model in apps.get_models():
        if not model.__module__.startswith("pht."):
            continue
        for field in model._meta.get_fields():
            for value, label in getattr(field, "choices", None) or ():
                if isinstance(value, str) and len(value) > 2 and value != str(label):
                    out.add(value)
    return out - ALLOWED_VALUES


def problems(html: str, enums: set[str]) -> list[str]:
    """What is not Norwegian on the page *html*."""
    page = _Page()
    page.feed(html)
    text = "\n".join(page.text)
    found: list[str] = []
    for word in re.findall(r"[A-Za-zÆØÅæøå_][\wÆØÅæøå-]*", text):
        low = word.lower()
        for part in {low, *low.split("-")}:
            if part in ENGLISH and part not in ALLOWED:
                found.append(f"English word {word!r}")
    for value in enums:
        if re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w-])", text):
            found.append(f"raw value {value!r}")
    stripped = NB_DATE.sub(" ", IP.sub(" ", VERSION.sub(" ", text)))
    found += [f"date {d!r}" for d in ISO_DATE.findall(text) + SLASH_DATE.findall(text)]
    found += [f"decimal point {d!r}" for d in POINT_DECIMAL.findall(stripped)]
    found += [f"no label: {c}" for c in page.unlabelled()]
    return sorted(set(found))


def _patterns(resolver: Any, prefix: str = "") -> list[tuple[str, URLPattern]]:
    out = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            out += _patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            out.append((prefix + str(p.pattern), p))
    return out


def _field_value(name: str) -> str | None:
    for model in apps.get_models():
        try:
            field = model._meta.get_field(name)
        except Exception:
            continue
        if isinstance(field, models.Field):
            value = model.objects.values_list(name, flat=True).exclude(**{name: None}).first()
            if value not in (None, ""):
                return str(value)
    return None


def _fill(route: str, samples: dict[str, str]) -> str | None:
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(2)
        value = samples.get(name) or _field_value(name)
        if value is None:
            missing.append(name)
            return ""
        return value

    path = re.sub(r"<(?:(\w+):)?(\w+)>", sub, route)
    if missing:
        pytest.fail(
            f"no sample value for the URL parameter(s) {missing} of {route!r}: add to SAMPLES"
        )
    return None if "(?P" in route or "^" in route else "/" + path


@pytest.fixture
def world(users: Any) -> dict[str, Any]:
    """Content on every page: a plan with a review, a recall with an invitation, a check, a
    coordination thread; the call with applications."""
    from pht.app.care.models import Patient
    from tests.call.web import make_users, seed_call

    nurse = users["nurse_a"]
    patient = Patient.objects.filter(practice_id=PRACTICE_A, flagged=True).order_by("rank")[0]
    today = clock.today()
    plan = actions.do_save_plan(
        user=nurse,
        patient=patient,
        goal="Gå tur hver dag",
        responsible=nurse,
        contact_interval_months=3,
        next_due=today,
        partners=["home_nursing", "nav"],
    )
    actions.do_review_plan(user=nurse, plan=plan, date=today, went_well="Går to ganger i uka")
    task = actions.do_create_task(
        user=nurse,
        patient=patient,
        title="Årskontroll kols",
        due=today,
        kind="annual_check",
        condition="copd",
        assigned_role="secretary",
    )
    actions.do_record_invitation(
        user=users["secretary_a"], task=task, channel="letter", sent_on=today
    )
    actions.do_record_annual_check(
        user=nurse,
        patient=patient,
        condition="diabetes",
        date=today,
        values={"hba1c": "55", "bp_systolic": "141", "bp_diastolic": "85", "ldl": "2,8"},
    )
    thread = actions.do_start_thread(
        user=nurse, patient=patient, partner="home_nursing", subject="Sårstell", text="Kan dere?"
    )
    extra = make_users()
    seed_call()
    return {"patient": patient, "task": task, "thread": thread, "users": {**users, **extra}}


def test_every_page_is_in_norwegian(world: dict[str, Any]) -> None:
    samples = {
        "uid": str(world["patient"].uid),
        "condition": "diabetes",
        "practice_id": PRACTICE_A,
        "application_id": "seed-m",
        "name": "annual_checks",
        "token": "ugyldig-lenke",
        "code": "1833",
        "year": "2019",
        "goal_id": "1",
    }
    thread_views = {"thread", "thread_fhir"}
    enums = _enum_values()
    people = ["nurse_a", "lead_a", "officer", "kommune-smaby"]
    clients = {"anonymous": Client()}
    for who in people:
        clients[who] = client_for(Client(), world["users"][who])
    checked, failures = [], {}
    for route, pattern in _patterns(get_resolver()):
        if route.startswith(("api/", "i18n/", "admin/")) or route.endswith(
            (".svg", ".json", ".csv", ".pdf", "fhir/", "min-plan/")
        ):
            continue  # not pages: charts, data, files (rendering them costs the most)
        pk = str(world["thread"].pk if pattern.name in thread_views else world["task"].pk)
        path = _fill(route, {**samples, "pk": pk})
        if path is None:
            continue
        for who, client in clients.items():
            response = client.get(path)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            checked.append((path, who))
            found = problems(response.content.decode(), enums)
            if found:
                failures[f"{path} ({who})"] = found
    assert len({p for p, _ in checked}) >= 15, checked
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())


def test_the_scan_finds_what_it_should() -> None:
    enums = {"annual_check", "home_nursing"}
    bad = (
        "<p>contacts 2023-12-31 1.33 annual_check T90</p><label for=x>X</label>"
        '<input id=y name=y><select name=z aria-label="Z"></select>'
    )
    found = problems(bad, enums)
    assert "English word 'contacts'" in found
    assert "raw value 'annual_check'" in found
    assert "date '2023-12-31'" in found
    assert "decimal point '1.33'" in found
    assert "no label: <input name=y id=y>" in found and len(found) == 5
    good = (
        "<p>31.12.2023 · 21 % · kr 1 234 · 2,5 t/uke · hjemmesykepleie · 127.0.0.1 · versjon 1.0"
        "<cite>The English source</cite></p>"
    )
    assert problems(good, enums) == []
