"""Answers collected through the app reach the evaluation: a small simulated pilot in a warehouse
file, patients of one pilot practice answer pht's PREM through their links, the answers go to
``survey_responses`` as one load batch, and ``pht evaluate did --indicator satisfaction`` runs on
them (the practice-quarter cell counts the app's respondents)."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from pht.app.accounts.models import Municipality, Practice
from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care.models import Patient
from pht.app.surveys import actions, links
from pht.app.surveys import warehouse as to_warehouse
from pht.evaluation.indicators import indicator, indicator_cells, quarter_index, quarter_start
from pht.registry.warehouse import Warehouse
from pht.synth.panel import simulate_extract

pytestmark = pytest.mark.django_db


def _answer(patient: Patient, when: dt.datetime, value: int) -> None:
    inv = actions.invite(
        user=None,
        patient=patient,
        instrument_id="prem",
        channel="sms",
        recipient="91234567",
        now=when,
    )
    token = links.new_link(inv, kind="invitation", now=when)
    response = actions.open_link(token, now=when)
    actions.save_answers(response, {"q1": value, "q2": value, "q3": value}, now=when)
    actions.save_answers(response, {"q4": 4, "q5": 4, "q6": 2}, now=when)
    actions.submit(response, now=when)


def test_app_answers_feed_the_did_of_a_survey_indicator(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extract = simulate_extract(
            11, pilot_practices=6, comparison_practices=10, persons_per_practice=60, years=5
        )
    path = tmp_path / "warehouse.duckdb"
    with Warehouse.open(path) as wh:
        extract.write(wh)
    truth = extract.write_truth(tmp_path / "truth")
    practices = extract.tables["practices"]
    pilot = practices[practices["pht_start"].notna()].iloc[0]
    members = extract.tables["list_memberships"]
    persons = extract.tables["persons"].set_index("person_id")
    gps = extract.tables["practitioners"]
    gps = gps[gps["practice_id"] == pilot["practice_id"]]["practitioner_id"]
    ids = members[members["gp_id"].isin(gps)]["person_id"].unique()[:6]
    muni = Municipality.objects.create(code=str(pilot["municipality_code"]), name="Testkommune")
    practice = Practice.objects.create(
        practice_id=pilot["practice_id"], name="Testlegekontoret", municipality=muni
    )
    q = extract.last_quarter
    when = dt.datetime.combine(
        quarter_start(q) + dt.timedelta(days=20),
        dt.time(10),
        tzinfo=timezone.get_current_timezone(),
    )
    for i, pid in enumerate(ids):
        patient = Patient.objects.create(
            person_id=pid,
            practice=practice,
            name=f"Pasient {i}",
            birth_date=persons.loc[pid, "birth_date"],
            sex=persons.loc[pid, "sex"],
        )
        _answer(patient, when, 5)

    ind = indicator("satisfaction")
    with Warehouse.open(path) as wh:
        before = indicator_cells(wh, None, ind, first_quarter=extract.first_quarter, last_quarter=q)
        summary = to_warehouse.load_answers(wh)
        after = indicator_cells(wh, None, ind, first_quarter=extract.first_quarter, last_quarter=q)
        app_rows = wh.sql("SELECT count(*) FROM survey_responses WHERE response_id LIKE '%app-%'")
    assert summary.responses == len(ids) and app_rows[0][0] == summary.rows
    assert summary.batch.startswith("batch ")  # a load batch with provenance
    assert AuditEntry.objects.filter(action=AuditAction.SURVEY_LOAD).count() == 1
    assert to_warehouse.load_answers(Warehouse.open(path)).responses == 0  # nothing twice

    def n_of(cells: Any) -> int:
        row = cells[(cells["practice_id"] == pilot["practice_id"]) & (cells["q"] == q)]
        return int(row["n"].sum()) if len(row) else 0

    assert n_of(after) == n_of(before) + len(ids)
    assert quarter_index(when.date()) == q

    from pht.cli import app as cli

    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            "did",
            "--indicator",
            "satisfaction",
            "--warehouse",
            str(path),
            "--truth",
            str(truth),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["estimates"] and out["estimates"][0]["indicator"] == "satisfaction"
