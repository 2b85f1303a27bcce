"""Monte-Carlo validation: repeat generation and estimation, check coverage, bias and size.

For every seed a reduced pilot is drawn by the synthetic generator (:mod:`pht.synth`: its small
``panel`` scenario, or its ``pilot`` scenario scaled down), loaded into an in-memory warehouse,
and every indicator with a known true effect is estimated with the study's default estimator.
The summary has, per indicator: the true effect, the share of runs whose 95% interval covers
it, the mean bias (and relative to the effect) and, for null effects, how often the 5% test
rejects.

Targets (issue 8): planted effects covered in 90-99% of runs with |mean bias| < 10% of the
effect; null effects rejected in at most 10% of runs.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pht.evaluation import did
from pht.evaluation.indicators import _qidx, load_indicators
from pht.evaluation.study import Study
from pht.registry.warehouse import Warehouse
from pht.synth.panel import simulate_extract

__all__ = [
    "COVERAGE_RANGE",
    "EXPECTED_RATES",
    "MAX_NULL_REJECTION",
    "MAX_REL_BIAS",
    "noise_free",
    "run_once",
    "summarise",
    "validate",
]

COVERAGE_RANGE = (0.90, 0.99)
MAX_REL_BIAS = 0.10
MAX_NULL_REJECTION = 0.10


def _estimate_all(
    study: Study,
    effects: dict[str, float],
    estimator: str | None,
    only: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    known = load_indicators()
    wanted = set(only) if only is not None else None
    rows = []
    for name, truth in effects.items():
        if name not in known or (wanted is not None and name not in wanted):
            continue
        est = study.estimate(known[name], estimator=estimator)[0]
        rows.append(
            {
                "indicator": name,
                "true_effect": truth,
                "estimate": est.att,
                "se": est.se,
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "p_value": est.p_value,
                "pretrend_p": est.event.pretrend_p if est.event else None,
            }
        )
    return rows


def run_once(
    seed: int,
    *,
    source: str = "panel",
    estimator: str | None = None,
    sim_options: dict[str, Any] | None = None,
    indicators: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Draw one extract with *seed*, estimate every planted indicator; one row per indicator."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if source == "panel":
            ex = simulate_extract(seed, **(sim_options or {}))
            with Warehouse.open(":memory:") as wh:
                ex.write(wh)
                study = Study.open(
                    wh,
                    first_quarter=ex.first_quarter,
                    last_quarter=ex.last_quarter,
                    targets=ex.targets,
                )
                rows = _estimate_all(study, ex.effects, estimator, indicators)
                study.release()
        elif source == "synth":
            rows = _run_synth(seed, estimator, sim_options or {}, indicators)
        else:
            raise ValueError(f"unknown source {source!r}")
    for r in rows:
        r["seed"] = seed
    return rows


def _run_synth(
    seed: int,
    estimator: str | None,
    options: dict[str, Any],
    indicators: Iterable[str] | None,
) -> list[dict[str, Any]]:
    from pht.registry.load import load_extract
    from pht.synth import generate

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "extract"
        generate(
            options.get("scenario", "pilot"),
            options.get("years", (2016, 2021)),
            seed,
            out,
            persons=options.get("persons"),
            # the power profile by default: the published profile's effects are too small (or
            # nil) for coverage and bias to be measured; the nulls are null in both
            effects=options.get("effects", "power"),
        )
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        effects = {e["indicator"]: float(e["true_effect"]) for e in manifest["effects"]}
        with Warehouse.open(":memory:") as wh:
            wh.init()
            report = load_extract(wh, out)
            if not report.ok:
                raise RuntimeError(f"the generated extract did not load: {report}")
            study = Study.open(wh, truth_dir=out / "truth")
            rows = _estimate_all(study, effects, estimator, indicators)
            for r in rows:
                if r["indicator"] in EXPECTED_RATES:
                    r.update(noise_free(study, out / "truth", estimator, r["indicator"]) or {})
            study.release()
            return rows


#: Indicators whose expected rates with and without the team are in truth/person_quarters
#: (columns with the team, without it).
EXPECTED_RATES = {
    "acsc_admissions": ("acsc_expected", "acsc_counterfactual"),
    "acsc_diabetes": ("acsc_diabetes_expected", "acsc_diabetes_counterfactual"),
}


def noise_free(
    study: Study,
    truth_dir: Path,
    estimator: str | None,
    indicator: str = "acsc_admissions",
) -> dict[str, float] | None:
    """An ACSC indicator estimated on the generator's expected rates instead of drawn admissions.

    ``truth/person_quarters`` holds each person-quarter's expected ACSC admissions with the team
    (``acsc_expected``; E11 only: ``acsc_diabetes_expected``) and without it
    (``..._counterfactual``, the same where not treated). The estimator run on the expected
    rates sees no Poisson noise, so its distance from the true effect over the same sample's
    treated cells of the indicator's population (``truth_sample``) is its systematic error in
    one seed, where the drawn admissions need many seeds to show it. Run on the counterfactual
    rates (no effect at all) it shows what differing trends of pilot and comparison practices
    add. None when the truth has no expected rates for *indicator*.
    """
    with_team, without = EXPECTED_RATES[indicator]
    path = Path(truth_dir) / "person_quarters.parquet"
    if not path.exists() or with_team not in pq.read_schema(path).names:
        return None
    cols = ["person_id", "quarter_start", with_team, without]
    truth = ibis.memtable(pq.read_table(path, columns=cols))
    ind = load_indicators()[indicator]
    got: dict[str, float] = {}
    cells: dict[str, pd.DataFrame] = {}
    for col, key in ((with_team, "noise_free"), (without, "no_effect")):
        rates = truth.select("person_id", q=_qidx(truth.quarter_start), y=truth[col])
        cells[key] = study.cells(ind, outcome=rates)
        name = estimator or study.default_estimator
        kw = {} if name == "twfe" else {"pretrend": False}  # the static TWFE has no event study
        got[f"estimate_{key}"] = did.fit(cells[key], name, indicator=ind.name, **kw).att
    done = cells["noise_free"]["treated"] > 0
    effect = cells["noise_free"]["y_sum"][done].sum() - cells["no_effect"]["y_sum"][done].sum()
    got["truth_sample"] = float(effect / cells["noise_free"]["n"][done].sum())
    return got


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Coverage, bias and rejection per indicator, with a pass flag against the targets."""
    rows = []
    for name, g in runs.groupby("indicator", sort=False):
        truth = float(g["true_effect"].iloc[0])
        covered = ((g["ci_low"] <= truth) & (truth <= g["ci_high"])).mean()
        bias = float((g["estimate"] - truth).mean())
        reject = float((g["p_value"] < 0.05).mean())
        planted = truth != 0
        # signed: below zero when the estimates fall short of the effect's size
        rel = bias / truth if planted else float("nan")
        ok = (
            COVERAGE_RANGE[0] <= covered <= COVERAGE_RANGE[1] and abs(rel) < MAX_REL_BIAS
            if planted
            else reject <= MAX_NULL_REJECTION
        )
        rows.append(
            {
                "indicator": name,
                "true_effect": truth,
                "runs": len(g),
                "mean_estimate": float(g["estimate"].mean()),
                "mean_se": float(g["se"].mean()),
                "sd_estimate": float(g["estimate"].std(ddof=1)) if len(g) > 1 else float("nan"),
                "coverage": float(covered),
                "mean_bias": bias,
                # Monte-Carlo error of the mean bias: below ~10% of the effect only with enough
                # runs or precise estimates; a bias within 2 of these is noise, not bias
                "bias_mc_se": float(g["estimate"].std(ddof=1) / np.sqrt(len(g)))
                if len(g) > 1
                else float("nan"),
                "rel_bias": rel,
                "rel_bias_mc_se": float(g["estimate"].std(ddof=1) / np.sqrt(len(g)) / abs(truth))
                if planted and len(g) > 1
                else float("nan"),
                "noise_free_rel_bias": _noise_free_bias(g, truth),
                "rejection_rate": reject,
                "pretrend_rejection": float((g["pretrend_p"].astype(float) < 0.05).mean()),
                "passes": bool(ok),
            }
        )
    return pd.DataFrame(rows)


def _noise_free_bias(runs: pd.DataFrame, truth: float) -> float:
    """Mean bias of the noise-free estimates against each seed's sample truth, / the effect."""
    if "estimate_noise_free" not in runs.columns or truth == 0:
        return float("nan")
    ok = runs["estimate_noise_free"].notna()
    if not ok.any():
        return float("nan")
    gap = runs.loc[ok, "estimate_noise_free"] - runs.loc[ok, "truth_sample"]
    return float(gap.mean() / truth)


def validate(
    seeds: Iterable[int],
    *,
    source: str = "panel",
    estimator: str | None = None,
    sim_options: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    indicators: Iterable[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every seed; return (all runs, summary)."""
    rows: list[dict[str, Any]] = []
    only = list(indicators) if indicators is not None else None
    for seed in seeds:
        rows += run_once(
            seed, source=source, estimator=estimator, sim_options=sim_options, indicators=only
        )
        if progress:
            progress(seed)
    runs = pd.DataFrame(rows)
    return runs, summarise(runs)
