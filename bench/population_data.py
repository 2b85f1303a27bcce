"""A national-size synthetic warehouse for the population benchmark, made with numpy.

Not the project's generator (pht.synth): a quick, reproducible table of the right size
and shape (persons, lists, one year of contacts with ICPC-2 codes and tariffs, admissions with
ICD-10 codes, municipal services), written straight into DuckDB through Arrow.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from pht.registry import TABLES, Warehouse

YEAR_START = dt.date(2022, 1, 1)
AS_OF = dt.date(2023, 1, 1)

# condition: (ICPC-2 code, ICD-10 code, prevalence under 67, prevalence 67+)
CONDITIONS = {
    "diabetes": ("T90", "E119", 0.03, 0.14),
    "copd": ("R95", "J449", 0.01, 0.08),
    "asthma": ("R96", "J459", 0.06, 0.05),
    "heart_failure": ("K77", "I509", 0.002, 0.04),
    "coronary_disease": ("K76", "I251", 0.01, 0.12),
    "atrial_fibrillation": ("K78", "I489", 0.005, 0.09),
    "hypertension": ("K86", "I10", 0.08, 0.40),
    "stroke": ("K90", "I639", 0.002, 0.03),
    "dementia": ("P70", "F03", 0.0005, 0.05),
    "depression_anxiety": ("P76", "F329", 0.08, 0.06),
    "severe_mental_illness": ("P72", "F209", 0.008, 0.006),
    "substance_use": ("P15", "F102", 0.01, 0.006),
    "developmental_disability": ("P85", "F799", 0.004, 0.002),
}
ACUTE_ICPC2 = ["R74", "A04", "L03", "S18", "D73", "U71", "N01", "R05", "L86", "P06", "N17", "R02"]
TARIFFS = ["2ad", "2ad 2cd", "1bd", "2ae", "11ad", "pht01 2cd", "1ad", "074b"]
TARIFF_P = [0.45, 0.08, 0.2, 0.12, 0.02, 0.03, 0.08, 0.02]


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("int32"), type=pa.int32()).cast(pa.date32())


def _strings(values: list[str], idx: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(idx.astype("int32")), pa.array(values, pa.string())
    ).cast(pa.string())


def build(path: Path, persons: int, seed: int = 1) -> dict[str, int]:
    """Write a warehouse with *persons* listed persons to *path*; rows per table."""
    rng = np.random.default_rng(seed)
    n = persons
    n_gp = max(1, n // 1120)
    n_practice = max(1, n_gp // 3)
    pids = np.char.add("p", np.arange(n).astype(str)).astype(object)
    age = np.minimum(rng.gamma(2.2, 19.0, n), 104).astype(int)
    birth = _day(AS_OF) - age * 365 - rng.integers(1, 364, n)
    sex = rng.integers(0, 2, n)
    old = age >= 67
    cond_names = list(CONDITIONS)
    has = np.zeros((n, len(cond_names)), dtype=bool)
    for j, c in enumerate(cond_names):
        _, _, p_young, p_old = CONDITIONS[c]
        has[:, j] = rng.random(n) < np.where(old, p_old, p_young)
    ncond = has.sum(1)

    practice_ids = np.char.add("9", np.char.zfill(np.arange(n_practice).astype(str), 8))
    gp_ids = np.char.add("1", np.char.zfill(np.arange(n_gp).astype(str), 6))
    nurse_ids = np.char.add("2", np.char.zfill(np.arange(n_practice).astype(str), 6))
    gp_practice = np.arange(n_gp) % n_practice
    person_gp = rng.integers(0, n_gp, n)

    tables: dict[str, pa.Table] = {}
    tables["municipalities"] = pa.table(
        {"municipality_code": ["0301"], "name": ["Oslo"], "population": [n], "centrality": [1]}
    )
    tables["practices"] = pa.table(
        {
            "practice_id": practice_ids.astype(object),
            "name": practice_ids.astype(object),
            "municipality_code": np.full(n_practice, "0301", dtype=object),
        }
    )
    tables["practitioners"] = pa.table(
        {
            "practitioner_id": np.concatenate([gp_ids, nurse_ids]).astype(object),
            "practice_id": np.concatenate([practice_ids[gp_practice], practice_ids]).astype(object),
            "role": np.array(["gp"] * n_gp + ["nurse"] * n_practice, dtype=object),
            "start": _dates(np.full(n_gp + n_practice, _day(dt.date(2010, 1, 1)))),
        }
    )
    tables["persons"] = pa.table(
        {
            "person_id": pids,
            "birth_date": _dates(birth),
            "sex": _strings(["F", "M"], sex),
            "municipality_code": _strings(["0301"], np.zeros(n, dtype=int)),
        }
    )
    tables["list_memberships"] = pa.table(
        {
            "person_id": pids,
            "gp_id": _strings(list(gp_ids), person_gp),
            "start": _dates(np.full(n, _day(dt.date(2015, 1, 1)))),
        }
    )
    # contacts: one year
    lam = 1.6 + 0.03 * age + 1.2 * ncond
    k = rng.poisson(lam)
    who = np.repeat(np.arange(n), k)
    m = who.size
    chronic = (rng.random(m) < 0.6) & (ncond[who] > 0)
    # pick one of the person's conditions: the first set bit after a random rotation
    rot = rng.integers(0, len(cond_names), m)
    h = has[who]
    rolled = np.take_along_axis(
        h, (np.arange(len(cond_names))[None, :] + rot[:, None]) % len(cond_names), 1
    )
    first = (np.argmax(rolled, 1) + rot) % len(cond_names)
    vocab = [CONDITIONS[c][0] for c in cond_names] + ACUTE_ICPC2
    diag = np.where(chronic, first, len(cond_names) + rng.integers(0, len(ACUTE_ICPC2), m))
    tariff = rng.choice(len(TARIFFS), m, p=TARIFF_P)
    nurse = np.isin(tariff, [5])
    prac = gp_practice[person_gp[who]]
    practitioner = np.where(nurse, n_gp + prac, person_gp[who])
    all_ids = list(gp_ids) + list(nurse_ids)
    date = _day(YEAR_START) + rng.integers(0, 365, m)
    setting = np.where(np.isin(tariff, [4]), 1, np.where(np.isin(tariff, [2]), 3, 0))
    tables["contacts"] = pa.table(
        {
            "contact_id": pa.array(np.arange(m).astype(str).astype(object)),
            "person_id": pa.array(pids[who]),
            "practitioner_id": _strings(all_ids, practitioner),
            "practice_id": _strings(list(practice_ids), prac),
            "date": _dates(date),
            "setting": _strings(["office", "home", "video", "phone"], setting),
            "diagnoses": _strings(vocab, diag),
            "tariffs": _strings(TARIFFS, tariff),
        }
    )
    # admissions: a risk rising with age and conditions
    p_adm = 1 / (1 + np.exp(-(-4.2 + 0.03 * age + 0.35 * ncond)))
    n_adm = rng.binomial(2, p_adm)
    aw = np.repeat(np.arange(n), n_adm)
    ma = aw.size
    cond_of = np.argmax(has[aw], 1)
    icd = [CONDITIONS[c][1] for c in cond_names] + ["J189", "S720", "N390", "R55"]
    main = np.where(ncond[aw] > 0, cond_of, len(cond_names) + rng.integers(0, 4, ma))
    adm_day = _day(YEAR_START) + rng.integers(0, 360, ma)
    tables["admissions"] = pa.table(
        {
            "admission_id": pa.array(np.arange(ma).astype(str).astype(object)),
            "person_id": pa.array(pids[aw]),
            "admitted": _dates(adm_day),
            "discharged": _dates(adm_day + rng.integers(0, 8, ma)),
            "main_diagnosis": _strings(icd, main),
            "acute": pa.array(rng.random(ma) < 0.7),
        }
    )
    svc_p = np.where(age >= 80, 0.25, np.where(age >= 67, 0.05, 0.005))
    sv = np.flatnonzero(rng.random(n) < svc_p)
    kind = rng.integers(0, 3, sv.size)
    tables["municipal_services"] = pa.table(
        {
            "person_id": pa.array(pids[sv]),
            "service": _strings(["home_nursing", "safety_alarm", "practical_help"], kind),
            "start": _dates(_day(YEAR_START) - rng.integers(0, 1500, sv.size)),
        }
    )
    if path.exists():
        path.unlink()
    with Warehouse.open(path) as wh:
        wh.init()
        raw = wh.con.con
        for name, table in tables.items():
            spec = TABLES[name]
            cols = {}
            for c in spec.columns:
                if c.name in table.column_names:
                    cols[c.name] = table[c.name]
                else:
                    cols[c.name] = pa.nulls(table.num_rows)
            full = pa.table(cols).cast(spec.schema.to_pyarrow())
            raw.register("_incoming", full)
            raw.execute(f'INSERT INTO "{name}" SELECT * FROM _incoming')
            raw.unregister("_incoming")
    return {name: t.num_rows for name, t in tables.items()}
