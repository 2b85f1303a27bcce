"""Population analytics at national scale: target groups, frailty, risk and every worklist.

1. National: a numpy-made warehouse of PHT_BENCH_PERSONS persons (default 5,500,000, one year of
   contacts; bench/population_data.py); the Ibis/DuckDB pipeline runs in a child process
   (DuckDB 2 threads) so its wall time and peak memory (max RSS) are its own.
2. Baseline: the same rules in plain pandas (bench/population_baseline.py) against the Ibis
   pipeline on a PHT_BENCH_BASELINE_PERSONS (default 300,000) sample; the ratio is reported.
3. Reference: hccpy's CMS-HCC scoring, persons per second, one person at a time as it is used.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

from bench.population_data import AS_OF, build

NATIONAL = int(os.environ.get("PHT_BENCH_PERSONS", "5500000"))
SAMPLE = int(os.environ.get("PHT_BENCH_BASELINE_PERSONS", "300000"))


def pipeline(db: str, out: str) -> dict[str, float]:
    """Target groups, frailty, risk, need and every practice's worklist, written to *out*."""
    from pht.population import PopulationView
    from pht.population.worklist import worklist_table
    from pht.registry import Warehouse

    t0 = time.perf_counter()
    wh = Warehouse.open(db, read_only=True)
    wh.con.con.execute("SET threads = 2")
    wh.con.con.execute("SET memory_limit = '6GB'")
    wh.con.con.execute("SET preserve_insertion_order = false")
    view = PopulationView(wh, AS_OF)
    counts = {
        "target_group_rows": int(view.target_groups.count().execute()),
        "frail_rows": int(view.frailty.filter(view.frailty.band != "fit").count().execute()),
        "risk_rows": int(view.risk.count().execute()),
    }
    wl = worklist_table(view)
    wh.con.to_parquet(wl, out)
    counts["worklist_rows"] = int(wh.con.con.execute(f"SELECT count(*) FROM '{out}'").fetchone()[0])
    counts["seconds"] = time.perf_counter() - t0
    return counts


def _child(db: str) -> tuple[dict[str, float], float]:
    out = str(Path(db).with_suffix(".worklist.parquet"))
    code = (
        "import json, sys; sys.path.insert(0, '.');"
        "from bench.bench_population import pipeline;"
        f"print(json.dumps(pipeline({db!r}, {out!r})))"
    )
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("{")][-1]
    figures = json.loads(line)
    figures["cpu_seconds"] = usage.ru_utime + usage.ru_stime - cpu0
    return figures, max(usage.ru_maxrss, before) / 1024 / 1024


def _baseline(db: str) -> tuple[float, float]:
    from bench.population_baseline import run_baseline
    from pht.population import PopulationView
    from pht.population.worklist import worklist_table
    from pht.registry import TABLES, Warehouse

    wh = Warehouse.open(db, read_only=True)  # left open: the view's cached tables end with it
    if True:
        wh.con.con.execute("SET threads = 2")
        t0 = time.perf_counter()
        view = PopulationView(wh, AS_OF)
        view.target_groups.count().execute()
        worklist_table(view).execute()
        ibis_s = time.perf_counter() - t0
        frames = {name: wh.table(name).to_pandas() for name in TABLES}
        t0 = time.perf_counter()
        run_baseline(frames, AS_OF, view.vs, view.risk_model, view.need_model)
        pandas_s = time.perf_counter() - t0
    return ibis_s, pandas_s


def _hccpy_rate(persons: int = 20000) -> float:
    if "pkg_resources" not in sys.modules:  # hccpy imports pkg_resources (setuptools) for paths
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package: str, name: str) -> str:
            return os.path.join(os.path.dirname(importlib.import_module(package).__file__), name)

        shim.resource_filename = resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    import numpy as np
    from hccpy.hcc import HCCEngine

    engine = HCCEngine()
    rng = np.random.default_rng(3)
    codes = ["E119", "I509", "J449", "I10", "I489", "F329", "F209", "I251", "F03", "N184"]
    people = [
        (
            list(rng.choice(codes, size=int(rng.integers(0, 4)), replace=False)),
            int(rng.integers(65, 95)),
            "F" if rng.random() < 0.5 else "M",
        )
        for _ in range(persons)
    ]
    t0 = time.perf_counter()
    for dx, age, sex in people:
        engine.profile(dx, age=age, sex=sex)
    return persons / (time.perf_counter() - t0)


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="pht-bench-pop-") as tmp:
        db = str(Path(tmp) / "national.duckdb")
        t0 = time.perf_counter()
        sizes = build(Path(db), NATIONAL)
        rows.append(
            {
                "what": "national: build synthetic warehouse (numpy)",
                "value": time.perf_counter() - t0,
                "unit": "s",
            }
        )
        rows.append({"what": "national: persons", "value": sizes["persons"], "unit": "persons"})
        rows.append(
            {"what": "national: contacts (one year)", "value": sizes["contacts"], "unit": "rows"}
        )
        load_before = os.getloadavg()[0]
        figures, peak_gib = _child(db)
        load_after = os.getloadavg()[0]
        rows.append(
            {
                "what": "national: target groups + frailty + risk + all worklists",
                "value": figures["seconds"],
                "unit": "s",
            }
        )
        rows.append(
            {"what": "national: CPU time of the run", "value": figures["cpu_seconds"], "unit": "s"}
        )
        rows.append(
            {
                "what": "national: persons per second (wall)",
                "value": sizes["persons"] / figures["seconds"],
                "unit": "persons/s",
            }
        )
        rows.append(
            {
                "what": "national: load average (1 min) before the run",
                "value": load_before,
                "unit": "",
            }
        )
        rows.append(
            {
                "what": "national: load average (1 min) after the run",
                "value": load_after,
                "unit": "",
            }
        )
        rows.append(
            {"what": "national: peak memory (max RSS of the run)", "value": peak_gib, "unit": "GiB"}
        )
        rows.append(
            {"what": "national: worklist rows", "value": figures["worklist_rows"], "unit": "rows"}
        )
        rows.append(
            {
                "what": "national: target-group memberships",
                "value": figures["target_group_rows"],
                "unit": "rows",
            }
        )
        sample = str(Path(tmp) / "sample.duckdb")
        build(Path(sample), SAMPLE, seed=2)
        ibis_s, pandas_s = _baseline(sample)
        rows.append(
            {"what": f"sample {SAMPLE:,}: Ibis/DuckDB pipeline", "value": ibis_s, "unit": "s"}
        )
        rows.append(
            {
                "what": f"sample {SAMPLE:,}: pandas baseline, same rules",
                "value": pandas_s,
                "unit": "s",
            }
        )
        rows.append({"what": "pandas time / Ibis time", "value": pandas_s / ibis_s, "unit": "x"})
    rows.append(
        {"what": "hccpy CMS-HCC scoring (reference)", "value": _hccpy_rate(), "unit": "persons/s"}
    )
    return rows


if __name__ == "__main__":
    for r in run():
        print(f"{r['what']}: {r['value']:,.2f} {r['unit']}")
    _ = dt
