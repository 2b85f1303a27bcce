"""Policy scenarios on the hand-worked scenario warehouse (tests/financing/scenario.py, 2021)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.core.money import Money
from pht.financing.compare import model_parts
from pht.financing.scenarios import load_scenarios, run_scenario
from pht.registry.warehouse import Warehouse

from .scenario import build_warehouse

runner = CliRunner()


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    return build_warehouse()


@pytest.fixture(scope="module")
def parts(wh: Warehouse):  # type: ignore[no-untyped-def]
    return model_parts(wh, 2021, use_population=False)


def test_meld_st_23_moves_10_points_to_the_basistilskudd_and_keeps_the_total(wh, parts) -> None:  # type: ignore[no-untyped-def]
    r = run_scenario(wh, parts, "meld-st-23")
    before, after = r.figure("basis_share_before"), r.figure("basis_share_after")
    assert after - before == Decimal("10.0")
    old = sum((row["total"] for row in r.rows), Money(0))
    new = sum((row["new_total"] for row in r.rows), Money(0))
    assert abs((new - old).amount) <= Decimal("0.01") * len(r.rows)  # rounding per practice
    for row in r.rows:  # per-capita up by one factor, activity down by another
        if row["per_capita"].amount:
            assert row["new_per_capita"] > row["per_capita"]
        if row["activity"].amount:
            assert row["new_activity"] < row["activity"]
    assert "prosentpoeng" in r.summary_nb and r.chart["mark"]["type"] == "bar"


def test_gps_or_teams_counts_the_hours_the_nurse_contacts_free(wh, parts) -> None:  # type: ignore[no-untyped-def]
    params = load_scenarios().parameters
    r = run_scenario(wh, parts, "fastleger-eller-team", municipality="4602")
    # Kinn's nurses: N1 two pht01 (consultations), N2 one 074a (consultation) and one 070 (simple)
    minutes = 3 * params.gp_minutes["consultation"] + params.gp_minutes["simple_contact"]
    hours = minutes * params.substitution / 60
    assert r.figure("gp_hours_freed") == hours.quantize(Decimal(1))
    assert r.figure("gp_fte_equivalent") == (hours / params.gp_hours_per_fte).quantize(
        Decimal("0.01")
    )
    assert r.figure("nurse_fte") == Decimal("2.00")
    assert all(row["kontakter"] == "<5" for row in r.rows)  # small counts are not shown
    # one row per contact type, with the GP minutes it is taken to replace
    assert [(row["kontakttype"], row["gp_minutter"]) for row in r.rows] == [
        ("konsultasjoner", params.gp_minutes["consultation"]),
        ("enkle kontakter", params.gp_minutes["simple_contact"]),
    ]
    assert "ingen målt effekt" in r.summary_nb


def test_teams_everywhere_gives_the_practice_without_nurses_the_norm(wh, parts) -> None:  # type: ignore[no-untyped-def]
    r = run_scenario(wh, parts, "team-overalt", municipality="4022")
    # Dalen (one GP list) gets 1/3 FTE; per FTE today's teams had 1.5 consultations, 0.5 simple
    assert r.figure("nurse_fte") == Decimal("0.33")
    assert r.figure("nurse_contacts") == (Decimal("0.33") * 2).quantize(Decimal(1))
    assert r.figure("nurse_cost") == Money(Decimal("0.33") * parts.inputs.rates.nurse.cost_per_fte)
    # the projected contacts by type, without GP minutes (this scenario shows no time per type)
    assert [set(row) for row in r.rows] == [{"kontakttype", "kontakter"}] * 2
    assert [row["kontakttype"] for row in r.rows] == ["konsultasjoner", "enkle kontakter"]


def test_the_cli_writes_the_chart_and_explains_an_unknown_scenario(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    build_warehouse(path).close()
    chart = tmp_path / "chart.json"
    result = runner.invoke(
        app,
        [
            "finance",
            "scenario",
            "meld-st-23",
            "-y",
            "2021",
            "-w",
            str(path),
            "--format",
            "json",
            "--chart",
            str(chart),
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["sources"] == ["INNST-460S"] and out["summary"]
    assert json.loads(chart.read_text(encoding="utf-8"))["mark"]["type"] == "bar"
    bad = runner.invoke(app, ["finance", "scenario", "nope", "-y", "2021", "-w", str(path)])
    assert bad.exit_code != 0 and "meld-st-23" in str(bad.exception)
