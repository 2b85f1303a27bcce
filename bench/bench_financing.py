"""Both financing models for a national year: about 5.5 million persons, 30 million claims.

Generates its own national-size warehouse with DuckDB SQL (deterministic hashes, not the
synthetic generator): 356 municipalities, 1,700 practices, 4,900 GPs and 300 nurses,
5,500,000 listed persons (2 % changing GP on 1 July), 30,000,000 claims in 2021 with the usual
mix of tariff codes (consultations, time supplements, e-consultations, simple contacts, home
visits, samples, nurse codes). Times the set-based work of both models (listed days, claim
lines, pricing under both models, the ceiling, per-practice sums) and the assembly in Python.
Set PHT_BENCH_PERSONS / PHT_BENCH_CONTACTS to scale down. The warehouse is generated in a
child process, so the peak memory reported is the model run's. Run the national size under
the machine's national-size lock: ``flock /work/notes/national.lock .venv/bin/python -m bench
financing``.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

from pht.financing.compare import compare_parts, model_parts
from pht.registry.warehouse import Warehouse

PERSONS = int(os.environ.get("PHT_BENCH_PERSONS", "5500000"))
CONTACTS = int(os.environ.get("PHT_BENCH_CONTACTS", "30000000"))
PRACTICES = 1_700
GPS = 4_900
NURSES = 300
YEAR = 2021

_TARIFFS = (
    "['2ad', '2ad', '2ad', '2ad 2cd', '2ad 701a', '2ae', '2ae', '1ad', '1bd', '1g', "
    "'2ak', '11ad', '1f', '2ad 2dd', 'pht01', '14']"
)


def _generate(wh: Warehouse) -> None:
    con = wh.con.con
    con.execute(
        "INSERT INTO municipalities SELECT lpad(CAST(1000 + i AS VARCHAR), 4, '0'), "
        "'Kommune ' || i, 15000, 1 + i % 6 FROM range(356) t(i)"
    )
    con.execute(
        f"INSERT INTO practices SELECT CAST(900000000 + i AS VARCHAR), 'Legekontor ' || i, "
        f"lpad(CAST(1000 + i % 356 AS VARCHAR), 4, '0'), NULL, "
        f"CASE WHEN i % 10 = 0 THEN 'grant' ELSE 'fee' END, DATE '2018-04-01', NULL "
        f"FROM range({PRACTICES}) t(i)"
    )
    con.execute(
        f"INSERT INTO practitioners SELECT CAST(1000000 + i AS VARCHAR), "
        f"CAST(900000000 + i % {PRACTICES} AS VARCHAR), 'gp', 1.0, DATE '2010-01-01', NULL, "
        f"NULL FROM range({GPS}) t(i)"
    )
    con.execute(
        f"INSERT INTO practitioners SELECT CAST(2000000 + i AS VARCHAR), "
        f"CAST(900000000 + i * 5 % {PRACTICES} AS VARCHAR), 'nurse', 1.0, DATE '2018-04-01', "
        f"NULL, NULL FROM range({NURSES}) t(i)"
    )
    con.execute(
        f"INSERT INTO persons SELECT 'p' || i, DATE '1922-01-01' + CAST(hash(i) % 36500 AS INT), "
        f"CASE WHEN hash(i * 7) % 2 = 0 THEN 'F' ELSE 'M' END, "
        f"lpad(CAST(1000 + (i % {GPS}) % {PRACTICES} % 356 AS VARCHAR), 4, '0'), "
        f"CASE WHEN hash(i * 13) % 200 = 0 THEN DATE '2021-01-01' + CAST(hash(i) % 365 AS INT) "
        f"END FROM range({PERSONS}) t(i)"
    )
    # one membership per person; 2 % move to another GP on 1 July
    con.execute(
        f"INSERT INTO list_memberships SELECT 'p' || i, CAST(1000000 + i % {GPS} AS VARCHAR), "
        f"DATE '2015-01-01', CASE WHEN i % 50 = 0 THEN DATE '2021-06-30' END "
        f"FROM range({PERSONS}) t(i)"
    )
    con.execute(
        f"INSERT INTO list_memberships SELECT 'p' || i, "
        f"CAST(1000000 + (i + 1) % {GPS} AS VARCHAR), DATE '2021-07-01', NULL "
        f"FROM range({PERSONS}) t(i) WHERE i % 50 = 0"
    )
    con.execute(
        f"""INSERT INTO contacts
        SELECT 'c' || i, 'p' || person,
               CASE WHEN code LIKE 'pht%' THEN CAST(2000000 + person % {NURSES} AS VARCHAR)
                    ELSE CAST(1000000 + person % {GPS} AS VARCHAR) END,
               CASE WHEN code LIKE 'pht%' THEN CAST(900000000 + person % {NURSES} * 5
                                                    % {PRACTICES} AS VARCHAR)
                    ELSE CAST(900000000 + person % {GPS} % {PRACTICES} AS VARCHAR) END,
               DATE '{YEAR}-01-01' + CAST(hash(i * 3) % 365 AS INT), 'office',
               CASE WHEN hash(i * 5) % 20 = 0 THEN 'T90' ELSE 'A98' END, code, NULL, NULL
        FROM (SELECT i, CAST(hash(i) % {PERSONS} AS BIGINT) AS person,
                     {_TARIFFS}[1 + CAST(hash(i * 11) % 16 AS INT)] AS code
              FROM range({CONTACTS}) t(i))"""
    )


def _generate_file(path: str) -> None:
    wh = Warehouse.open(path)
    wh.init()
    _generate(wh)
    wh.close()


def run() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "national.duckdb"
        # generated in a child process, so that the peak memory below is the models' own
        start = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(
            target=_generate_file, args=(str(path),)
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"generating the warehouse failed ({child.exitcode})")
        generated = time.perf_counter() - start
        wh = Warehouse.open(path, read_only=True)
        start = time.perf_counter()
        cpu = time.process_time()
        parts = model_parts(wh, YEAR)
        built = time.perf_counter() - start
        comparison = compare_parts(wh, parts)
        both = time.perf_counter() - start
        both_cpu = time.process_time() - cpu
        load = os.getloadavg()[0]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
        wh.close()
    return [
        {"what": "persons", "value": PERSONS, "unit": "persons"},
        {"what": "claims", "value": CONTACTS, "unit": "claims"},
        {"what": "generate the warehouse", "value": generated, "unit": "s"},
        {"what": "both models, set-based part", "value": built, "unit": "s"},
        {"what": "both models, total (target <= 30 s)", "value": both, "unit": "s wall"},
        {"what": "both models, CPU time (all threads)", "value": both_cpu, "unit": "s"},
        {"what": "both models, claims per second", "value": CONTACTS / both, "unit": "claims/s"},
        {"what": "peak memory of the model run", "value": peak, "unit": "GiB"},
        {"what": "load average during the run", "value": load, "unit": "(2 cores)"},
        {"what": "practices compared", "value": len(comparison.practices), "unit": "practices"},
        {
            "what": "fee model total",
            "value": float(comparison.fee_total.amount) / 1e9,
            "unit": "bn NOK",
        },
        {
            "what": "grant model total",
            "value": float(comparison.grant_total.amount) / 1e9,
            "unit": "bn NOK",
        },
    ]
