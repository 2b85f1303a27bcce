"""A small hand-built population whose right answers the tests write out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from pht.reference.value_sets import Model
from pht.registry import Warehouse
from tests.population.builder import Population

AS_OF = dt.date(2023, 1, 1)


def fixed_model(
    kind: str, intercept: float, coefficients: dict[str, float], normaliser: float = 1.0
) -> Model:
    """A model written in the test, so the tests do not depend on the versions on file."""
    return Model.model_validate(
        {
            "name": "admission_risk" if kind == "logistic" else "expected_need",
            "version": 99,
            "kind": kind,
            "outcome": "test",
            "intercept": intercept,
            "normaliser": normaliser,
            "coefficients": coefficients,
            "data_period": {
                "features_before": "2020-01-01",
                "outcome_from": "2020-01-01",
                "outcome_until": "2020-12-31",
            },
            "estimated_from": "test",
            "estimated_at": "2026-11-23",
            "status": "A",
            "source": "test",
        }
    )


# risk: -3 + 1.0 per emergency admission band + 0.5 for heart failure
RISK = fixed_model(
    "logistic", -3.0, {"emergency_1": 1.0, "emergency_2_plus": 2.0, "cond_heart_failure": 0.5}
)
# need: exp(0) = 1 contact, doubled (log 2) for age 85+ and for home nursing (normaliser 1)
NEED = fixed_model(
    "poisson", 0.0, {"age_85_plus": 0.6931471805599453, "service_home_nursing": 0.6931471805599453}
)


@dataclass
class World:
    wh: Warehouse
    practice: str
    other_practice: str
    gp1: str
    gp2: str
    nurse: str
    anna: str  # diabetes, annual check 14 months ago; hypertension never checked
    bjorn: str  # 82, nine deficits (moderate frailty), two emergency admissions, heart failure
    carl: str  # diabetes coded only before the look-back; a cold last year
    dina: str  # schizophrenia, diabetes, hypertension from one planned admission (ICD-10)
    eva: str  # diabetes, died before the as-of date
    frank: str  # 90, home nursing, no GP contact: weak demander
    gerd: str  # diabetes checked 3 months ago (ok), asthma checked 11 months ago (due)
    hans: str  # listed at the other practice, COPD


@pytest.fixture(scope="module")
def world() -> World:
    b = Population()
    p = b.practice("91234568")
    q = b.practice("98765432", model="grant")
    gp1 = b.practitioner("1000001", p)
    gp2 = b.practitioner("1000002", p)
    nurse = b.practitioner("2000001", p, "nurse")
    gp3 = b.practitioner("1000003", q)

    anna = b.person("1950-05-05", "F", gp=gp1)
    b.contact(anna, "2021-10-15", "T90", "2ad 2cd", practitioner=gp1, practice=p)
    b.contact(anna, "2022-06-01", "T90 K86", "2ad", practitioner=gp1, practice=p)

    bjorn = b.person("1940-02-02", "M", gp=gp1)
    b.contact(bjorn, "2022-01-10", "K77 K78 K86", "2ad", practitioner=gp1, practice=p)
    b.contact(bjorn, "2022-03-20", "T90 P20 N17 R02 L95", "2ad", practitioner=gp1, practice=p)
    b.service(bjorn, "home_nursing", "2022-01-01")
    b.admission(bjorn, "2022-05-01", "I500")
    b.admission(bjorn, "2022-09-01", "I509", "J189")

    carl = b.person("1990-03-03", "M", gp=gp2)
    b.contact(carl, "2020-06-01", "T90", "2ad", practitioner=gp2, practice=p)
    b.contact(carl, "2022-05-01", "R74", "2ad", practitioner=gp2, practice=p)

    dina = b.person("1985-01-01", "F", gp=gp2)
    b.admission(dina, "2022-02-01", "F200", "E119 I10", acute=False)
    b.contact(dina, "2022-11-01", "", "pht01", practitioner=nurse, practice=p)
    b.contact(dina, "2022-11-20", "P72", "2ad", practitioner=gp2, practice=p)

    eva = b.person("1945-07-07", "F", gp=gp1, death="2022-12-01")
    b.contact(eva, "2022-06-01", "T90", "2ad", practitioner=gp1, practice=p)

    frank = b.person("1932-08-08", "M", gp=gp2)
    b.service(frank, "home_nursing", "2021-05-01")

    gerd = b.person("1970-09-09", "F", gp=gp1)
    b.contact(gerd, "2022-09-15", "T90", "2ad 2cd", practitioner=gp1, practice=p)
    b.contact(gerd, "2022-01-20", "R96", "pht01 2cd", practitioner=nurse, practice=p)

    hans = b.person("1960-10-10", "M", gp=gp3)
    b.contact(hans, "2022-10-01", "R95", "074b", practitioner=gp3, practice=q)
    return World(
        b.warehouse(), p, q, gp1, gp2, nurse, anna, bjorn, carl, dina, eva, frank, gerd, hans
    )
