"""The distributions that matter, against the reference figures, within stated tolerances."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest

from pht.synth.params import CONDITIONS, load_params
from pht.synth.simulate import _curve

DAY = dt.date(2019, 1, 1)
# Alive and listed on DAY, with age and sex.
ALIVE = (
    "select distinct q.person_id, p.sex, "
    "datediff('day', p.birth_date, q.quarter_start) / 365.25 as age "
    "from truth_person_quarters q join persons p using (person_id) "
    f"where q.quarter_start = date '{DAY}'"
)


def test_age_and_sex_structure_resembles_statistics_norway(db: duckdb.DuckDBPyConnection) -> None:
    """SSB 2015: about 22 % under 18, 15 % aged 67+, half women (tolerance ±4 points)."""
    params = load_params().section("population")
    lower = np.asarray(params["age_band_lower"], float)
    total = np.asarray(params["male_thousands"]) + np.asarray(params["female_thousands"])
    under_18 = (total[lower < 15].sum() + total[lower == 15].sum() * 3 / 5) / total.sum()
    over_67 = (total[lower >= 70].sum() + total[lower == 65].sum() * 3 / 5) / total.sum()
    row = db.execute(
        f"select avg((age < 18)::int), avg((age >= 67)::int), avg((sex = 'F')::int), count(*) "
        f"from ({ALIVE})"
    ).fetchone()
    assert row[0] == pytest.approx(under_18, abs=0.04)
    assert row[1] == pytest.approx(over_67, abs=0.04)
    assert row[2] == pytest.approx(0.5, abs=0.02)
    assert row[3] == pytest.approx(20_000, rel=0.05)


def test_prevalence_by_age_band_and_sex_follows_the_reference_figures(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Each condition's prevalence per age band and sex is within 4 standard errors (+10 %) of
    the reference curve evaluated at the persons' ages."""
    morb = load_params().section("morbidity")
    grid = np.arange(0.0, 111.0, 0.1)
    people = db.execute(ALIVE).fetchall()
    index = {pid: i for i, (pid, _, _) in enumerate(people)}
    age = np.array([a for _, _, a in people])
    male = np.array([s == "M" for _, s, _ in people])
    has = np.zeros((len(people), len(CONDITIONS)), dtype=bool)
    for pid, cond in db.execute(
        f"select person_id, condition from truth_conditions where onset_date <= date '{DAY}'"
    ).fetchall():
        if pid in index:
            has[index[pid], CONDITIONS.index(cond)] = True
    bands = np.searchsorted(np.asarray(morb["age_band_lower"]), age, side="right") - 1
    checked = 0
    for ci, name in enumerate(CONDITIONS):
        cond = morb["conditions"][name]
        for sex, key in ((False, "female"), (True, "male")):
            curve = _curve(morb["age_band_lower"], cond[key], grid)
            for b in np.unique(bands):
                sel = (bands == b) & (male == sex)
                if sel.sum() < 200:
                    continue
                expected = np.interp(age[sel], grid, curve).mean()
                if expected < 0.01:
                    continue
                observed = has[sel, ci].mean()
                se = np.sqrt(expected * (1 - expected) / sel.sum())
                assert abs(observed - expected) <= 4 * se + 0.1 * expected, (name, key, b)
                checked += 1
    assert checked > 40
    # Multimorbidity: conditions cluster (latent health factor): pairs co-occur more than chance.
    old = age >= 60
    d, h = has[old, CONDITIONS.index("diabetes")], has[old, CONDITIONS.index("heart_failure")]
    assert (d & h).mean() > 1.2 * d.mean() * h.mean()


def _person_years(db: duckdb.DuckDBPyConnection, year: int) -> str:
    return (
        "select q.person_id, p.sex, count(*) / 4.0 as years, "
        f"datediff('day', p.birth_date, date '{year}-07-01') / 365.25 as age "
        "from truth_person_quarters q join persons p using (person_id) "
        f"where year(q.quarter_start) = {year} group by all"
    )


GP_CONSULTATION = (
    "select c.person_id, count(*) n from contacts c join roles r using (practitioner_id) "
    "where year(c.date) = {year} and r.role = 'gp' and c.setting <> 'out_of_hours' "
    "and split_part(c.tariffs, ' ', 1) in "
    "('2ad', '2ak', '2ae', '11ad', '074a', '074b', '074d', '074ae', '086a') group by 1"
)


def test_gp_consultations_per_person_and_year_match_ssb(db: duckdb.DuckDBPyConnection) -> None:
    """SSB 2023: 3.0 consultations per inhabitant; 0-5: 1.9, 20-29: 2.6, 50-66: 3.5,
    67-79: 3.9, 80-89: 4.8; women more than men (tolerance ±15 %, overall ±10 %)."""
    year = 2019
    rows = db.execute(
        f"with py as ({_person_years(db, year)}), c as ({GP_CONSULTATION.format(year=year)}) "
        "select case when age < 6 then '0-5' when age >= 20 and age < 30 then '20-29' "
        "when age >= 50 and age < 67 then '50-66' when age >= 67 and age < 80 then '67-79' "
        "when age >= 80 and age < 90 then '80-89' else 'other' end band, "
        "sum(coalesce(n, 0)) / sum(years) from py left join c using (person_id) group by 1"
    ).fetchall()
    rate = dict(rows)
    for band, ssb in {"0-5": 1.9, "20-29": 2.6, "50-66": 3.5, "67-79": 3.9, "80-89": 4.8}.items():
        assert rate[band] == pytest.approx(ssb, rel=0.15), band
    overall, women, men = db.execute(
        f"with py as ({_person_years(db, year)}), c as ({GP_CONSULTATION.format(year=year)}) "
        "select sum(coalesce(n, 0)) / sum(years), "
        "sum(coalesce(n, 0)) filter (where sex = 'F') / sum(years) filter (where sex = 'F'), "
        "sum(coalesce(n, 0)) filter (where sex = 'M') / sum(years) filter (where sex = 'M') "
        "from py left join c using (person_id)"
    ).fetchone()
    assert overall == pytest.approx(3.0, rel=0.10)
    assert women > 1.2 * men


def test_gp_consultations_peak_in_winter_and_dip_in_summer(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """The seasonal factors of use.season_factor: the third quarter (summer holidays) has the
    fewest GP consultations, the first (winter) the most; GP by role, not out of hours."""
    rows = db.execute(
        "select quarter(c.date) q, count(*) from contacts c join roles r using (practitioner_id) "
        "where r.role = 'gp' and c.setting <> 'out_of_hours' "
        "and year(c.date) between 2016 and 2019 group by 1"
    ).fetchall()
    per_day = {q: n / (90.25 if q == 1 else 91.0 if q == 2 else 92.0) for q, n in rows}
    assert per_day[3] < 0.93 * per_day[2]
    assert per_day[1] > per_day[2] and per_day[4] > per_day[2]


def test_admission_rate_follows_the_reference_figures(db: duckdb.DuckDBPyConnection) -> None:
    """Acute and elective stays per person-year within 15 % of the rates by age band."""
    adm = load_params().section("admissions")
    lower = np.asarray(adm["age_band_lower"])
    rate = np.asarray(adm["acute_per_year"]) + np.asarray(adm["elective_per_year"])
    year = 2019
    people = db.execute(_person_years(db, year)).fetchall()
    years = np.array([y for _, _, y, _ in people])
    ages = np.array([a for _, _, _, a in people])
    expected = (rate[np.searchsorted(lower, ages, side="right") - 1] * years).sum()
    acsc = [c for codes in adm["acsc_icd10"].values() for c in codes]
    observed = db.execute(
        "select count(*) from admissions where year(admitted) = ? and not (acute and "
        "main_diagnosis in (select unnest(?)))",
        [year, acsc],
    ).fetchone()[0]
    assert observed == pytest.approx(expected, rel=0.15)
    share_acute = db.execute("select avg(acute::int) from admissions").fetchone()[0]
    assert 0.6 < share_acute < 0.9


def test_weak_demanders_have_needs_but_few_contacts(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute(
        f"with py as ({_person_years(db, 2019)}), c as ({GP_CONSULTATION.format(year=2019)}) "
        "select t.weak_demander, sum(coalesce(n, 0)) / sum(years), count(*) "
        "from py left join c using (person_id) join truth_persons t using (person_id) "
        "where t.ever_target and py.age >= 40 group by 1"
    ).fetchall()
    rate = {weak: r for weak, r, _ in rows}
    count = {weak: k for weak, _, k in rows}
    assert count[True] > 0.05 * (count[True] + count[False])
    assert rate[True] < 0.5 * rate[False]


def test_frailty_rises_with_age_and_municipal_services_go_to_the_frail(
    db: duckdb.DuckDBPyConnection,
) -> None:
    rows = db.execute(
        f"select floor(age / 20) g, avg(q.frailty) from ({ALIVE}) a "
        "join truth_person_quarters q using (person_id) "
        f"where q.quarter_start = date '{DAY}' group by 1 order by 1"
    ).fetchall()
    means = [m for _, m in rows if _ <= 4]
    assert means == sorted(means)
    frail = db.execute(
        "select avg(t.frailty) from municipal_services s join truth_persons t using (person_id)"
    ).fetchone()[0]
    everyone = db.execute("select avg(frailty) from truth_persons").fetchone()[0]
    assert frail > 2 * everyone
