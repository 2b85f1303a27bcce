"""Indicators: the definitions as data, and what they count on a hand-made warehouse."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from pht.core.errors import PhtError
from pht.core.labels import EffectGoal
from pht.evaluation.indicators import (
    indicator,
    indicator_cells,
    load_indicators,
    min_cell,
    person_quarter_panel,
    quarter_index,
    quarter_label,
    quarter_start,
)
from pht.reference import load_sources
from pht.reference.files import read_toml
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse

CONTRACT = {
    "nurse_consultations": "target_group",
    "annual_checks": "diabetes_copd",
    "home_visits": "target_group",
    "acsc_admissions": "target_group",
    "patient_activation": "respondents",
    "coordination": "respondents",
    "satisfaction": "respondents",
    "eq5d_index": "respondents",
    "gp_consultations": "listed",
    "out_of_hours": "listed",
}


def test_every_contract_indicator_is_defined_with_its_population() -> None:
    known = load_indicators()
    for name, population in CONTRACT.items():
        assert known[name].population == population, name
    assert known["patient_activation"].survey == ("pam", "score")
    assert known["coordination"].survey == ("prem", "coordination")
    assert known["satisfaction"].survey == ("prem", "satisfaction")
    assert known["eq5d_index"].survey == ("eq5d5l", "index")


def test_every_effect_goal_has_an_indicator_and_every_field_is_filled() -> None:
    known = load_indicators()
    assert {i.goal for i in known.values() if i.kind == "effect"} == set(EffectGoal)
    for ind in known.values():
        for field in ("numerator", "denominator", "period", "source", "population", "unit"):
            assert getattr(ind, field), (ind.name, field)


def test_indicator_sources_are_defined() -> None:
    data = read_toml("evaluation/indicators.toml")
    sources = load_sources()
    cited = [data["publication"]["source"], data["codes"]["acsc_source"]]
    cited += [data["comparison"]["source"], data["did"]["source"]]
    assert all(c in sources for c in cited)
    assert min_cell() == 5


def test_unknown_indicator_is_a_clear_error() -> None:
    with pytest.raises(PhtError, match="known: eq5d_index"):
        indicator("no_such_thing")


def test_quarters() -> None:
    q = quarter_index(dt.date(2018, 4, 1))
    assert quarter_label(q) == "2018K2"
    assert quarter_start(q) == dt.date(2018, 4, 1)


# --- a hand-made warehouse: one practice, a GP and a nurse, three persons ------------------------

PRACTICE = "974760673"
GP, NURSE, GP2 = "1000001", "2000001", "1000002"
A, B, C = "P1", "P2", "P3"  # A: diabetes from 2018-02-10; B: no condition; C: leaves in 2018Q2


def _tables() -> dict[str, pd.DataFrame]:
    d = dt.date
    contacts = [
        # person, practitioner, date, setting, diagnoses, tariffs
        (A, NURSE, d(2018, 4, 3), "office", "T90", "pht01"),
        (A, NURSE, d(2018, 5, 3), "phone", "T90", "pht03"),
        (A, NURSE, d(2018, 5, 9), "office", "T90", "074a"),  # grant code by a nurse: counts
        (A, GP, d(2018, 5, 9), "office", "T90", "074a"),  # grant code by a GP: GP consultation
        (A, GP, d(2018, 6, 1), "office", "T90", "2ad 2cd"),  # annual check
        (A, GP, d(2018, 6, 2), "office", "T90", "2ad"),  # no time supplement: not a check
        (A, GP, d(2018, 6, 3), "office", "R95", "074b"),  # grant long consultation: a check
        (A, NURSE, d(2018, 6, 4), "home", "T90", "pht02"),  # nurse home visit
        (A, GP, d(2018, 6, 5), "home", "T90", "11ad"),  # GP home visit
        (A, GP2, d(2018, 6, 6), "out_of_hours", "R74", "2ak"),  # out of hours
        (A, GP, d(2018, 6, 7), "phone", "T90", "1f"),  # coordination
        (A, GP, d(2018, 2, 20), "office", "T90", "2ad 2cd"),  # a check in Q1 (not yet target)
        (B, GP, d(2018, 4, 5), "office", "R74", "2ad"),
        (B, GP2, d(2018, 4, 6), "office", "R74", "2ad"),  # another practice's GP
    ]
    cdf = pd.DataFrame(
        contacts,
        columns=["person_id", "practitioner_id", "date", "setting", "diagnoses", "tariffs"],
    )
    cdf.insert(0, "contact_id", [f"c{i}" for i in range(len(cdf))])
    cdf["practice_id"] = [PRACTICE if p != GP2 else "974760681" for p in cdf["practitioner_id"]]
    cdf["copay_nok"] = 100.0
    cdf["refund_nok"] = 50.0
    return {
        "municipalities": pd.DataFrame(
            [("0301", "Oslo", 700000, 1)],
            columns=["municipality_code", "name", "population", "centrality"],
        ),
        "practices": pd.DataFrame(
            {
                "practice_id": [PRACTICE, "974760681"],
                "name": ["Kontor", "Legevakt"],
                "municipality_code": "0301",
                "district": None,
                "financing_model": ["fee", None],
                "pht_start": [d(2018, 4, 1), None],
                "pht_end": None,
            }
        ),
        "practitioners": pd.DataFrame(
            {
                "practitioner_id": [GP, NURSE, GP2],
                "practice_id": [PRACTICE, PRACTICE, "974760681"],
                "role": ["gp", "nurse", "gp"],
                "fte": 1.0,
                "start": d(2010, 1, 1),
                "end": None,
                "team_lead": False,
            }
        ),
        "persons": pd.DataFrame(
            {
                "person_id": [A, B, C],
                "birth_date": [d(1950, 1, 1), d(1980, 1, 1), d(1990, 1, 1)],
                "sex": ["F", "M", "F"],
                "municipality_code": "0301",
                "death_date": None,
            }
        ),
        "list_memberships": pd.DataFrame(
            {
                "person_id": [A, B, C],
                "gp_id": GP,
                "start": d(2017, 1, 1),
                "end": [None, None, d(2018, 5, 31)],
            }
        ),
        "contacts": cdf,
        "admissions": pd.DataFrame(
            {
                "admission_id": ["a1", "a2", "a3"],
                "person_id": [A, A, A],
                "admitted": [d(2018, 5, 1), d(2018, 5, 20), d(2018, 6, 1)],
                "discharged": [d(2018, 5, 3), d(2018, 5, 22), d(2018, 6, 2)],
                "main_diagnosis": ["J441", "J449", "S720"],
                "other_diagnoses": None,
                "acute": [True, False, True],
            }
        ),
        "municipal_services": pd.DataFrame(
            {
                "person_id": [A],
                "service": ["long_term_stay"],
                "start": [d(2018, 6, 20)],
                "end": None,
                "hours_per_week": None,
            }
        ),
        "survey_responses": pd.DataFrame(
            {
                "response_id": ["r1", "r2", "r3"],
                "person_id": [A, B, B],
                "practice_id": PRACTICE,
                "date": [d(2018, 5, 1), d(2018, 5, 2), d(2018, 6, 2)],
                "instrument": "prem",
                "item": "satisfaction",
                "value": [4.0, 2.0, 3.0],
            }
        ),
    }


@pytest.fixture(scope="module")
def hand() -> Warehouse:
    wh = Warehouse.open(":memory:")
    wh.init()
    with wh.transaction():
        for name, df in _tables().items():
            wh.replace_rows(
                name, pa.Table.from_pandas(df, preserve_index=False), key=TABLES[name].key
            )
    return wh


TARGETS = pd.DataFrame(
    {
        "person_id": [A, A],
        "group": ["chronic_disease", "diabetes_copd"],
        "since": pd.to_datetime(["2018-02-10", "2018-02-10"]),
    }
)
Q1, Q2 = quarter_index(dt.date(2018, 1, 1)), quarter_index(dt.date(2018, 4, 1))


@pytest.fixture(scope="module")
def hand_panel(hand: Warehouse) -> ibis.Table:
    return person_quarter_panel(hand, first_quarter=Q1, last_quarter=Q2, targets=TARGETS).cache()


def _value(wh: Warehouse, panel: ibis.Table, name: str, q: int = Q2) -> tuple[int, float]:
    cells = indicator_cells(
        wh, panel, indicator(name), level="practice", first_quarter=Q1, last_quarter=Q2
    )
    row = cells[(cells["practice_id"] == PRACTICE) & (cells["q"] == q)]
    if row.empty:
        return 0, float("nan")
    return int(row["n"].iloc[0]), float(row["y_mean"].iloc[0])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nurse_consultations", (1, 4.0)),  # pht01, pht03, 074a by the nurse, pht02
        ("annual_checks", (1, 2.0)),  # 2ad+2cd with T90, 074b with R95
        ("home_visits", (1, 2.0)),  # pht02 and 11ad
        ("coordination_contacts", (1, 1.0)),
        ("acsc_admissions", (1, 1.0)),  # acute J44; the elective J44 and acute S72 do not count
        ("ltc_entry", (1, 1.0)),
        ("emergency_admissions", (3, 2 / 3)),  # A, B and C listed on 1 April; A had 2 acute
        ("out_of_hours", (3, 1 / 3)),
        # A: 074a, 2ad 2cd, 2ad, 074b, 11ad by the own GP; B: 2ad by the own GP and by another
        ("gp_consultations", (3, 7 / 3)),
        ("satisfaction", (2, 3.25)),  # A 4.0; B mean of 2.0 and 3.0
    ],
)
def test_indicator_counts_what_its_definition_says(
    hand: Warehouse, hand_panel: ibis.Table, name: str, expected: tuple[int, float]
) -> None:
    n, value = _value(hand, hand_panel, name)
    assert n == expected[0]
    assert value == pytest.approx(expected[1])


def test_target_membership_starts_the_quarter_after_onset(
    hand: Warehouse, hand_panel: ibis.Table
) -> None:
    # A's diabetes began 10 February 2018: in Q1 A is not yet a target-group patient, so the
    # annual check of 20 February is not counted; from Q2 on A is in the population
    assert _value(hand, hand_panel, "annual_checks", Q1)[0] == 0
    assert _value(hand, hand_panel, "annual_checks", Q2)[0] == 1


def test_continuity_is_the_share_of_contacts_with_the_own_team(
    hand: Warehouse, hand_panel: ibis.Table
) -> None:
    # B: one contact with the own GP, one with another practice's GP -> 0.5; A: 10 of 11 in Q2
    # are with the own team (the out-of-hours contact is not counted at all) -> 1.0
    n, value = _value(hand, hand_panel, "continuity")
    assert n == 2
    assert value == pytest.approx((1.0 + 0.5) / 2)


def test_cost_per_listed_adds_the_model_income(hand: Warehouse, hand_panel: ibis.Table) -> None:
    panel = hand_panel
    ind = indicator("cost_per_listed")
    plain = indicator_cells(hand, panel, ind, first_quarter=Q1, last_quarter=Q2)
    income = pd.DataFrame({"practice_id": [PRACTICE], "year": [2018], "income_nok": [1200.0]})
    with_income = indicator_cells(
        hand, panel, ind, first_quarter=Q1, last_quarter=Q2, income=income
    )
    row = (plain["practice_id"] == PRACTICE) & (plain["q"] == Q2)
    # 13 claims in Q2 at 150 NOK over 3 listed persons, plus 1200 / 4 NOK over the same 3
    assert float(plain.loc[row, "y_mean"].iloc[0]) == pytest.approx(13 * 150 / 3)
    assert float(with_income.loc[row, "y_mean"].iloc[0]) == pytest.approx((13 * 150 + 300) / 3)


def test_another_outcome_replaces_the_measured_values_of_the_population(
    hand: Warehouse, hand_panel: ibis.Table
) -> None:
    # the validation's noise-free check: each person-quarter's value comes from the given table
    # (0 where it has none), over the indicator's own population and cells
    ind = indicator("emergency_admissions")
    rates = ibis.memtable(pd.DataFrame({"person_id": [A], "q": [Q2], "y": [0.25]}))
    cells = indicator_cells(
        hand, hand_panel, ind, level="practice", first_quarter=Q1, last_quarter=Q2, outcome=rates
    )
    row = cells[(cells["practice_id"] == PRACTICE) & (cells["q"] == Q2)]
    assert int(row["n"].iloc[0]) == 3  # A, B and C, as with the measured admissions
    assert float(row["y_mean"].iloc[0]) == pytest.approx(0.25 / 3)
    with pytest.raises(PhtError, match="satisfaction: only a person-quarter count"):
        indicator_cells(
            hand,
            hand_panel,
            indicator("satisfaction"),
            first_quarter=Q1,
            last_quarter=Q2,
            outcome=rates,
        )


def test_every_indicator_and_command_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "evaluation.md").read_text(encoding="utf-8")
    for name in load_indicators():
        assert f"`{name}`" in doc, name
    for command in ("pht evaluate indicators", "pht evaluate did", "pht evaluate report"):
        assert command in doc
