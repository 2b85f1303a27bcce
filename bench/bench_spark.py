"""The national pipeline on local Spark against DuckDB, in the same run, on a tenth of a nation.

1. A tenth of the national extract (PHT_BENCH_SPARK_FRACTION, default 0.1, of 5.5 million
   listed persons; one year, 2022) made by the project's generator (``pht.synth``, scenario
   ``national``), loaded into a warehouse (``pht.registry.load``) and exported to Parquet
   (``pht pipeline export``).
2. The whole pipeline (``pht.ops.pipeline.run_pipeline``: target groups, frailty, risk,
   annual checks, every worklist and the summary; both financing models and the comparison; the
   evaluation's indicators) on DuckDB from the warehouse file, then on Spark in local mode
   (PHT_BENCH_SPARK_MASTER, default ``local[2]``; driver memory PHT_BENCH_SPARK_MEMORY, default
   8g) from the Parquet export, each in a child process of its own so that the two do not share
   a heap. Both outputs are compared row count by row count.

Reported: seconds per step and in all on each backend, the ratio Spark / DuckDB, the CPU time
of each run (for Spark the Python driver's and the JVM's), the size of the Parquet export, and
the load average before and after (2 cores, shared: wall times mean little on a busy machine,
CPU time more).

    .venv/bin/python -m bench spark          (PHT_BENCH_SPARK_FRACTION=0.02 for a quick check)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NATIONAL = 5_500_000
FRACTION = float(os.environ.get("PHT_BENCH_SPARK_FRACTION", "0.1"))
MASTER = os.environ.get("PHT_BENCH_SPARK_MASTER", "local[2]")
MEMORY = os.environ.get("PHT_BENCH_SPARK_MEMORY", "8g")
YEAR = "2022"

_CHILD = """
import json, os, resource, sys, time
from pht.ops.pipeline import connect, run_pipeline, spark_session, write_result
backend, source, out, master, memory = sys.argv[1:6]
start = time.perf_counter()
jvm = None
if backend == "duckdb":
    from pht.registry.warehouse import Warehouse
    tables = Warehouse.open(source, read_only=True)
    tables.con.con.execute("SET threads = 2")
    session_s = 0.0
else:
    from pht.registry.parquet import parquet_tables
    session = spark_session(master=master, conf={"spark.driver.memory": memory})
    session.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - start
    jvm = session.sparkContext._gateway.proc.pid
    tables = parquet_tables(connect("spark", session=session), source)
result = run_pipeline(tables)
write_result(result, out)
total = time.perf_counter() - start
me = resource.getrusage(resource.RUSAGE_SELF)
cpu = me.ru_utime + me.ru_stime
if jvm is not None:  # the JVM is the Python process's child, not waited for: read its clock
    fields = open(f"/proc/{jvm}/stat").read().rsplit(")", 1)[1].split()
    cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
print(json.dumps({"seconds": result.seconds, "rows": result.rows(), "session": session_s,
                  "total": total, "cpu": cpu}))
"""


def _child(backend: str, source: str, out: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, backend, source, out, MASTER, MEMORY],
        capture_output=True,
        text=True,
        cwd=Path.cwd(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} run failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    figures: dict[str, object] = json.loads(line)
    return figures


def run() -> list[dict[str, object]]:
    from pht.registry.load import load_extract
    from pht.registry.parquet import export_parquet
    from pht.registry.warehouse import Warehouse
    from pht.synth import generate

    persons = round(NATIONAL * FRACTION)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="pht-bench-spark-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        made = generate("national", YEAR, 1, root / "extract", persons=persons)
        rows.append(
            {
                "what": "generate (pht.synth national)",
                "value": time.perf_counter() - start,
                "unit": "s",
            }
        )
        start = time.perf_counter()
        wh_path = root / "warehouse.duckdb"
        with Warehouse.open(wh_path) as wh:
            wh.init()
            report = load_extract(wh, root / "extract")
            if not report.imported:
                raise RuntimeError("the synthetic extract did not load")
            export_parquet(wh, root / "export")
        rows.append(
            {
                "what": "load into the warehouse + Parquet export",
                "value": time.perf_counter() - start,
                "unit": "s",
            }
        )
        rows.append({"what": "listed persons", "value": made.rows["persons"], "unit": "persons"})
        rows.append({"what": "contacts (one year)", "value": made.rows["contacts"], "unit": "rows"})
        export_mib = sum(f.stat().st_size for f in (root / "export").rglob("*.parquet")) / 2**20
        load_before = os.getloadavg()[0]
        duck = _child("duckdb", str(wh_path), str(root / "out-duckdb"))
        spark = _child("spark", str(root / "export"), str(root / "out-spark"))
        load_after = os.getloadavg()[0]
    if duck["rows"] != spark["rows"]:
        raise RuntimeError(f"the backends disagree: {duck['rows']} against {spark['rows']}")
    d_total, s_total = float(duck["total"]), float(spark["total"])  # type: ignore[arg-type]
    for step, seconds in duck["seconds"].items():  # type: ignore[attr-defined]
        s = spark["seconds"][step]  # type: ignore[index]
        rows.append({"what": f"{step}: DuckDB", "value": seconds, "unit": "s"})
        rows.append({"what": f"{step}: Spark {MASTER}", "value": s, "unit": "s"})
    rows += [
        {"what": "Spark session start", "value": spark["session"], "unit": "s"},
        {"what": "whole pipeline: DuckDB (2 threads)", "value": d_total, "unit": "s"},
        {"what": f"whole pipeline: Spark {MASTER} (incl. session)", "value": s_total, "unit": "s"},
        {"what": "ratio Spark / DuckDB (wall)", "value": s_total / d_total, "unit": "x"},
        {"what": "CPU time: DuckDB process", "value": duck["cpu"], "unit": "s"},
        {"what": "CPU time: Spark (Python driver + JVM)", "value": spark["cpu"], "unit": "s"},
        {"what": "export size (Parquet)", "value": export_mib, "unit": "MiB"},
        {"what": "load average (1 min) before", "value": load_before, "unit": "(2 cores)"},
        {"what": "load average (1 min) after", "value": load_after, "unit": "(2 cores)"},
        {
            "what": "worklist rows (equal on both)",
            "value": duck["rows"]["worklists"],
            "unit": "rows",
        },  # type: ignore[index]
    ]
    return rows
