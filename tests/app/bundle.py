"""A small analytics bundle built by code: three practices (two in the scheme, one comparison).

Practice A (fee model) and B (grant model) are in the scheme; C is a comparison practice. Each
scheme practice has staff and *patients* listed patients; about half are flagged on the worklist
with target groups, evidence, frailty and risk. Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd

from pht.app.care.loading import COLUMNS, AnalyticsBundle
from pht.core.identifiers import make_orgnr, make_person_id

AS_OF = dt.date(2023, 3, 31)
CONDITION_GROUP = {
    "diabetes": ("chronic_disease", "T90", "ICPC-2"),
    "copd": ("chronic_disease", "R95", "ICPC-2"),
    "heart_failure": ("chronic_disease", "K77", "ICPC-2"),
    "depression_anxiety": ("mental_illness", "P76", "ICPC-2"),
    "dementia": ("frail_elderly", "P70", "ICPC-2"),
}

LABEL_NB = {
    "diabetes": "diabetes",
    "copd": "kols",
    "heart_failure": "hjertesvikt",
    "depression_anxiety": "depresjon/angst",
    "dementia": "demens",
}


def orgnr(seed: int) -> str:
    """A valid organisation number near *seed*."""
    n = seed
    while True:
        value = make_orgnr(f"{n:08d}")
        if value:
            return value
        n += 1


PRACTICE_A = orgnr(91_000_001)
PRACTICE_B = orgnr(92_000_001)
PRACTICE_C = orgnr(93_000_001)


def person_id(rng: random.Random, born: dt.date) -> str:
    """A valid synthetic person number for *born*."""
    while True:
        individual = rng.randint(0, 499) if born.year < 2000 else rng.randint(500, 999)
        value = make_person_id(born, individual)
        if value:
            return value


def frame(name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    """A frame with exactly the columns the bundle kind needs (and any extra given)."""
    return pd.DataFrame(
        rows, columns=list(dict.fromkeys([*COLUMNS[name], *(rows[0] if rows else {})]))
    )


def make_bundle(
    *,
    seed: int = 7,
    patients: int = 40,
    as_of: dt.date = AS_OF,
    annual_checks: dict[tuple[str, str], dt.date] | None = None,
) -> AnalyticsBundle:
    """The bundle; *annual_checks* adds (person_id, condition) -> date of the last check."""
    rng = random.Random(seed)
    municipalities = [
        {"municipality_code": "1833", "name": "Rana"},
        {"municipality_code": "0301", "name": "Oslo"},
    ]
    practices = [
        {
            "practice_id": PRACTICE_A,
            "name": "Storforshei legesenter",
            "municipality_code": "1833",
            "financing_model": "fee",
            "pht_start": dt.date(2018, 4, 1),
        },
        {
            "practice_id": PRACTICE_B,
            "name": "Sagene legekontor",
            "municipality_code": "0301",
            "financing_model": "grant",
            "pht_start": dt.date(2018, 4, 1),
        },
        {
            "practice_id": PRACTICE_C,
            "name": "Mo legesenter",
            "municipality_code": "1833",
            "financing_model": None,
            "pht_start": None,
        },
    ]
    practitioners: list[dict[str, object]] = []
    hpr = 1_000_000
    gps: dict[str, list[str]] = {}
    for p in practices:
        for role, n, fte in (
            ("gp", 3, 1.0),
            ("nurse", 1, 0.8),
            ("secretary", 1, 1.0),
            ("psychologist", 1, 0.5),
        ):
            for i in range(n):
                hpr += 1
                practitioners.append(
                    {
                        "practitioner_id": str(hpr),
                        "practice_id": p["practice_id"],
                        "role": role,
                        "fte": fte,
                        "team_lead": role == "gp" and i == 0,
                    }
                )
                if role == "gp":
                    gps.setdefault(str(p["practice_id"]), []).append(str(hpr))
    patient_rows, work, evidence, timeline, surveys, checks = [], [], [], [], [], []
    for practice_id in (PRACTICE_A, PRACTICE_B):
        for i in range(patients):
            born = dt.date(rng.randint(1930, 1990), rng.randint(1, 12), rng.randint(1, 28))
            pid = person_id(rng, born)
            sex = rng.choice("FM")
            patient_rows.append(
                {
                    "person_id": pid,
                    "practice_id": practice_id,
                    "gp_id": rng.choice(gps[practice_id]),
                    "birth_date": born,
                    "sex": sex,
                    "death_date": None,
                }
            )
            if i % 2:
                continue
            conditions = rng.sample(sorted(CONDITION_GROUP), k=rng.randint(1, 2))
            if i == 0:
                conditions = ["diabetes"]
            groups = sorted({CONDITION_GROUP[c][0] for c in conditions})
            overdue = "diabetes" in conditions and i % 4 == 0
            work.append(
                {
                    "person_id": pid,
                    "priority": 1.0 - i / patients,
                    "rank": i // 2 + 1,
                    "reasons": ", ".join(LABEL_NB[c] for c in conditions)
                    + ("; årskontroll forfalt" if overdue else ""),
                    "target_groups": groups,
                    "conditions": conditions,
                    "frailty_band": rng.choice(["fit", "mild", "moderate", "severe"]),
                    "efi": round(rng.random() / 3, 3),
                    "risk": round(rng.random() / 4, 3),
                    "risk_band": rng.choice(["low", "medium", "high", "very_high"]),
                    "annual_check_overdue": overdue,
                }
            )
            for c in conditions:
                group, code, system = CONDITION_GROUP[c]
                evidence.append(
                    {
                        "person_id": pid,
                        "target_group": group,
                        "condition": c,
                        "code": code,
                        "code_system": system,
                        "evidence_date": as_of - dt.timedelta(days=rng.randint(10, 600)),
                        "source": "contacts",
                    }
                )
                if c in ("diabetes", "copd"):
                    last = as_of - dt.timedelta(days=500 if overdue else 100)
                    checks.append(
                        {
                            "person_id": pid,
                            "condition": c,
                            "last_check": last,
                            "due": last + dt.timedelta(days=365),
                            "overdue": overdue,
                        }
                    )
            timeline.append(
                {
                    "person_id": pid,
                    "kind": "contact",
                    "start": as_of - dt.timedelta(days=30),
                    "end": None,
                    "title": "Konsultasjon hos fastlege",
                    "detail": "2ad; T90",
                }
            )
            timeline.append(
                {
                    "person_id": pid,
                    "kind": "admission",
                    "start": as_of - dt.timedelta(days=200),
                    "end": as_of - dt.timedelta(days=195),
                    "title": "Akutt innleggelse",
                    "detail": "J44",
                }
            )
            timeline.append(
                {
                    "person_id": pid,
                    "kind": "service",
                    "start": as_of - dt.timedelta(days=300),
                    "end": None,
                    "title": "Hjemmesykepleie",
                    "detail": "3 t/uke",
                }
            )
            surveys.append(
                {
                    "person_id": pid,
                    "date": as_of - dt.timedelta(days=60),
                    "instrument": "prem",
                    "item": "coordination",
                    "value": 3.0,
                }
            )
    for (pid, condition), day in (annual_checks or {}).items():
        checks.append(
            {
                "person_id": pid,
                "condition": condition,
                "last_check": day,
                "due": day + dt.timedelta(days=365),
                "overdue": False,
            }
        )
    indicators = []
    for practice_id, base in ((PRACTICE_A, 0.4), (PRACTICE_B, 0.45), (PRACTICE_C, 0.35)):
        for year in (2018, 2019):
            for q in range(1, 5):
                share = base + (0.1 if practice_id != PRACTICE_C and year == 2019 else 0)
                indicators.append(
                    {
                        "practice_id": practice_id,
                        "indicator": "annual_check_share",
                        "quarter": f"{year}Q{q}",
                        "numerator": int(share * 100),
                        "denominator": 100,
                    }
                )
    return AnalyticsBundle(
        as_of=as_of,
        source="tests/app/bundle.py",
        municipalities=frame("municipalities", municipalities),
        practices=frame("practices", practices),
        practitioners=frame("practitioners", practitioners),
        patients=frame("patients", patient_rows),
        worklist=frame("worklist", work),
        evidence=frame("evidence", evidence),
        timeline=frame("timeline", timeline),
        surveys=frame("surveys", surveys),
        annual_checks=frame("annual_checks", checks),
        indicators=frame("indicators", indicators),
    )
