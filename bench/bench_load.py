"""Loading with full validation: contact rows per second from Parquet and CSV, FHIR resources/s.

Generates its own data (valid, so every rule runs over every row and the rows are written):
50,000 persons, 1,000,000 contacts; 2,000 FHIR patients with encounters and conditions.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pht.core.identifiers import PersonIdKind, make_orgnr, make_person_id
from pht.registry.fhir import load_fhir
from pht.registry.load import LoadReport, load_extract, validate_extract
from pht.registry.warehouse import Warehouse

CONTACTS = 1_000_000
PERSONS = 50_000


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


def _extract(n_contacts: int) -> dict[str, pa.Table]:
    rng = np.random.default_rng(4)
    orgs = [o for o in (make_orgnr(f"9{i:07d}") for i in range(1, 40)) if o][:20]
    pids = np.array(_person_ids(PERSONS), dtype=object)
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
    person_idx = rng.integers(0, PERSONS, n_contacts)
    prac_idx = rng.integers(0, 80, n_contacts)
    days = rng.integers(0, 5 * 365, n_contacts)
    dates = (np.datetime64("2019-01-01") + days.astype("timedelta64[D]")).astype(str)
    diag_pool = np.array(["T90", "K86", "R95 T90", "P76", "A97", "K77 K78", "L03", "R74"])
    tariff_pool = np.array(["2ad", "2ad 2cd", "2ae", "1ad", "pht01", "11ad"])
    tariffs = tariff_pool[rng.integers(0, len(tariff_pool), n_contacts)]
    practitioner_ids = np.array(gps + nurses, dtype=object)[prac_idx]
    practice_ids = np.array([orgs[i % len(orgs)] for i in range(80)], dtype=object)[prac_idx]
    contacts = pa.table(
        {
            "contact_id": pa.array(np.char.add("c", np.arange(n_contacts).astype(str))),
            "person_id": pa.array(pids[person_idx], pa.string()),
            "practitioner_id": pa.array(practitioner_ids, pa.string()),
            "practice_id": pa.array(practice_ids, pa.string()),
            "date": pa.array(dates).cast(pa.date32()),
            "setting": pa.array(
                np.array(["office", "phone", "home"])[rng.integers(0, 3, n_contacts)]
            ),
            "diagnoses": pa.array(diag_pool[rng.integers(0, len(diag_pool), n_contacts)]),
            # pht01 (a nurse code) is valid only until 2023-03-31: 074a (grant model) after
            "tariffs": pa.array(
                np.where(
                    (tariffs == "pht01") & (dates > "2023-03-31"),
                    "074a",
                    tariffs,
                )
            ),
            "copay_nok": pa.array(np.round(rng.uniform(0, 300, n_contacts), 2)),
            "refund_nok": pa.array(np.round(rng.uniform(0, 300, n_contacts), 2)),
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
                "birth_date": pa.array(["1960-01-01"] * PERSONS).cast(pa.date32()),
                "sex": ["F"] * PERSONS,
                "municipality_code": ["0301"] * PERSONS,
            }
        ),
        "contacts": contacts,
    }


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _load(folder: Path, work: Path, name: str) -> tuple[float, float]:
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


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tables = _extract(CONTACTS)
        pq_dir, csv_dir = work / "parquet", work / "csv"
        pq_dir.mkdir()
        csv_dir.mkdir()
        for name, table in tables.items():
            pq.write_table(table, pq_dir / f"{name}.parquet")
            pacsv.write_csv(table, csv_dir / f"{name}.csv")
        total = sum(t.num_rows for t in tables.values())
        cores = os.cpu_count() or 1
        for label, folder in (("Parquet", pq_dir), ("CSV", csv_dir)):
            wall, cpu = _timed(partial(validate_extract, folder))
            rows.append(
                {
                    "what": f"{label}: validation only ({CONTACTS:,} contacts, {total:,} rows)",
                    "value": CONTACTS / wall,
                    "unit": "contact rows/s",
                }
            )
            rows.append(
                {
                    "what": f"{label}: validation only, per CPU-second x {cores} cores",
                    "value": CONTACTS / (cpu / cores),
                    "unit": "contact rows/s",
                }
            )
            wall, cpu = _load(folder, work, label)
            rows.append(
                {
                    "what": f"{label}: validated and written to a warehouse file",
                    "value": CONTACTS / wall,
                    "unit": "contact rows/s",
                }
            )
            rows.append(
                {
                    "what": f"{label}: the same per CPU-second x {cores} cores "
                    "(what an otherwise idle machine reaches at best)",
                    "value": CONTACTS / (cpu / cores),
                    "unit": "contact rows/s",
                }
            )
        with Warehouse.open(work / "baseline.duckdb") as wh:
            wh.init()
            source = str(pq_dir / "contacts.parquet")
            wall, cpu = _timed(
                lambda: wh.con.con.execute(
                    f"INSERT INTO contacts SELECT * FROM read_parquet('{source}')"
                )
            )
        rows.append(
            {
                "what": "baseline: DuckDB alone inserting contacts.parquet, no validation",
                "value": CONTACTS / wall,
                "unit": "contact rows/s",
            }
        )
        rows.append(
            {
                "what": f"baseline: the same per CPU-second x {cores} cores",
                "value": CONTACTS / (cpu / cores),
                "unit": "contact rows/s",
            }
        )
        bundle = _fhir_bundle(2_000)
        path = work / "bundle.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        n_resources = len(bundle["entry"])  # type: ignore[arg-type]
        with Warehouse.open(work / "fhir.duckdb") as wh:
            wh.init()
            wall, cpu = _timed(lambda: load_fhir(wh, path))
        rows.append(
            {
                "what": f"FHIR R4 bundle parsed and loaded ({n_resources:,} resources)",
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
    return rows
