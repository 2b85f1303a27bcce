"""`pht population worklist/summary/calibrate`, and calibration recovering planted effects."""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.population.calibrate import calibrate
from pht.reference.value_sets import default_data_dir, load_model
from tests.population.builder import Population
from tests.population.conftest import World

runner = CliRunner()


@pytest.fixture(scope="module")
def world_file(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    world.wh.con.con.execute(f"ATTACH '{path}' AS f")
    world.wh.con.con.execute("COPY FROM DATABASE memory TO f")
    world.wh.con.con.execute("DETACH f")
    return path


@pytest.mark.django_db
def test_worklist_json_and_csv(world: World, world_file: Path) -> None:
    args = ["population", "worklist", "-p", world.practice, "-w", str(world_file)]
    result = runner.invoke(app, [*args, "--as-of", "2023-01-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert rows[0]["rank"] == 1 and rows[0]["person_id"] == world.bjorn
    # (the models on file decide the rest, e.g. whether he is also a weak demander)
    assert {"chronic_disease", "frail_elderly"} <= set(rows[0]["target_groups"])
    assert rows[0]["target_groups"] == sorted(rows[0]["target_groups"])
    result = runner.invoke(
        app, [*args, "--as-of", "2023-01-01", "--member", world.gp2, "-l", "en", "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("person_id,practice_id,gp_id,priority,rank,reasons")
    assert lines[1].startswith(f"{world.dina},{world.practice},{world.gp2},")
    assert ",2022-11-20" in lines[1]  # last GP contact, a plain date
    assert all(world.gp2 in line for line in lines[1:])
    result = runner.invoke(app, [*args, "--as-of", "2023-01-01"])
    assert result.exit_code == 0 and "Arbeidsliste" in result.output
    # every print of identified patient data is audited (the OS user, or the pht user of --as)
    from pht.app.audit.models import AuditEntry

    entries = AuditEntry.objects.filter(action="worklist.view", practice_id=world.practice)
    assert entries.count() == 3 and all(e.username.startswith("os:") for e in entries)


@pytest.mark.django_db
def test_summary_and_a_user_error(world: World, world_file: Path) -> None:
    result = runner.invoke(
        app, ["population", "summary", "-w", str(world_file), "--as-of", "2023-01-01", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert {"practice_id": world.practice, "measure": "listed", "name": "all", "persons": 6} in rows
    bad = runner.invoke(app, ["population", "worklist", "-p", "123456785", "-w", str(world_file)])
    assert bad.exit_code != 0


def _planted(tmp: Path) -> Path:
    """1,000 persons over three years: heart failure (K77) quadruples the odds of an emergency
    admission; diabetes (T90) doubles GP contacts."""
    rnd = random.Random(5)
    b = Population()
    p = b.practice()
    gp = b.practitioner("1000001", p)
    for i in range(1000):
        person = b.person(
            f"19{40 + i % 50:02d}-0{1 + i % 9}-1{i % 9}", "F" if i % 2 else "M", gp=gp
        )
        hf, dm = rnd.random() < 0.25, rnd.random() < 0.3
        for year in (2021, 2022, 2023):
            codes = " ".join(c for c, on in (("K77", hf), ("T90", dm)) if on)
            b.contact(person, f"{year}-01-0{1 + i % 9}", codes, "2ad", practitioner=gp, practice=p)
            for k in range(int(rnd.expovariate(1 / (3.0 if dm else 1.5)))):
                b.contact(
                    person, f"{year}-{2 + k % 10:02d}-15", "", "2ad", practitioner=gp, practice=p
                )
            if year > 2021 and rnd.random() < 1 / (1 + math.exp(-(-2.5 + (1.39 if hf else 0.0)))):
                b.admission(person, f"{year}-06-01", "R55")
    b.contact(person, "2023-12-31", "", "2ad", practitioner=gp, practice=p)  # data end
    path = tmp / "planted.duckdb"
    wh = b.warehouse()
    wh.con.con.execute(f"ATTACH '{path}' AS f")
    wh.con.con.execute("COPY FROM DATABASE memory TO f")
    wh.close()
    return path


def test_calibrate_recovers_planted_effects_and_writes_versions(tmp_path: Path) -> None:
    from pht.registry import Warehouse

    models = tmp_path / "models"
    shutil.copytree(default_data_dir() / "models", models)
    before = max(int(p.stem.split("-v")[1]) for p in models.glob("admission_risk-v*.toml"))
    with Warehouse.open(_planted(tmp_path)) as wh:
        result = calibrate(wh, models_dir=models, estimated_from="planted test data")
    assert result.figures["split"] == "2023-01-01"
    assert result.risk.coefficients["cond_heart_failure"] == pytest.approx(1.39, abs=0.45)
    assert result.need.coefficients["cond_diabetes"] == pytest.approx(math.log(2), abs=0.3)
    assert result.figures["admission_risk"]["auc"] > 0.6
    assert 0.8 < result.figures["admission_risk"]["observed_over_expected"] < 1.25
    new = load_model("admission_risk", directory=models)
    assert new.version == before + 1 and new.status == "D"
    assert new.data_period.features_before.isoformat() == "2022-01-01"
    assert len(result.written) == 2
