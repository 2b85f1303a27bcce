"""The 2017 call as reference data, its demo case, and the ``pht call`` commands."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from pht.call.demo import demo_case
from pht.call.rules import load_call
from pht.call.validation import errors_of, validate
from pht.cli import app
from pht.core.labels import SizeClass
from pht.reference import translate_code

runner = CliRunner()

JOINED = {"Rana", "Eid", "Flora", "Austevoll", "Hå", "Kristiansand", "Seljord", "Oslo", "Ringsaker"}


def test_the_2017_call_as_data() -> None:
    rules = load_call("pht-2017")
    assert (rules.quotas.small, rules.quotas.medium, rules.quotas.large) == (2, 2, 2)
    assert rules.gp_target == 80
    assert rules.deadline == dt.date(2017, 10, 15)
    assert rules.decision_by == dt.date(2017, 12, 1)
    assert rules.pilot_start == dt.date(2018, 4, 1)
    practice, municipality = rules.project_funds_per_gp(rules.pilot_start)
    assert (practice.amount, municipality.amount) == (134000, 26000)
    assert {r.field for r in rules.required} >= {
        "applicant",
        "purpose",
        "project_description",
        "gp_service_organisation",
        "internal_control",
        "external_control",
        "signature",
    }
    assert sum(c.weight for c in rules.criteria) == 1


def test_demo_case_has_the_known_applicants_and_marked_synthetic_ones() -> None:
    case = demo_case()
    assert len(case.applications) == 17
    real = {a.name for a in case.applications if not a.synthetic}
    assert real == JOINED | {"Ørskog", "Malvik"}
    synthetic = [a for a in case.applications if a.synthetic]
    assert len(synthetic) == 6 and all("(syntetisk)" in a.name for a in synthetic)
    codes = {a.name: a.applicant.municipality_code for a in case.applications if not a.synthetic}
    assert codes["Ørskog"] == "1523" and codes["Malvik"] == "1663"
    # every real number was valid in 2017 and maps forward
    for a in case.applications:
        if not a.synthetic:
            assert translate_code(a.applicant.municipality_code, dt.date(2017, 10, 15)) == (
                a.applicant.municipality_code
            )
    assert translate_code(codes["Malvik"], dt.date(2018, 4, 1)) == "5031"
    assert translate_code(codes["Ørskog"], dt.date(2020, 1, 1)) == "1507"
    by_name = {a.name: a for a in case.applications}
    assert by_name["Vestøy (syntetisk)"].late
    assert not any(a.late for a in case.applications if not a.synthetic)
    incomplete = errors_of(validate(by_name["Austvik (syntetisk)"], case.rules))
    assert {m.code for m in incomplete} >= {
        "missing",
        "invalid_bank_account",
        "gp_not_taking_part",
        "leader_not_gp",
    }
    assert by_name["Oslo"].gps == 27
    assert sum(by_name[n].gps for n in JOINED) == 85  # the 13 practices that started in 2018


def test_demo_selection_respects_the_calls_quotas_and_band() -> None:
    case = demo_case()
    sel = case.select()
    assert all(sel.per_class[c] <= 2 for c in SizeClass)
    assert 70 <= sel.total_gps <= 90


def test_what_if_with_nine_municipalities_gives_the_december_2017_announcement() -> None:
    case = demo_case()
    sel = case.select(case.rules.with_what_if(medium=3, large=4))
    names = {case.application(i).name for i in sel.selected}
    assert names == {
        "Seljord",
        "Ørskog",
        "Flora",
        "Malvik",
        "Eid",
        "Kristiansand",
        "Ringsaker",
        "Rana",
        "Oslo",
    }


def test_cli_show_and_select_with_what_if() -> None:
    out = runner.invoke(app, ["call", "show", "-f", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["quotas"] == {"small": 2, "medium": 2, "large": 2}
    out = runner.invoke(
        app,
        [
            "call",
            "select",
            "--quota-medium",
            "3",
            "--quota-large",
            "4",
            "--gp-target",
            "80",
            "--band",
            "10",
            "-f",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["total_gps"] == 81 and len(data["selected"]) == 9
    late = next(e for e in data["explanations"] if e["application"] == "pht17-13")
    assert late["reason"] == "late" and "etter fristen" in late["explanation"]


def test_cli_flow_from_case_file_to_payment_list(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    assert runner.invoke(app, ["call", "init", "--out", str(case)]).exit_code == 0
    out = runner.invoke(app, ["call", "payments", "-c", str(case), "--year", "2018"])
    assert out.exit_code != 0  # no approved decisions yet
    assert (
        runner.invoke(
            app, ["call", "decide", "-c", str(case), "--officer", "kari", "--on", "2017-11-24"]
        ).exit_code
        == 0
    )
    same = runner.invoke(
        app,
        ["call", "decide", "-c", str(case), "--officer", "kari", "--approve", "--on", "2017-11-30"],
    )
    assert same.exit_code != 0
    ok = runner.invoke(
        app,
        [
            "call",
            "decide",
            "-c",
            str(case),
            "--officer",
            "ola",
            "--approve",
            "--on",
            "2017-11-30",
            "-f",
            "json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    out = runner.invoke(app, ["call", "payments", "-c", str(case), "--year", "2018", "-f", "csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    flora = next(r for r in rows if r["recipient"] == "Legegruppa SMS")
    # 7 GPs from April, one leaves 30 September: 6 × 9 + 6 = 60 GP-months → 60/12 × 134,000
    assert flora["gp_months"] == "60" and flora["amount"] == "670000.00"
    out = runner.invoke(
        app,
        [
            "call",
            "reports",
            "-c",
            str(case),
            "--year",
            "2018",
            "--as-of",
            "2019-03-10",
            "-f",
            "json",
        ],
    )
    statuses = {r["municipality"]: r["status"] for r in json.loads(out.output)["rows"]}
    assert statuses["Flora"] == "submitted" and statuses["Seljord"] == "overdue"
    out = runner.invoke(
        app,
        [
            "call",
            "assess",
            "-c",
            str(case),
            "-a",
            "pht17-16",
            "--criterion",
            "anchoring",
            "--score",
            "3",
            "--comment",
            "ok",
            "--officer",
            "kari",
            "-f",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["rows"][0]["anchoring"] == 3


def test_every_call_command_is_documented() -> None:
    from pht.cli.call import app as call_app

    doc = (Path(__file__).resolve().parents[2] / "docs" / "call.md").read_text(encoding="utf-8")
    names = [c.name for c in call_app.registered_commands]
    assert names and all(f"pht call {n}" in doc for n in names), names
