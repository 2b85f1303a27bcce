"""`pht finance` on the scenario warehouse: compare, calibrate, what-if and roll-out."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.financing.compare import model_parts
from pht.financing.rollout import rollout
from pht.reference import load_scheme_rules

from .scenario import P1, P2, build_warehouse

runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    build_warehouse(path).close()
    return path


def _run(*args: str) -> str:
    result = runner.invoke(app, ["finance", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_compare_lists_the_scheme_practices_with_both_models(
    warehouse: Path, tmp_path: Path
) -> None:
    chart = tmp_path / "chart.json"
    out = _run(
        "compare",
        "--year",
        "2021",
        "-w",
        str(warehouse),
        "--format",
        "json",
        "--no-population",
        "--chart",
        str(chart),
    )
    data = json.loads(out)
    ids = [p["practice_id"] for p in data["practices"]]
    assert ids == [P1, P2]  # the practices with a financing model
    for p in data["practices"]:
        assert Decimal(p["grant_model"]) - Decimal(p["fee_model"]) == Decimal(p["difference"])
        assert Decimal(p["fee_model"]) > 0 and Decimal(p["grant_model"]) > 0
    spec = json.loads(chart.read_text())
    assert spec["comparison"]["$schema"].startswith("https://vega.github.io/schema/vega-lite")


def test_compare_table_and_csv(warehouse: Path) -> None:
    csv_out = _run("compare", "-y", "2021", "-w", str(warehouse), "-f", "csv", "--no-population")
    header, *lines = csv_out.strip().splitlines()
    assert header.startswith("practice_id,practice,") and len(lines) == 2
    table = _run("compare", "-y", "2021", "-w", str(warehouse), "--no-population")
    assert "Honorarmodell og driftstilskuddsmodell 2021" in table


def test_an_unknown_practice_is_a_clear_error(warehouse: Path) -> None:
    result = runner.invoke(
        app,
        ["finance", "compare", "-y", "2021", "-w", str(warehouse), "-p", "123456785"],
    )
    assert result.exit_code != 0
    assert "123456785" in str(result.exception)


def test_calibrate_and_whatif(warehouse: Path) -> None:
    cal = json.loads(
        _run("calibrate", "-y", "2021", "-w", str(warehouse), "-f", "json", "--no-population")
    )
    assert cal["practices"] == 2
    assert abs(Decimal(cal["residual"])) < 1
    what = json.loads(
        _run(
            "whatif",
            "-y",
            "2021",
            "-w",
            str(warehouse),
            "-f",
            "json",
            "--no-population",
            "--list-size",
            "1.5",
        )
    )
    for row in what["rows"]:
        assert Decimal(row["fee_model_whatif"]) > Decimal(row["fee_model"])


def test_rollout_per_municipality(warehouse: Path) -> None:
    from pht.registry.warehouse import Warehouse

    with Warehouse.open(warehouse, read_only=True) as wh:
        result = rollout(wh, model_parts(wh, 2021), cost_per_fte=Decimal("800000"))
    by_code = {m.municipality_code: m for m in result.municipalities}
    kinn = by_code["4602"]
    # P1 and P2 have one GP list each: the norm asks 1/3 FTE per list, to 0.01 FTE
    norm = load_scheme_rules().staffing_norm
    assert kinn.nurse_fte == 2 * norm.required_fte(1) == Decimal("0.66")
    assert kinn.nurse_cost.amount == Decimal("528000.00")
    # two GPs all year; the pilot's last rate (134,000 / 26,000) continues in a roll-out
    assert kinn.funds_to_practices.amount == Decimal("268000.00")
    assert kinn.funds_to_municipality.amount == Decimal("52000.00")
    totals = result.totals()
    assert totals["practices"] == 3 and totals["gp_lists"] == 3
    out = json.loads(_run("rollout", "-y", "2021", "-w", str(warehouse), "-f", "json"))
    assert len(out["municipalities"]) == 2
