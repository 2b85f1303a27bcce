"""Synthetic data generator: the national scenario (one year) and the pilot (2015-2023).

Each run happens in a child process under ``/usr/bin/time -v`` (when the machine has it), so the
figures are the whole command's wall-clock time, CPU time and peak memory (maximum resident set).
Targets (issue 3): national one year <= 120 s and <= 8 GiB; pilot 2015-2023 <= 30 s, on 2 cores.
Set PHT_BENCH_SYNTH_PERSONS to scale the national run down (e.g. 500000) on a small machine.
The machine's load average at the start and at the end of each run is reported beside it:
wall-clock figures mean little on a busy machine.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

_SCRIPT = (
    "import sys; from pht.tuning import tune_process; from pht.synth import generate; "
    "tune_process(); "
    "n = int(sys.argv[4]) if sys.argv[4] != '0' else None; "
    "generate(sys.argv[1], sys.argv[2], 1, sys.argv[3], persons=n)"
)


def _env() -> dict[str, str]:
    """The child's environment: byte code may be cached, as in any normal installation."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(scenario: str, years: str, persons: int | None) -> dict[str, float]:
    out = tempfile.mkdtemp(prefix=f"pht-bench-{scenario}-")
    try:
        cmd = [sys.executable, "-c", _SCRIPT, scenario, years, out, str(persons or 0)]
        # Warm up once so that compiled byte code exists (not part of the figures).
        subprocess.run([sys.executable, "-c", "import pht.synth"], env=_env(), check=True)
        timer = shutil.which("time") and os.path.exists("/usr/bin/time")
        t0 = time.perf_counter()
        if timer:
            proc = subprocess.run(
                ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=_env()
            )
        else:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=_env())
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        if timer:
            text = proc.stderr
            user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
            system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
            peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
        else:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            user, system, peak_kib = usage.ru_utime, usage.ru_stime, usage.ru_maxrss
        return {"wall": wall, "cpu": user + system, "peak_gib": peak_kib / 1024**2}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run() -> list[dict[str, object]]:
    persons = int(os.environ.get("PHT_BENCH_SYNTH_PERSONS", "0")) or None
    rows: list[dict[str, object]] = []
    for label, scenario, years, n in (
        ("pilot 2015-2023", "pilot", "2015-2023", None),
        (
            "national one year" + (f" ({persons:,} persons)" if persons else ""),
            "national",
            "2023",
            persons,
        ),
    ):
        load = os.getloadavg()[0]
        r = _run(scenario, years, n)
        rows.append({"what": f"{label}: wall-clock", "value": r["wall"], "unit": "s"})
        rows.append({"what": f"{label}: CPU (user + system)", "value": r["cpu"], "unit": "s"})
        rows.append({"what": f"{label}: peak memory", "value": r["peak_gib"], "unit": "GiB"})
        rows.append({"what": f"{label}: load average (1 min) at start", "value": load, "unit": ""})
        rows.append(
            {
                "what": f"{label}: load average (1 min) at end",
                "value": os.getloadavg()[0],
                "unit": "",
            }
        )
    return rows
