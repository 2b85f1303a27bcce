"""Loading with full validation: contact rows per second from Parquet and CSV, FHIR resources/s.

Generates its own data, shaped like the synthetic generator's (valid, so every rule runs over
every row and every row is written): ``PHT_BENCH_CONTACTS`` contacts (default 5,000,000) of
one person in 20 (persons), in Parquet files of 1,048,576-row groups as pyarrow writes them;
2,000 FHIR patients with encounters and conditions. Figures: wall-clock rows/s (the target:
≥ 1,000,000 contact rows/s from Parquet, ≥ 300,000 from CSV, ≥ 2,000 FHIR resources/s), CPU
seconds, how the CPU time spread over threads, the load average (other work inflates wall time)
and peak memory. The validated Parquet load and DuckDB's bare insert of its contacts file (the
target: the load ≥ 1.2× as fast) run alternately ``PHT_BENCH_LOAD_RUNS`` times each (default
3), after the generated files are synced to disk; their medians are compared.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pht.core.identifiers import PersonIdKind, make_orgnr, make_person_id
from pht.registry.batches import undo_batch
from pht.registry.fhir import load_fhir
from pht.registry.load import LoadReport, load_extract, validate_extract
from pht.registry.warehouse import Warehouse
from pht.tuning import tune_process

CONTACTS = int(os.environ.get("PHT_BENCH_CONTACTS", "5000000"))
# The validated Parquet load and the bare insert are each timed this many times, alternately.
RUNS = int(os.environ.get("PHT_BENCH_LOAD_RUNS", "3"))
PERSONS = max(1_000, CONTACTS // 20)


def _person_ids(n: int) -> list[str]:
    out: list[str] = []
    day = dt.date(1940, 1, 1)
    individual = 0
    while len(out) < n:
        number = make_person_id(day, individual, kind=PersonIdKind.SYNTHETIC)
        if number:
            out.append(number)
        individual += 1
        if individual > 499:
            individual = 0
            day += dt.timedelta(days=1)
    return out


def _nok(cents: np.ndarray) -> pa.Array:
    """Amounts in øre as decimal(12, 2), as the generator writes them (unscaled 128-bit)."""
    low = np.asarray(cents, dtype=np.int64)
    words = np.ascontiguousarray(np.stack([low, np.where(low < 0, -1, 0)], axis=1))
    return pa.Array.from_buffers(pa.decimal128(12, 2), low.size, [None, pa.py_buffer(words)])


def _extract(n_contacts: int, n_persons: int) -> dict[str, pa.Table]:
    rng = np.random.default_rng(4)
    orgs = [o for o in (make_orgnr(f"9{i:07d}") for i in range(1, 40)) if o][:20]
    pids = np.array(_person_ids(n_persons), dtype=object)
    gps = [str(1_000_000 + i) for i in range(60)]
    nurses = [str(2_000_000 + i) for i in range(20)]
    practitioners = pa.table(
        {
            "practitioner_id": gps + nurses,
            "practice_id": [orgs[i % len(orgs)] for i in range(80)],
            "role": ["gp"] * 60 + ["nurse"] * 20,
            "fte": ["1.0"] * 80,
            "start": ["2010-01-01"] * 80,
        }
    )
    person_idx = rng.integers(0, n_persons, n_contacts)
    prac_idx = rng.integers(0, 80, n_contacts)
    days = rng.integers(0, 5 * 365, n_contacts)
    day_numbers = days + (dt.date(2019, 1, 1) - dt.date(1970, 1, 1)).days
    after_pht01 = day_numbers > (dt.date(2023, 3, 31) - dt.date(1970, 1, 1)).days
    diag_pool = np.array(["T90", "K86", "R95 T90", "P76", "A97", "K77 K78", "L03", "R74"])
    tariff_pool = np.array(["2ad", "2ad 2cd", "2ae", "1ad", "pht01", "11ad"])
    tariffs = tariff_pool[rng.integers(0, len(tariff_pool), n_contacts)]
    practitioner_ids = np.array(gps + nurses, dtype=object)[prac_idx]
    practice_ids = np.array([orgs[i % len(orgs)] for i in range(80)], dtype=object)[prac_idx]
    contacts = pa.table(
        {
            "contact_id": pc.binary_join_element_wise(
                "c", pc.cast(pa.array(np.arange(n_contacts)), pa.string()), ""
            ),
            "person_id": pa.array(pids[person_idx], pa.string()),
            "practitioner_id": pa.array(practitioner_ids, pa.string()),
            "practice_id": pa.array(practice_ids, pa.string()),
            "date": pa.array(day_numbers.astype(np.int32)).cast(pa.date32()),
            "setting": pa.array(
                np.array(["office", "phone", "home"])[rng.integers(0, 3, n_contacts)]
            ),
            "diagnoses": pa.array(diag_pool[rng.integers(0, len(diag_pool), n_contacts)]),
            # pht01 (a nurse code) is valid only until 2023-03-31: 074a (grant model) after
            "tariffs": pa.array(np.where((tariffs == "pht01") & after_pht01, "074a", tariffs)),
            "copay_nok": _nok(rng.integers(0, 30_000, n_contacts)),
            "refund_nok": _nok(rng.integers(0, 30_000, n_contacts)),
        }
    )
    return {
        "municipalities": pa.table(
            {"municipality_code": ["0301"], "name": ["Oslo"], "population": [700_000]}
        ),
        "practices": pa.table(
            {
                "practice_id": orgs,
                "name": [f"P{i}" for i in range(len(orgs))],
                "municipality_code": ["0301"] * len(orgs),
            }
        ),
        "practitioners": practitioners,
        "persons": pa.table(
            {
                "person_id": pa.array(pids, pa.string()),
                # the birth date the number encodes (synthetic numbers: month + 80, 19xx)
                "birth_date": pa.array(
                    [dt.date(1900 + int(p[4:6]), int(p[2:4]) - 80, int(p[0:2])) for p in pids],
                    pa.date32(),
                ),
                "sex": ["F"] * n_persons,
                "municipality_code": ["0301"] * n_persons,
            }
        ),
        "contacts": contacts,
    }


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each thread of this process (Linux), to see the work spread."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[tid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _timed(fn: Callable[[], object]) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (all threads) of one call, and the CPU per busy thread."""
    before = _thread_cpu() if os.path.isdir("/proc/self/task") else {}
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    after = _thread_cpu() if before else {}
    busy = sorted((after[t] - before.get(t, 0.0) for t in after), reverse=True)
    spread = " + ".join(f"{x:.1f}" for x in busy if x >= 0.05)
    return wall, cpu, spread


def _load(folder: Path, work: Path, name: str) -> tuple[float, float, str]:
    with Warehouse.open(work / f"{name}.duckdb") as wh:
        wh.init()
        result: dict[str, object] = {}

        def go() -> None:
            result["r"] = load_extract(wh, folder)

        timing = _timed(go)
        report = result["r"]
        assert isinstance(report, LoadReport)
        if not report.imported or not report.validation.ok:
            raise RuntimeError(f"benchmark extract did not load: {report.validation.problems[:3]}")
    return timing


def _bare_insert(source: Path, target: Path) -> tuple[float, float, str]:
    """DuckDB alone inserting *source* into a table of a new database file (default format
    and storage)."""
    con = duckdb.connect(str(target.with_suffix(".duckdb")))
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"CREATE TABLE contacts AS FROM read_parquet('{source}') LIMIT 0")
        return _timed(
            lambda: con.execute(f"INSERT INTO contacts SELECT * FROM read_parquet('{source}')")
        )
    finally:
        con.close()


def _median(runs: list[tuple[float, float, str]]) -> tuple[float, float, str]:
    """The run of median wall clock."""
    return sorted(runs, key=lambda r: r[0])[len(runs) // 2]


def _fhir_bundle(n_patients: int) -> dict[str, object]:
    entries: list[dict[str, object]] = []
    org = make_orgnr("91234567") or "912345675"
    entries.append(
        {
            "fullUrl": "urn:uuid:org-1",
            "resource": {
                "resourceType": "Organization",
                "id": "org-1",
                "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": org}],
                "name": "Legesenteret",
            },
        }
    )
    entries.append(
        {
            "fullUrl": "urn:uuid:gp-1",
            "resource": {
                "resourceType": "Practitioner",
                "id": "gp-1",
                "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "1000001"}],
            },
        }
    )
    for i, pid in enumerate(_person_ids(n_patients)):
        pref = f"urn:uuid:pat-{i}"
        entries.append(
            {
                "fullUrl": pref,
                "resource": {
                    "resourceType": "Patient",
                    "id": f"pat-{i}",
                    "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": pid}],
                    "gender": "female" if i % 2 else "male",
                    "birthDate": "1960-01-01",
                    "generalPractitioner": [{"reference": "urn:uuid:gp-1"}],
                },
            }
        )
        for k in range(2):
            entries.append(
                {
                    "fullUrl": f"urn:uuid:enc-{i}-{k}",
                    "resource": {
                        "resourceType": "Encounter",
                        "id": f"enc-{i}-{k}",
                        "status": "finished",
                        "class": {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                            "code": "AMB",
                        },
                        "subject": {"reference": pref},
                        "participant": [{"individual": {"reference": "urn:uuid:gp-1"}}],
                        "serviceProvider": {"reference": "urn:uuid:org-1"},
                        "period": {"start": f"2021-0{1 + k}-15T10:00:00+01:00"},
                    },
                }
            )
        entries.append(
            {
                "fullUrl": f"urn:uuid:cond-{i}",
                "resource": {
                    "resourceType": "Condition",
                    "id": f"cond-{i}",
                    "subject": {"reference": pref},
                    "encounter": {"reference": f"urn:uuid:enc-{i}-0"},
                    "code": {
                        "coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7170", "code": "T90"}]
                    },
                },
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _rate_rows(
    label: str, n: int, what: str, timing: tuple[float, float, str]
) -> list[dict[str, object]]:
    wall, cpu, spread = timing
    load = os.getloadavg()[0]
    return [
        {
            "what": f"{label}: {what} — wall clock ({wall:.2f} s, load average {load:.1f})",
            "value": n / wall,
            "unit": "contact rows/s",
        },
        {
            "what": f"{label}: {what} — CPU seconds (per thread: {spread})",
            "value": cpu,
            "unit": "s",
        },
    ]


def run() -> list[dict[str, object]]:
    # the process-wide tuning `pht` applies (glibc, numpy, Arrow's allocator): measured as run
    tune_process()
    rows: list[dict[str, object]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tables = _extract(CONTACTS, PERSONS)
        pq_dir, csv_dir = work / "parquet", work / "csv"
        pq_dir.mkdir()
        csv_dir.mkdir()
        for name, table in tables.items():
            pq.write_table(table, pq_dir / f"{name}.parquet")
            pacsv.write_csv(table, csv_dir / f"{name}.csv")
        total = sum(t.num_rows for t in tables.values())
        del tables
        os.sync()  # the files on disk: no write-back of them during the timings
        # one-off imports (pandas, which DuckDB loads on the first Arrow scan) outside the timing
        warm = work / "warm"
        warm.mkdir()
        pq.write_table(_extract(1_000, 1_000)["contacts"], warm / "contacts.parquet")
        validate_extract(warm)
        size = f"{CONTACTS:,} contacts, {total:,} rows"
        loads: dict[str, tuple[float, float, str]] = {}
        bare: tuple[float, float, str] | None = None
        for label, folder in (("Parquet", pq_dir), ("CSV", csv_dir)):
            rows += _rate_rows(
                label,
                CONTACTS,
                f"validation only ({size})",
                _timed(partial(validate_extract, folder)),
            )
            if label == "Parquet":
                # the load and DuckDB's bare insert of its contacts file, alternately, RUNS
                # times each: the medians (the machine's speed drifts over a run)
                ours, theirs = [], []
                for i in range(RUNS):
                    ours.append(_load(folder, work, f"{label}-{i}"))
                    theirs.append(_bare_insert(folder / "contacts.parquet", work / f"bare-{i}"))
                loads[label], bare = _median(ours), _median(theirs)
                (work / f"{label}-0.duckdb").rename(work / f"{label}.duckdb")
            else:
                loads[label] = _load(folder, work, label)
            rows += _rate_rows(
                label,
                CONTACTS,
                "validated and written to a new warehouse file as one batch (provenance: "
                "batch id per row, source-qualified event ids, file hashes)"
                + (f", median of {RUNS}" if label == "Parquet" else ""),
                loads[label],
            )
            rows.append(
                {
                    "what": f"{label}: size of that warehouse file",
                    "value": (work / f"{label}.duckdb").stat().st_size / 1e6,
                    "unit": "MB",
                }
            )
        with Warehouse.open(work / "Parquet.duckdb") as wh:
            # the real case: the batch undone lies on top of an earlier one (the same extract
            # from another source: its contacts are other rows, its persons the same rows)
            second = load_extract(wh, pq_dir, source="second-source")
            if not second.imported or second.batch is None or second.batch.batch_id is None:
                raise RuntimeError("the second batch did not load")
            wall, cpu, spread = _timed(lambda: undo_batch(wh, second.batch.batch_id))
            left = wh.sql("SELECT count(*), count(DISTINCT _batch) FROM contacts")[0]
            if tuple(left) != (CONTACTS, 1):
                raise RuntimeError(f"undo left {left[0]} contacts of {left[1]} batches")
        rows.append(
            {
                "what": f"undo of a Parquet batch ({CONTACTS:,} contacts, {total:,} rows) "
                f"loaded on top of an earlier one ({CONTACTS:,} contacts stay) — "
                f"wall clock (CPU {cpu:.1f} s; per thread: {spread}); target ≤ 30 s",
                "value": wall,
                "unit": "s",
            }
        )
        with Warehouse.open(work / "reload.duckdb") as wh:
            wh.init()
            load_extract(wh, pq_dir)
            rows += _rate_rows(
                "Parquet",
                CONTACTS,
                "loaded again into the same warehouse (every row unchanged: changes nothing)",
                _timed(lambda: load_extract(wh, pq_dir)),
            )
        assert bare is not None
        rows += _rate_rows(
            "baseline",
            CONTACTS,
            "DuckDB alone inserting contacts.parquet, no validation, default storage, "
            f"median of {RUNS} (each right after a validated load)",
            bare,
        )
        # the whole validated extract (all tables) against the bare insert of its contacts file
        rows.append(
            {
                "what": "Parquet: validated load with provenance / DuckDB's bare insert of the "
                "same contacts file, contact rows/s (target ≥ 1.2)",
                "value": bare[0] / loads["Parquet"][0],
                "unit": "×",
            }
        )
        bundle = _fhir_bundle(2_000)
        path = work / "bundle.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        n_resources = len(bundle["entry"])  # type: ignore[arg-type]
        with Warehouse.open(work / "fhir.duckdb") as wh:
            wh.init()
            wall, cpu, _ = _timed(lambda: load_fhir(wh, path))
        rows.append(
            {
                "what": f"FHIR R4 bundle parsed and loaded ({n_resources:,} resources), wall",
                "value": n_resources / wall,
                "unit": "resources/s",
            }
        )
        rows.append(
            {
                "what": "FHIR: the same per CPU-second (single-threaded parsing)",
                "value": n_resources / cpu,
                "unit": "resources/s",
            }
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)
    rows.append(
        {"what": "peak memory (RSS) of the benchmark process", "value": peak, "unit": "GiB"}
    )
    rows.append(
        {
            "what": "load average (1 min) before / after: other work inflates wall clock",
            "value": load_before,
            "unit": f"/ {os.getloadavg()[0]:.1f}",
        }
    )
    return rows
