"""Monte-Carlo validation of the evaluation (``make validate``; not a test, not a benchmark).

Repeats generation and estimation over many seeds of a reduced pilot and prints, per indicator
with a known true effect: coverage of the 95% intervals, mean bias, and the rejection rate of the
5% test for null effects. The data come from the registry's synthetic generator
(``pht.registry.synth``, ``--source synth``, the default) or from the evaluation's own simulator
(``--source simulate``). Every run is appended to ``--runs`` as it finishes, so a long validation
can be read while it runs.

    .venv/bin/python bench/validate_evaluation.py --seeds 50 --persons 10000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from pht.evaluation.validation import run_once, summarise


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--source", choices=("synth", "simulate"), default="synth")
    ap.add_argument("--persons", type=int, default=10_000, help="listed persons (synth)")
    ap.add_argument("--years", default="2016-2021", help="years of the extract (synth)")
    ap.add_argument("--runs", type=Path, default=Path("var/validation/runs.csv"))
    args = ap.parse_args(argv)
    console = Console()
    first, last = (int(y) for y in args.years.split("-"))
    options = (
        {"scenario": "pilot", "years": (first, last), "persons": args.persons}
        if args.source == "synth"
        else {"persons_per_practice": 250}
    )
    args.runs.parent.mkdir(parents=True, exist_ok=True)
    if args.runs.exists():
        args.runs.unlink()
    t0 = time.perf_counter()
    for i, seed in enumerate(range(args.first_seed, args.first_seed + args.seeds), start=1):
        rows = run_once(seed, source=args.source, sim_options=options)
        pd.DataFrame(rows).to_csv(args.runs, mode="a", header=(i == 1), index=False)
        console.print(f"seed {seed}: {len(rows)} indicators ({time.perf_counter() - t0:,.0f} s)")
    summary = summarise(pd.read_csv(args.runs))
    table = Table(title=f"Validation over {args.seeds} seeds ({args.source})")
    for col in (
        "indicator",
        "true_effect",
        "runs",
        "mean_estimate",
        "coverage",
        "rel_bias",
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
            "" if r["true_effect"] == 0 else f"{r['rel_bias']:.1%}",
            f"{r['rejection_rate']:.2f}",
            f"{r['pretrend_rejection']:.2f}",
            "yes" if r["passes"] else "NO",
        )
    console.print(table)
    summary.to_csv(args.runs.with_name("summary.csv"), index=False)
    return 0 if bool(summary["passes"].all()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
