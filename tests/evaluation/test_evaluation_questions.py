"""The questions of the published evaluation: GP hours, list length, ACSC admissions for type 2
diabetes, collaboration with municipal and specialist services — each against a hand count."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from pht.core.errors import PhtError
from pht.evaluation.indicators import (
    gp_minutes,
    indicator,
    indicator_cells,
    indicator_table,
    person_quarter_panel,
    targets_from_diagnoses,
    targets_from_truth,
)
from pht.reference import load_sources
from pht.reference.files import read_toml
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse

from .test_indicators import GP, PRACTICE, Q1, Q2, TARGETS, A, B, C, _tables

GP3, D = "1000003", "P4"  # a second GP of the practice, with one listed person
# A's diabetes is type 2 (coded T90): the population of acsc_diabetes
TYPE2 = pd.DataFrame(
    {"person_id": [A], "group": ["type2_diabetes"], "since": pd.to_datetime(["2018-02-10"])}
)


def _more_tables() -> dict[str, pd.DataFrame]:
    t = _tables()
    d = dt.date
    pr = t["practitioners"]
    t["practitioners"] = pd.concat(
        [pr, pr[pr["practitioner_id"] == GP].assign(practitioner_id=GP3)], ignore_index=True
    )
    p = t["persons"]
    t["persons"] = pd.concat(
        [p, p[p["person_id"] == A].assign(person_id=D, birth_date=d(1960, 1, 1))],
        ignore_index=True,
    )
    lm = t["list_memberships"]
    t["list_memberships"] = pd.concat(
        [lm, lm[lm["person_id"] == A].assign(person_id=D, gp_id=GP3)], ignore_index=True
    )
    c = t["contacts"]
    extra = c[c["contact_id"] == "c0"].assign(
        contact_id="c99",
        practitioner_id=GP,
        date=d(2018, 4, 5),
        setting="office",
        diagnoses="T90",
        tariffs="14",
    )
    t["contacts"] = pd.concat([c, extra], ignore_index=True)
    a = t["admissions"]
    t["admissions"] = pd.concat(
        [
            a,
            pd.DataFrame(
                {
                    "admission_id": ["a4", "a5"],
                    "person_id": [A, A],
                    "admitted": [d(2018, 4, 15), d(2018, 6, 25)],
                    "discharged": [d(2018, 4, 17), d(2018, 6, 26)],
                    "main_diagnosis": ["E119", "E115"],
                    "other_diagnoses": None,
                    "acute": [True, False],
                }
            ),
        ],
        ignore_index=True,
    )
    return t


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    w = Warehouse.open(":memory:")
    w.init()
    with w.transaction():
        for name, df in _more_tables().items():
            w.replace_rows(
                name, pa.Table.from_pandas(df, preserve_index=False), key=TABLES[name].key
            )
    return w


@pytest.fixture(scope="module")
def panel(wh: Warehouse) -> ibis.Table:
    targets = pd.concat([TARGETS, TYPE2], ignore_index=True)
    return person_quarter_panel(wh, first_quarter=Q1, last_quarter=Q2, targets=targets).cache()


def _value(wh: Warehouse, panel: ibis.Table, name: str, q: int = Q2) -> tuple[int, float]:
    cells = indicator_cells(
        wh, panel, indicator(name), level="practice", first_quarter=Q1, last_quarter=Q2
    )
    row = cells[(cells["practice_id"] == PRACTICE) & (cells["q"] == q)]
    return int(row["n"].iloc[0]), float(row["y_mean"].iloc[0])


def test_gp_hours_count_the_minutes_of_each_claim_by_a_gp(wh: Warehouse, panel: ibis.Table) -> None:
    # A in Q2 with a GP, daytime: 074a 15, 2ad+2cd 15+15, 2ad 15, 074b 15, 11ad 60, 1f 15 and
    # 14 15 minutes = 165; B: 2ad with the own GP and 2ad with another GP = 30; C and D none.
    # The nurse's claims and the out-of-hours 2ak are not GP working time.
    assert gp_minutes()["consultation"][0] == 15
    n, value = _value(wh, panel, "gp_hours")
    assert n == 4
    assert value == pytest.approx((165 + 30) / 60 / 4)


def test_list_length_is_listed_persons_per_gp_with_a_list(wh: Warehouse, panel: ibis.Table) -> None:
    # A, B and C with GP, D with GP3 on 1 April: 4 persons, 2 GPs; on 1 January the same
    assert _value(wh, panel, "list_length") == (4, 2.0)
    assert _value(wh, panel, "list_length", Q1) == (4, 2.0)
    with pytest.raises(PhtError, match="per GP"):
        indicator_cells(
            wh, panel, indicator("list_length"), level="person", first_quarter=Q1, last_quarter=Q2
        )
    table = indicator_table(wh, panel, indicator("list_length"), first_quarter=Q1, last_quarter=Q2)
    assert set(table["target_group"]) == {"all"}


def test_acsc_for_type_2_diabetes_counts_acute_e11_only(wh: Warehouse, panel: ibis.Table) -> None:
    # A (the only type 2 diabetes patient) in Q2: acute E119 counts; the elective E115, the acute
    # J441 (an ACSC, not diabetes) and the acute S720 do not
    assert indicator("acsc_diabetes").population == "type2_diabetes"
    assert _value(wh, panel, "acsc_diabetes") == (1, 1.0)
    assert _value(wh, panel, "acsc_admissions") == (1, 2.0)  # J441 and E119
    # the population is the type 2 diabetes patients (JHE25), not the target group: with A in
    # the target group but not known as type 2, nobody is measured
    other = person_quarter_panel(wh, first_quarter=Q1, last_quarter=Q2, targets=TARGETS).cache()
    cells = indicator_cells(
        wh, other, indicator("acsc_diabetes"), level="practice", first_quarter=Q1, last_quarter=Q2
    )
    assert cells["n"].sum() == 0
    assert _value(wh, other, "acsc_admissions") == (1, 2.0)


def test_type_2_diabetes_patients_come_from_t90(wh: Warehouse, tmp_path: Path) -> None:
    # the diagnosis rule: from the first contact coded T90 (A on 20 February 2018; B has none)
    got = targets_from_diagnoses(wh).to_pandas()
    t2 = got[got["group"] == "type2_diabetes"]
    assert list(t2["person_id"]) == [A]
    assert pd.Timestamp(t2["since"].iloc[0]) == pd.Timestamp("2018-02-20")
    # the generator's truth: diabetes whose code is T90 (B's T89 is type 1); an older truth
    # without the code column has no type 2 population
    truth = pd.DataFrame(
        {
            "person_id": [A, B, C],
            "condition": ["diabetes", "diabetes", "copd"],
            "onset_date": [dt.date(2018, 2, 10)] * 3,
            "icpc2": ["T90", "T89", "R95"],
        }
    )
    truth.to_parquet(tmp_path / "conditions.parquet", index=False)
    groups = targets_from_truth(tmp_path)
    assert list(groups[groups["group"] == "type2_diabetes"]["person_id"]) == [A]
    truth.drop(columns="icpc2").to_parquet(tmp_path / "conditions.parquet", index=False)
    assert "type2_diabetes" not in set(targets_from_truth(tmp_path)["group"])


def test_collaboration_is_split_by_the_services_the_patient_uses(
    wh: Warehouse, panel: ibis.Table
) -> None:
    # A's collaboration claims in Q2: 14 on 5 April (8-10 days before the stay of 15-17 April:
    # specialist; the long-term stay starts 20 June: too far for municipal) and 1f on 7 June
    # (5 days after the discharge of 2 June: specialist; 13 days before the long-term stay:
    # municipal)
    assert _value(wh, panel, "coordination_specialist") == (1, 2.0)
    assert _value(wh, panel, "coordination_municipal") == (1, 1.0)
    assert _value(wh, panel, "coordination_contacts") == (1, 2.0)


def test_every_figure_of_gp_time_carries_status_and_source() -> None:
    data = read_toml("evaluation/indicators.toml")
    sources = load_sources()
    for _, (minutes, status, source) in gp_minutes().items():
        assert minutes > 0 and status in ("C", "D", "A") and source in sources
    assert data["codes"]["acsc_diabetes_source"] in sources
