"""The manifest's true effects are really in the data.

A plain difference in differences — pilot practices that joined on 1 April 2018 against the
comparison practices, quarters before against quarters in the scheme — must recover each planted
effect within four standard errors. The standard error is clustered by person (the influence of
each person's rows summed before squaring): a person's quarters are correlated, so a variance over
person-quarters as if independent would understate it by about half.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest

from pht.synth import SynthResult

START, END = "2018-04-01", "2023-04-01"

CELLS = f"""
    select q.person_id, q.quarter_start, q.target, p.pht_start is not null as pilot,
           q.quarter_start >= date '{START}' as post
    from truth_person_quarters q join practices p using (practice_id)
    where q.quarter_start < date '{END}'
      and (p.pht_start is null or p.pht_start = date '{START}')
"""

COUNTS = {
    "nurse_consultations": (
        "select c.person_id, date_trunc('quarter', c.date)::date q, count(*) n from contacts c "
        "join roles r using (practitioner_id) where r.role = 'nurse' group by all",
        "target",
    ),
    "home_visits": (
        "select person_id, date_trunc('quarter', date)::date q, count(*) n from contacts "
        "where split_part(tariffs, ' ', 1) in ('11ad', '11ak', 'pht02', '086a', '086b') "
        "group by all",
        "target",
    ),
    "annual_checks": (
        "select person_id, date_trunc('quarter', date)::date q, count(*) n from contacts "
        "where tariffs in ('2ad 2cd', '074b') "
        "and split_part(diagnoses, ' ', 1) in ('T89', 'T90', 'R95') "
        "group by all",
        "exists (select 1 from truth_conditions t where t.person_id = cells.person_id "
        "and t.condition in ('diabetes', 'copd') and t.onset_date <= cells.quarter_start)",
    ),
    "acsc_admissions": (
        "select person_id, date_trunc('quarter', admitted)::date q, count(*) n from admissions "
        "where acute and main_diagnosis in (select unnest($codes)) group by all",
        "target",
    ),
    "gp_consultations": (
        "select c.person_id, date_trunc('quarter', c.date)::date q, count(*) n from contacts c "
        "join roles r using (practitioner_id) where r.role = 'gp' and c.setting <> "
        "'out_of_hours' and split_part(c.tariffs, ' ', 1) in ('2ad', '2ak', '2ae', '11ad', "
        "'074a', '074b', '074d', '074ae', '086a') group by all",
        "true",
    ),
    "out_of_hours": (
        "select person_id, date_trunc('quarter', date)::date q, count(*) n from contacts "
        "where setting = 'out_of_hours' group by all",
        "true",
    ),
}

SURVEYS = {
    "patient_activation": ("pam", "score"),
    "coordination": ("prem", "coordination"),
    "satisfaction": ("prem", "satisfaction"),
    "eq5d_index": ("eq5d5l", "index"),
}


def _did(rows: list[tuple[str, bool, bool, float]]) -> tuple[float, float]:
    """Difference in differences and its person-clustered standard error from rows of
    (person_id, pilot, post, value)."""
    person = np.array([r[0] for r in rows])
    cell = np.array([2 * bool(r[1]) + bool(r[2]) for r in rows])
    y = np.array([float(r[3]) for r in rows])
    n = np.bincount(cell, minlength=4).astype(float)
    mean = np.bincount(cell, y, minlength=4) / n
    sign = np.array([1.0, -1.0, -1.0, 1.0])  # (comparison, pre) ... (pilot, post)
    est = float(sign @ mean)
    influence = sign[cell] * (y - mean[cell]) / n[cell]
    _, who = np.unique(person, return_inverse=True)
    per_person = np.bincount(who, influence)
    return est, float(np.sqrt(np.sum(per_person**2)))


@pytest.fixture(scope="module")
def effects(pilot_extract: SynthResult) -> dict[str, dict]:
    manifest = json.loads((pilot_extract.out / "manifest.json").read_text("utf-8"))
    return {e["indicator"]: e for e in manifest["effects"]}


@pytest.mark.parametrize("indicator", list(COUNTS))
def test_planted_count_effects_are_in_the_data(
    db: duckdb.DuckDBPyConnection, effects: dict[str, dict], indicator: str
) -> None:
    numerator, population = COUNTS[indicator]
    codes = effects["acsc_admissions"]["codes"]
    sql = (
        f"with cells as ({CELLS}), n as ({numerator.replace('$codes', '?')}) "
        "select cells.person_id, pilot, post, coalesce(n.n, 0) "
        "from cells left join n on n.person_id = cells.person_id and n.q = cells.quarter_start "
        f"where {population}"
    )
    rows = db.execute(sql, [codes] if "$codes" in numerator else []).fetchall()
    est, se = _did(rows)
    true = effects[indicator]["true_effect"]
    assert abs(est - true) <= 4 * se + 1e-4, (indicator, est, true, se)


@pytest.mark.parametrize("indicator", list(SURVEYS))
def test_planted_survey_effects_are_in_the_data(
    db: duckdb.DuckDBPyConnection, effects: dict[str, dict], indicator: str
) -> None:
    instrument, item = SURVEYS[indicator]
    rows = db.execute(
        "select s.person_id, p.pht_start is not null, s.date >= ?::date, value "
        "from survey_responses s join practices p using (practice_id) "
        "where instrument = ? and item = ? and s.date < ?::date "
        "and (p.pht_start is null or p.pht_start = ?::date)",
        [START, instrument, item, END, START],
    ).fetchall()
    est, se = _did(rows)
    true = effects[indicator]["true_effect"]
    assert abs(est - true) <= 4 * se + 1e-4, (indicator, est, true, se)


def test_nurse_contacts_only_in_the_scheme(db: duckdb.DuckDBPyConnection) -> None:
    outside = db.execute(
        "select count(*) from contacts c join roles r using (practitioner_id) "
        "join practices p using (practice_id) where r.role = 'nurse' "
        "and (p.pht_start is null or c.date < p.pht_start or c.date > p.pht_end)"
    ).fetchone()[0]
    assert outside == 0
    grant_codes_outside = db.execute(
        "select count(*) from contacts c join practices p using (practice_id) "
        "where split_part(c.tariffs, ' ', 1) in ('074a', '074b', '074d', '074ae', '086a', '070', "
        "'071a') and (p.financing_model is distinct from 'grant' or c.date < p.pht_start "
        "or c.date > p.pht_end)"
    ).fetchone()[0]
    assert grant_codes_outside == 0


def test_expected_acsc_rates_in_the_truth_carry_the_planted_effect(
    db: duckdb.DuckDBPyConnection, effects: dict[str, dict]
) -> None:
    """truth/person_quarters: expected ACSC admissions with and without the team; their mean
    difference over treated person-quarters is the manifest's effect, and zero elsewhere."""
    treated, untreated = db.execute(
        "select avg(acsc_expected - acsc_counterfactual) filter (where treated), "
        "max(abs(acsc_expected - acsc_counterfactual)) filter (where not treated) "
        "from truth_person_quarters"
    ).fetchone()
    assert treated == pytest.approx(effects["acsc_admissions"]["true_effect"], rel=1e-3)
    assert untreated == 0


def test_expected_e11_rates_carry_the_type_2_effect_on_type_2_patients_only(
    db: duckdb.DuckDBPyConnection, effects: dict[str, dict]
) -> None:
    """acsc_diabetes is measured on type 2 diabetes patients (T90, JHE25): the truth's expected
    E11 admissions differ with and without the team, on average by the manifest's effect, over
    exactly the treated person-quarters of that population, and are zero for everyone else."""
    t2 = (
        "exists (select 1 from truth_conditions t where t.person_id = q.person_id "
        "and t.condition = 'diabetes' and t.icpc2 = 'T90' and t.onset_date <= q.quarter_start)"
    )
    treated, n, outside, others = db.execute(
        "select avg(acsc_diabetes_expected - acsc_diabetes_counterfactual) "
        f"filter (where treated and {t2}), count(*) filter (where treated and {t2}), "
        "max(abs(acsc_diabetes_expected - acsc_diabetes_counterfactual)) "
        f"filter (where not (treated and {t2})), "
        f"max(acsc_diabetes_expected) filter (where not {t2}) from truth_person_quarters q"
    ).fetchone()
    assert n > 100
    true = effects["acsc_diabetes"]["true_effect"]
    assert true < 0 and treated == pytest.approx(true, rel=1e-3)
    assert outside == 0 and others == 0
    # the E11 part never exceeds all ACSC admissions
    over = db.execute(
        "select count(*) from truth_person_quarters "
        "where acsc_diabetes_expected > acsc_expected + 1e-6"
    ).fetchone()[0]
    assert over == 0
