"""A small valid extract built by code, to break in tests."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pht.core.identifiers import PersonIdKind, make_orgnr, make_person_id

ORG_A = make_orgnr("91234567") or make_orgnr("91234568") or ""
ORG_B = make_orgnr("98765432") or make_orgnr("98765433") or ""
GP1, GP2, NURSE = "1000001", "1000002", "2000001"


def person_numbers(n: int) -> list[str]:
    """*n* distinct valid synthetic person numbers."""
    out: list[str] = []
    day = dt.date(1950, 1, 1)
    individual = 100
    while len(out) < n:
        number = make_person_id(day, individual, kind=PersonIdKind.SYNTHETIC)
        if number:
            out.append(number)
        individual += 1
        if individual > 499:
            individual = 100
            day += dt.timedelta(days=37)
    return out


def tables(persons: int = 6) -> dict[str, list[dict[str, str]]]:
    """A valid extract: every table, as rows of text cells."""
    pids = person_numbers(persons)
    return {
        "municipalities": [
            {
                "municipality_code": "0301",
                "name": "Oslo",
                "population": "700000",
                "centrality": "1",
            },
            {
                "municipality_code": "4204",
                "name": "Kristiansand",
                "population": "115000",
                "centrality": "",
            },
        ],
        "practices": [
            {
                "practice_id": ORG_A,
                "name": "Legesenteret",
                "municipality_code": "0301",
                "district": "",
                "financing_model": "fee",
                "pht_start": "2018-04-01",
                "pht_end": "2023-03-31",
            },
            {
                "practice_id": ORG_B,
                "name": "Fastlegene",
                "municipality_code": "4204",
                "district": "",
                "financing_model": "",
                "pht_start": "",
                "pht_end": "",
            },
        ],
        "practitioners": [
            {
                "practitioner_id": GP1,
                "practice_id": ORG_A,
                "role": "gp",
                "fte": "1",
                "start": "2015-01-01",
                "end": "",
                "team_lead": "true",
            },
            {
                "practitioner_id": GP2,
                "practice_id": ORG_B,
                "role": "gp",
                "fte": "0.8",
                "start": "2015-01-01",
                "end": "",
                "team_lead": "false",
            },
            {
                "practitioner_id": NURSE,
                "practice_id": ORG_A,
                "role": "nurse",
                "fte": "0.5",
                "start": "2018-04-01",
                "end": "",
                "team_lead": "",
            },
        ],
        "persons": [
            {
                "person_id": p,
                "birth_date": "1950-01-01",
                "sex": "F" if i % 2 else "M",
                "municipality_code": "0301",
                "death_date": "",
            }
            for i, p in enumerate(pids)
        ],
        "list_memberships": [
            {"person_id": p, "gp_id": GP1 if i % 2 else GP2, "start": "2016-01-01", "end": ""}
            for i, p in enumerate(pids)
        ],
        "contacts": [
            {
                "contact_id": f"c{i}",
                "person_id": p,
                "practitioner_id": GP1,
                "practice_id": ORG_A,
                "date": f"2020-0{1 + i % 9}-1{i % 10}",
                "setting": "office",
                "diagnoses": "T90 K86",
                "tariffs": "2ad 2cd",
                "copay_nok": "160.00",
                "refund_nok": "200.5",
            }
            for i, p in enumerate(pids)
        ],
        "admissions": [
            {
                "admission_id": f"a{i}",
                "person_id": p,
                "admitted": "2020-03-01",
                "discharged": "2020-03-04",
                "main_diagnosis": "I210a" if i % 2 else "J449",
                "other_diagnoses": "E119",
                "acute": "true",
            }
            for i, p in enumerate(pids[:3])
        ],
        "municipal_services": [
            {
                "person_id": pids[0],
                "service": "home_nursing",
                "start": "2019-01-01",
                "end": "2019-12-31",
                "hours_per_week": "3.5",
            }
        ],
        "survey_responses": [
            {
                "response_id": "r1",
                "person_id": pids[1],
                "practice_id": ORG_A,
                "date": "2021-05-01",
                "instrument": "prem",
                "item": "coordination",
                "value": "4",
            }
        ],
    }


def write_csv(folder: Path, data: dict[str, list[dict[str, str]]], encoding: str = "utf-8") -> Path:
    """Write *data* as <table>.csv files into *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding=encoding) as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return folder


def write_parquet(folder: Path, data: dict[str, list[dict[str, str]]]) -> Path:
    """Write *data* as <table>.parquet files (all columns text) into *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        cols = {k: [r[k] if r[k] != "" else None for r in rows] for k in rows[0]}
        pq.write_table(pa.table(cols), folder / f"{name}.parquet")
    return folder
