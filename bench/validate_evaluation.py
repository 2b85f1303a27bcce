"""Monte-Carlo validation of the evaluation (``make validate``; not a test, not a benchmark).

Repeats generation and estimation over many seeds of a reduced pilot and prints, per indicator
with a known true effect: coverage of the 95% intervals, mean bias, and the rejection rate of the
5% test for null effects; for the ACSC admissions (acsc_admissions, and acsc_diabetes: E11 of type
2 diabetes patients) also the bias without Poisson noise (the estimator run on the generator's
expected rates, pht.evaluation.validation.noise_free). The data come from
the synthetic generator's pilot scenario (``pht.synth``, ``--source synth``, the default) or
its small ``panel`` scenario (``--source panel``). Every run is appended to ``--runs``
as it finishes, so a long validation can be read while it runs.

    .venv/bin/python bench/validate_evaluation.py --seeds 100 --persons 40000 --jobs 2

``--jobs`` runs seeds in that many processes (each holds one extract: about 1.3 GiB at 40,000
persons). ``--append`` keeps the runs already in ``--runs`` (to add seeds to a validation).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from pht.evaluation.validation import run_once, summarise


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--source", choices=("synth", "panel"), default="synth")
    ap.add_argument("--persons", type=int, default=40_000, help="listed persons (synth)")
    ap.add_argument("--years", default="2016-2021", help="years of the extract (synth)")
    ap.add_argument(
        "--effects",
        default="power",
        help="planted effects' profile (synth): power (default, detectable sizes) or published",
    )
    ap.add_argument("--runs", type=Path, default=Path("var/validation/runs.csv"))
    ap.add_argument("--jobs", type=int, default=1, help="seeds run in this many processes")
    ap.add_argument("--append", action="store_true", help="keep the runs already in --runs")
    args = ap.parse_args(argv)
    console = Console()
    first, last = (int(y) for y in args.years.split("-"))
    options = (
        {
            "scenario": "pilot",
            "years": (first, last),
            "persons": args.persons,
            "effects": args.effects,
        }
        if args.source == "synth"
        else {"persons_per_practice": 250}
    )
    args.runs.parent.mkdir(parents=True, exist_ok=True)
    if args.runs.exists() and not args.append:
        args.runs.unlink()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    t0, c0 = time.perf_counter(), time.process_time()

    def done(seed: int, rows: list[dict[str, object]]) -> None:
        header = not args.runs.exists()
        pd.DataFrame(rows).to_csv(args.runs, mode="a", header=header, index=False)
        console.print(f"seed {seed}: {len(rows)} indicators ({time.perf_counter() - t0:,.0f} s)")

    if args.jobs <= 1:
        for seed in seeds:
            done(seed, run_once(seed, source=args.source, sim_options=options))
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = {
                pool.submit(run_once, seed, source=args.source, sim_options=options): seed
                for seed in seeds
            }
            for fut in as_completed(futures):
                done(futures[fut], fut.result())
    wall = time.perf_counter() - t0
    t = os.times()
    cpu = time.process_time() - c0 + t.children_user + t.children_system
    console.print(f"{args.seeds} seeds in {wall:,.0f} s wall, {cpu:,.0f} s CPU (with workers)")
    runs = pd.read_csv(args.runs)
    summary = summarise(runs)
    n_seeds = runs["seed"].nunique()
    table = Table(title=f"Validation over {n_seeds} seeds ({args.source})")
    for col in (
        "indicator",
        "true_effect",
        "runs",
        "mean_estimate",
        "coverage",
        "rel_bias (MC SE)",
        "noise-free bias",
        "rejection_rate",
        "pretrend_rejection",
        "passes",
    ):
        table.add_column(col)
    for r in summary.to_dict(orient="records"):
        table.add_row(
            r["indicator"],
            f"{r['true_effect']:g}",
            str(r["runs"]),
            f"{r['mean_estimate']:.4g}",
            f"{r['coverage']:.2f}",
            "" if r["true_effect"] == 0 else f"{r['rel_bias']:+.1%} ({r['rel_bias_mc_se']:.1%})",
            "" if pd.isna(r["noise_free_rel_bias"]) else f"{r['noise_free_rel_bias']:+.1%}",
            f"{r['rejection_rate']:.2f}",
            f"{r['pretrend_rejection']:.2f}",
            "yes" if r["passes"] else "NO",
        )
    console.print(table)
    summary.to_csv(args.runs.with_name("summary.csv"), index=False)
    return 0 if bool(summary["passes"].all()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
