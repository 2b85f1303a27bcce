"""Hand-built patients for the care tests: a diabetes patient whose diabetes check is done and
whose only overdue check is hypertension, and one whose diabetes check is overdue."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd

from pht.app.care.loading import AnalyticsBundle
from tests.app.bundle import PRACTICE_A, make_bundle, person_id

HYPERTENSION_ONLY = "Hansen, Helge Blodtrykk"
DIABETES_OVERDUE = "Dahl, Dina Sukker"


def _add(frame: pd.DataFrame, rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def bundle_with_hand_built() -> tuple[AnalyticsBundle, dict[str, str]]:
    """The small bundle plus two hand-built patients of practice A; their person ids by name."""
    b = make_bundle()
    rng = random.Random(99)
    as_of = b.as_of
    ids = {
        HYPERTENSION_ONLY: person_id(rng, dt.date(1948, 5, 17)),
        DIABETES_OVERDUE: person_id(rng, dt.date(1952, 9, 3)),
    }
    gp = str(b.practitioners[b.practitioners["practice_id"] == PRACTICE_A].iloc[0].practitioner_id)
    patients, work, evidence, checks = [], [], [], []
    for name, pid in ids.items():
        born = dt.date(1948, 5, 17) if name == HYPERTENSION_ONLY else dt.date(1952, 9, 3)
        patients.append(
            {
                "person_id": pid,
                "practice_id": PRACTICE_A,
                "gp_id": gp,
                "birth_date": born,
                "sex": "M" if name == HYPERTENSION_ONLY else "F",
                "death_date": None,
            }
        )
        work.append(
            {
                "person_id": pid,
                "priority": 0.99,
                "rank": 1,
                "reasons": "testpasient laget for hånd",
                "target_groups": ["chronic_disease"],
                "conditions": ["diabetes", "hypertension"],
                "frailty_band": "mild",
                "efi": 0.15,
                "risk": 0.213,
                "risk_band": "high",
                "annual_check_overdue": True,
            }
        )
        for cond, code in (("diabetes", "T90"), ("hypertension", "K86")):
            evidence.append(
                {
                    "person_id": pid,
                    "target_group": "chronic_disease",
                    "condition": cond,
                    "code": code,
                    "code_system": "ICPC-2",
                    "evidence_date": as_of - dt.timedelta(days=100),
                    "source": "contacts",
                }
            )
        diabetes_overdue = name == DIABETES_OVERDUE
        for cond, overdue in (
            ("diabetes", diabetes_overdue),
            ("hypertension", not diabetes_overdue),
        ):
            last = as_of - dt.timedelta(days=500 if overdue else 60)
            checks.append(
                {
                    "person_id": pid,
                    "condition": cond,
                    "last_check": last,
                    "due": last + dt.timedelta(days=365),
                    "overdue": overdue,
                }
            )
    b.patients = _add(b.patients, patients)
    b.worklist = _add(b.worklist, work)
    b.evidence = _add(b.evidence, evidence)
    b.annual_checks = _add(b.annual_checks, checks)
    return b, ids


def load_names(ids: dict[str, str]) -> None:
    """Give the hand-built patients their names (the loader derives synthetic ones)."""
    from pht.app.care.models import Patient

    for name, pid in ids.items():
        Patient.objects.filter(person_id=pid).update(name=name)
