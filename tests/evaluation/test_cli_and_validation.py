"""`pht evaluate` at the command line, and a small run of the Monte-Carlo validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.evaluation.validation import run_once, summarise
from pht.registry.warehouse import Warehouse
from pht.synth.panel import SimulatedExtract

runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse_file(
    tmp_path_factory: pytest.TempPathFactory, small_extract: SimulatedExtract
) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("wh")
    path = folder / "w.duckdb"
    with Warehouse.open(path) as wh:
        small_extract.write(wh)
    truth = small_extract.write_truth(folder / "truth")
    return path, truth


def test_indicators_lists_the_definitions() -> None:
    result = runner.invoke(app, ["evaluate", "indicators", "--format", "json"])
    assert result.exit_code == 0, result.output
    names = {r["name"] for r in json.loads(result.output)["rows"]}
    assert {"nurse_consultations", "acsc_admissions", "satisfaction", "cost_per_listed"} <= names


def test_indicator_values_are_published_suppressed(warehouse_file: tuple[Path, Path]) -> None:
    path, truth = warehouse_file
    args = ["evaluate", "indicators", "-i", "ltc_entry", "-w", str(path), "--truth", str(truth)]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert rows and {"practice_id", "quarter", "target_group", "n", "value"} <= set(rows[0])
    assert any(r["suppressed"] for r in rows)
    assert all(r["suppressed"] or r["n"] >= 5 for r in rows)


def test_did_estimates_a_planted_effect(warehouse_file: tuple[Path, Path]) -> None:
    path, truth = warehouse_file
    result = runner.invoke(
        app,
        [
            "evaluate",
            "did",
            "-i",
            "satisfaction",
            "-w",
            str(path),
            "--truth",
            str(truth),
            "--event",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    est = data["estimates"][0]
    assert est["split"] == "all" and est["ci_low"] < 0.2 < est["ci_high"]
    assert data["event_study"]


def test_did_with_an_unknown_indicator_is_one_clear_error(
    warehouse_file: tuple[Path, Path],
) -> None:
    path, _ = warehouse_file
    result = runner.invoke(app, ["evaluate", "did", "-i", "nope", "-w", str(path)])
    assert result.exit_code != 0
    assert "unknown indicator" in str(result.exception or result.output)


def test_a_small_validation_run_recovers_the_planted_effects() -> None:
    rows = []
    for seed in (1, 2):
        rows += run_once(
            seed,
            sim_options={
                "pilot_practices": 6,
                "comparison_practices": 10,
                "persons_per_practice": 150,
                "years": 5,
            },
            indicators=["nurse_consultations", "satisfaction", "gp_consultations"],
        )
    import pandas as pd

    summary = summarise(pd.DataFrame(rows)).set_index("indicator")
    assert summary.loc["nurse_consultations", "runs"] == 2
    for name, row in summary.iterrows():
        assert abs(row["mean_bias"]) < 4 * row["mean_se"], name
    assert {"rel_bias_mc_se", "pretrend_rejection", "bias_mc_se"} <= set(summary.columns)


def test_a_validation_run_on_the_registry_generator_reads_the_manifest() -> None:
    # one seed of make validate's source: the registry's generator at a few thousand persons;
    # the true effects come from its manifest.json, the estimates are near them
    rows = run_once(
        3,
        source="synth",
        sim_options={"scenario": "pilot", "years": (2016, 2021), "persons": 3000},
        indicators=["nurse_consultations", "out_of_hours", "acsc_admissions", "acsc_diabetes"],
    )
    got = {r["indicator"]: r for r in rows}
    assert set(got) == {"nurse_consultations", "out_of_hours", "acsc_admissions", "acsc_diabetes"}
    assert got["nurse_consultations"]["true_effect"] > 0
    assert got["out_of_hours"]["true_effect"] == 0
    for r in rows:
        assert abs(r["estimate"] - r["true_effect"]) < 4 * r["se"], r["indicator"]
    # nurses have no contacts before the start, so only out-of-hours has a pre-trend test
    assert got["out_of_hours"]["pretrend_p"] is not None
    # ACSC admissions are also estimated on the generator's expected rates (truth/): the sample's
    # true effect is the manifest's (the estimation sample is the generator's treated set), and
    # without Poisson noise the estimate lands near it in a single seed (the drawn admissions
    # have a standard error twice the effect at this size)
    acsc = got["acsc_admissions"]
    assert acsc["truth_sample"] == pytest.approx(acsc["true_effect"], rel=1e-4)
    assert abs(acsc["estimate_noise_free"] - acsc["truth_sample"]) < 0.3 * abs(acsc["true_effect"])
    assert abs(acsc["estimate_no_effect"]) < 0.3 * abs(acsc["true_effect"])
    assert acsc["estimate_noise_free"] != pytest.approx(acsc["estimate"], abs=1e-6)
    # acsc_diabetes: the manifest's true effect is what the indicator measures. Its population
    # (type 2 diabetes patients, T90) and numerator (E11) are where the generator plants the
    # effect, so the planted change over the indicator's treated cells is the manifest's figure
    # (read per target-group patient, as before, it was an eighth of the planted figure)
    dm = got["acsc_diabetes"]
    assert dm["true_effect"] < 0
    assert dm["truth_sample"] == pytest.approx(dm["true_effect"], rel=1e-4)
    assert abs(dm["estimate_noise_free"] - dm["true_effect"]) < 0.1 * abs(dm["true_effect"])
    assert abs(dm["estimate_no_effect"]) < 0.1 * abs(dm["true_effect"])
