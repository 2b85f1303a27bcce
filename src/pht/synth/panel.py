"""The ``panel`` scenario: a small, stylised pilot with planted effects, for checking estimators.

One of the scenarios of the synthetic generator (``pht.synth``; ``generate("panel", ...)`` writes
it like the others). Where the ``pilot`` and ``national`` scenarios model Norway's population and
services, this one draws a reduced pilot (pilot practices with staggered starts on both financing
models, plus practices outside the scheme) with few moving parts and additive true effects on the
contract's indicators, and returns the truth (target-group membership) beside it, so that the
evaluation's estimators can be validated on their own and quickly: everything is vectorised over
person-quarters; one extract of ~15,000 persons over 6 years takes about a second. Its event ids
carry the extract's tag like every scenario's (docs/synthetic-data.md, "Identifiers").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pht.core.identifiers import make_orgnr
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse
from pht.synth.ids import extract_tag, synthetic_person_ids

__all__ = ["DEFAULT_EFFECTS", "SimulatedExtract", "simulate_extract"]


def quarter_index(day: dt.date) -> int:
    """The quarter of *day* as one integer (year * 4 + quarter - 1)."""
    return day.year * 4 + (day.month - 1) // 3


def quarter_start(q: int) -> dt.date:
    """The first day of quarter *q*."""
    return dt.date(q // 4, (q % 4) * 3 + 1, 1)


#: True additive effects (ATT per person-quarter) the simulation plants, by indicator name.
DEFAULT_EFFECTS: dict[str, float] = {
    "nurse_consultations": 0.6,
    "annual_checks": 0.1,
    "home_visits": 0.08,
    "acsc_admissions": -0.012,
    "patient_activation": 3.0,
    "coordination": 0.3,
    "satisfaction": 0.2,
    "coordination_contacts": 0.1,
    "eq5d_index": 0.0,
    "gp_consultations": 0.0,
    "out_of_hours": 0.0,
}

_MUNICIPALITIES = [
    ("0301", "Oslo", 700_000, 1),
    ("4204", "Kristiansand", 115_000, 2),
    ("3411", "Ringsaker", 35_000, 3),
    ("1833", "Rana", 26_000, 4),
    ("1119", "Hå", 19_000, 4),
    ("3818", "Seljord", 3_000, 6),
]
_ACSC = np.array(["J441", "I509", "E119", "J189", "N390"])
_OTHER_ACUTE = np.array(["S720", "K359", "I219", "R074"])
_CONDITIONS = np.array(
    ["diabetes", "copd", "heart_failure", "depression_anxiety", "dementia", "substance_use"]
)
_CONDITION_CODE = {
    "diabetes": "T90",
    "copd": "R95",
    "heart_failure": "K77",
    "depression_anxiety": "P76",
    "dementia": "P70",
    "substance_use": "P15",
}
_OTHER_DIAGNOSES = np.array(["A04", "R74", "L03", "S93", "D11", "A97"])


@dataclass
class SimulatedExtract:
    """The simulated tables (extract format), the truth and the planted effects."""

    tables: dict[str, pd.DataFrame]
    targets: pd.DataFrame  # person_id, group, since (the generator's truth, as contracted)
    effects: dict[str, float]
    first_quarter: int
    last_quarter: int
    seed: int
    conditions: pd.DataFrame  # person_id, condition (the truth's condition names)
    assumptions: list[str] = field(default_factory=list)

    def write(self, warehouse: Warehouse) -> None:
        """Create the warehouse tables and insert every simulated table, in one transaction."""
        warehouse.init()
        with warehouse.transaction():
            for name, df in self.tables.items():
                spec = TABLES[name]
                warehouse.replace_rows(
                    name, pa.Table.from_pandas(df, preserve_index=False), key=spec.key
                )

    def write_truth(self, folder: str | Path) -> Path:
        """Write the truth as the generator does: conditions.parquet and persons.parquet."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        t = self.targets
        cond = t[~t["group"].isin(["diabetes_copd", "type2_diabetes"])].dropna(subset=["since"])
        cond = cond.merge(self.conditions, on="person_id")
        cond["icpc2"] = cond["condition"].map(_CONDITION_CODE)
        cond[["person_id", "condition", "since", "icpc2"]].rename(
            columns={"since": "onset_date"}
        ).to_parquet(out / "conditions.parquet", index=False)
        frail = set(t.loc[t["since"].isna(), "person_id"])
        persons = self.tables["persons"][["person_id"]].copy()
        persons["frailty_band"] = [
            "moderate" if p in frail else "fit" for p in persons["person_id"]
        ]
        persons.to_parquet(out / "persons.parquet", index=False)
        return out

    def manifest(self) -> dict[str, object]:
        """A manifest.json-style description of the planted effects."""
        return {
            "scenario": "panel",
            "seed": self.seed,
            "generated_with": "pht.synth (panel)",
            "effects": [
                {"indicator": k, "true_effect": v, "scale": "additive"}
                for k, v in self.effects.items()
            ],
            "assumptions": self.assumptions,
        }


def _orgnrs(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        nr = make_orgnr(str(int(rng.integers(80_000_000, 99_999_999))))
        if nr and nr not in out:
            out.append(nr)
    return out


def simulate_extract(
    seed: int,
    *,
    pilot_practices: int = 12,
    comparison_practices: int = 24,
    persons_per_practice: int = 400,
    first_year: int = 2016,
    years: int = 6,
    effects: dict[str, float] | None = None,
    pilot_start: dt.date = dt.date(2018, 4, 1),
    late_start: dt.date = dt.date(2020, 4, 1),
) -> SimulatedExtract:
    """Draw one reduced pilot with planted additive effects (see the module doc)."""
    rng = np.random.default_rng(seed)
    eff = {**DEFAULT_EFFECTS, **(effects or {})}
    q0 = first_year * 4
    q1 = q0 + years * 4 - 1
    nq = q1 - q0 + 1

    # --- municipalities, practices, practitioners ----------------------------------------------
    municipalities = pd.DataFrame(
        _MUNICIPALITIES, columns=["municipality_code", "name", "population", "centrality"]
    )
    n_prac = pilot_practices + comparison_practices
    ids = _orgnrs(rng, n_prac + 1)
    prac_ids, ooh_practice = np.array(ids[:n_prac]), ids[n_prac]
    is_pilot = np.arange(n_prac) < pilot_practices
    # the last third of the pilot starts late (as four practices joined in 2020); every other
    # early practice is on the operating-grant model (as all five grant practices started in 2018)
    late = is_pilot & (np.arange(n_prac) >= pilot_practices - max(1, pilot_practices // 3))
    grant = is_pilot & ~late & (np.arange(n_prac) % 2 == 1)
    start = np.where(late, quarter_index(late_start), quarter_index(pilot_start))
    start_q = np.where(is_pilot, start, 10**6)
    muni = rng.integers(0, len(_MUNICIPALITIES), n_prac)
    practices = pd.DataFrame(
        {
            "practice_id": [*prac_ids, ooh_practice],
            "name": [f"Legekontor {i + 1}" for i in range(n_prac)] + ["Legevakt"],
            "municipality_code": [_MUNICIPALITIES[m][0] for m in muni] + ["0301"],
            "district": None,
            "financing_model": [
                ("grant" if g else "fee") if p else None
                for p, g in zip(is_pilot, grant, strict=True)
            ]
            + [None],
            "pht_start": [
                quarter_start(int(s)) if p else None for p, s in zip(is_pilot, start_q, strict=True)
            ]
            + [None],
            "pht_end": None,
        }
    )
    gps_per = 3
    gp_ids = np.array([f"{1_000_000 + p * 10 + k}" for p in range(n_prac) for k in range(gps_per)])
    nurse_ids = np.array([f"{2_000_000 + p}" for p in range(n_prac)])
    ooh_gp = "3000001"
    practitioners = pd.DataFrame(
        {
            "practitioner_id": [*gp_ids, *nurse_ids[is_pilot], ooh_gp],
            "practice_id": [*np.repeat(prac_ids, gps_per), *prac_ids[is_pilot], ooh_practice],
            "role": ["gp"] * len(gp_ids) + ["nurse"] * int(is_pilot.sum()) + ["gp"],
            "fte": 1.0,
            "start": [dt.date(2000, 1, 1)] * len(gp_ids)
            + [quarter_start(int(s)) for s in start_q[is_pilot]]
            + [dt.date(2000, 1, 1)],
            "end": None,
            "team_lead": [k == 0 and is_pilot[p] for p in range(n_prac) for k in range(gps_per)]
            + [False] * int(is_pilot.sum())
            + [False],
        }
    )

    # --- persons, lists, truth -------------------------------------------------------------------
    n = n_prac * persons_per_practice
    prac_of = np.repeat(np.arange(n_prac), persons_per_practice)
    age = rng.integers(0, 95, n)
    birth = [
        dt.date(first_year - int(a), 1, 1) + dt.timedelta(days=int(d))
        for a, d in zip(age, rng.integers(0, 365, n), strict=True)
    ]
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    # Synthetic fødselsnummer from a stream of their own, so the panel's draws stay as they were.
    tag = extract_tag("panel", seed, (first_year, first_year + years - 1))
    pid = synthetic_person_ids(
        np.array(birth, dtype="datetime64[D]").astype(np.int64),
        sex == "M",
        np.random.default_rng([seed, 1]),
        tag,
    ).astype(str)
    persons = pd.DataFrame(
        {
            "person_id": pid,
            "birth_date": birth,
            "sex": sex,
            "municipality_code": [_MUNICIPALITIES[muni[p]][0] for p in prac_of],
            "death_date": None,
        }
    )
    gp_of = gp_ids[prac_of * gps_per + rng.integers(0, gps_per, n)]
    join_q = np.where(rng.random(n) < 0.15, rng.integers(q0 + 1, q1, n), q0)
    leave_q = np.where(rng.random(n) < 0.10, rng.integers(q0 + 2, q1 + 1, n), 10**6)
    leave_q = np.maximum(leave_q, join_q + 1)
    memberships = pd.DataFrame(
        {
            "person_id": pid,
            "gp_id": gp_of,
            "start": [quarter_start(int(q)) for q in join_q],
            "end": [
                quarter_start(int(q)) - dt.timedelta(days=1) if q < 10**6 else None for q in leave_q
            ],
        }
    )
    # conditions: present before the window (25%), onset during it (10%); frailty 5%
    u = rng.gamma(4.0, 0.25, n)  # person's need (mean 1)
    has = rng.random(n)
    onset_q = np.where(has < 0.25, q0 - 4, np.where(has < 0.35, rng.integers(q0 + 1, q1, n), 10**6))
    condition = _CONDITIONS[rng.integers(0, len(_CONDITIONS), n)]
    frail = (rng.random(n) < 0.05) & (age >= 70)
    sick = onset_q < 10**6
    targets = pd.concat(
        [
            pd.DataFrame(
                {
                    "person_id": pid[sick],
                    "group": pd.Series(condition[sick]).map(
                        {
                            "diabetes": "chronic_disease",
                            "copd": "chronic_disease",
                            "heart_failure": "chronic_disease",
                            "depression_anxiety": "mental_illness",
                            "dementia": "frail_elderly",
                            "substance_use": "substance_use",
                        }
                    ),
                    "since": [quarter_start(int(q)) for q in onset_q[sick]],
                }
            ),
            pd.DataFrame(
                {
                    "person_id": pid[sick & np.isin(condition, ["diabetes", "copd"])],
                    "group": "diabetes_copd",
                    "since": [
                        quarter_start(int(q))
                        for q in onset_q[sick & np.isin(condition, ["diabetes", "copd"])]
                    ],
                }
            ),
            # every diabetes of this scenario is coded T90: type 2 (acsc_diabetes' population)
            pd.DataFrame(
                {
                    "person_id": pid[sick & (condition == "diabetes")],
                    "group": "type2_diabetes",
                    "since": [
                        quarter_start(int(q)) for q in onset_q[sick & (condition == "diabetes")]
                    ],
                }
            ),
            pd.DataFrame({"person_id": pid[frail], "group": "frail_elderly", "since": None}),
        ],
        ignore_index=True,
    )
    targets["since"] = pd.to_datetime(targets["since"])

    # --- person-quarter grid ---------------------------------------------------------------------
    pq_p = np.repeat(np.arange(n), nq)
    pq_q = np.tile(np.arange(q0, q1 + 1), n)
    listed = (pq_q >= join_q[pq_p]) & (pq_q < leave_q[pq_p])
    pq_p, pq_q = pq_p[listed], pq_q[listed]
    prac = prac_of[pq_p]
    treated = pq_q >= start_q[prac]
    target = (pq_q >= onset_q[pq_p]) | frail[pq_p]
    dmc = (pq_q >= onset_q[pq_p]) & np.isin(condition[pq_p], ["diabetes", "copd"])
    is_grant = grant[prac]
    alpha = rng.normal(0.0, 0.15, n_prac)
    gamma = rng.normal(0.0, 0.05, nq) + 0.02 * np.sin(np.arange(nq) * np.pi / 2)
    scale = np.exp(alpha[prac] + gamma[pq_q - q0])
    uu = u[pq_p]

    rows: list[pd.DataFrame] = []

    def emit(
        lam: np.ndarray,
        mask: np.ndarray,
        tariffs: np.ndarray | str,
        diagnoses: np.ndarray | str,
        who: np.ndarray | str,
        setting: str,
        copay: float,
        refund: float,
        where: np.ndarray | str | None = None,
    ) -> None:
        k = np.zeros(len(lam), dtype=np.int64)
        k[mask] = rng.poisson(np.clip(lam[mask], 0.0, None))
        idx = np.repeat(np.arange(len(lam)), k)
        if len(idx) == 0:
            return

        def pick(v: np.ndarray | str) -> np.ndarray | str:
            return v if isinstance(v, str) else v[idx]

        rows.append(
            pd.DataFrame(
                {
                    "person_id": pid[pq_p[idx]],
                    "practitioner_id": pick(who),
                    "practice_id": prac_ids[prac[idx]] if where is None else pick(where),
                    "q": pq_q[idx],
                    "day": rng.integers(0, 89, len(idx)),
                    "setting": setting,
                    "diagnoses": pick(diagnoses),
                    "tariffs": pick(tariffs),
                    "copay_nok": copay,
                    "refund_nok": refund,
                }
            )
        )

    own_gp = gp_of[pq_p]
    nurse = nurse_ids[prac]
    other_dx = _OTHER_DIAGNOSES[rng.integers(0, len(_OTHER_DIAGNOSES), len(pq_p))]
    own_dx = np.array([_CONDITION_CODE[c] for c in condition])[pq_p]
    own_dx = np.where(target & (pq_q >= onset_q[pq_p]), own_dx, other_dx)
    all_rows = np.ones(len(pq_p), dtype=bool)
    d_ac = eff["annual_checks"]
    d_hv = eff["home_visits"]
    # ordinary GP consultations; an extra annual check replaces one (GP consultations unchanged)
    lam_gp = 0.5 * uu * scale + 0.3 * target + 0.25 * dmc - d_ac * (dmc & treated)
    emit(
        lam_gp,
        all_rows,
        np.where(is_grant & treated, "074a", "2ad"),
        np.where(rng.random(len(pq_p)) < 0.5, own_dx, other_dx),
        own_gp,
        "office",
        160.0,
        150.0,
    )
    # annual checks of patients with diabetes or COPD
    emit(
        0.12 + d_ac * treated,
        dmc,
        np.where(is_grant & treated, "074b", "2ad 2cd"),
        own_dx,
        own_gp,
        "office",
        160.0,
        300.0,
    )
    # GP home visits (baseline) and nurse home visits (the pilot)
    emit(0.04 * uu * scale, target, "11ad", own_dx, own_gp, "home", 250.0, 400.0)
    emit(
        np.full(len(pq_p), d_hv),
        target & treated,
        np.where(is_grant, "086a", "pht02"),
        own_dx,
        nurse,
        "home",
        0.0,
        300.0,
    )
    # other nurse contacts of the pilot
    emit(
        np.full(len(pq_p), eff["nurse_consultations"] - d_hv),
        target & treated,
        np.where(
            is_grant,
            np.array(["074a", "074ae", "070"])[rng.integers(0, 3, len(pq_p))],
            np.array(["pht01", "pht03", "pht04"])[rng.integers(0, 3, len(pq_p))],
        ),
        own_dx,
        nurse,
        "office",
        0.0,
        200.0,
    )
    # coordination contacts with other services
    emit(0.05 * uu * scale, target, "1f", own_dx, own_gp, "phone", 0.0, 120.0)
    emit(
        np.full(len(pq_p), eff["coordination_contacts"]),
        target & treated,
        np.where(is_grant, "14", "pht05"),
        own_dx,
        nurse,
        "office",
        0.0,
        250.0,
    )
    # out-of-hours contacts
    emit(
        0.07 * uu * scale,
        all_rows,
        "2ak",
        other_dx,
        ooh_gp,
        "out_of_hours",
        280.0,
        50.0,
        ooh_practice,
    )
    contacts = pd.concat(rows, ignore_index=True)
    contacts["date"] = [
        quarter_start(int(q)) + dt.timedelta(days=int(d))
        for q, d in zip(contacts.pop("q"), contacts.pop("day"), strict=True)
    ]
    contacts.insert(0, "contact_id", [f"{tag}-K{i + 1:09d}" for i in range(len(contacts))])

    # --- admissions ------------------------------------------------------------------------------
    adm_rows = []
    for lam, mask, dx, acute in (
        (0.025 + 0.02 * uu + eff["acsc_admissions"] * treated, target, _ACSC, True),
        (0.02 * uu * scale, all_rows, _OTHER_ACUTE, True),
        (0.01 * uu, all_rows, np.array(["M171", "H251"]), False),
    ):
        k = np.zeros(len(pq_p), dtype=np.int64)
        k[mask] = rng.poisson(np.clip(lam[mask], 0.0, None))
        idx = np.repeat(np.arange(len(pq_p)), k)
        adm_rows.append(
            pd.DataFrame(
                {
                    "person_id": pid[pq_p[idx]],
                    "q": pq_q[idx],
                    "day": rng.integers(0, 80, len(idx)),
                    "stay": rng.integers(0, 10, len(idx)),
                    "main_diagnosis": dx[rng.integers(0, len(dx), len(idx))],
                    "acute": acute,
                }
            )
        )
    adm = pd.concat(adm_rows, ignore_index=True)
    adm["admitted"] = [
        quarter_start(int(q)) + dt.timedelta(days=int(d))
        for q, d in zip(adm["q"], adm["day"], strict=True)
    ]
    adm["discharged"] = [
        a + dt.timedelta(days=int(s)) for a, s in zip(adm["admitted"], adm["stay"], strict=True)
    ]
    admissions = pd.DataFrame(
        {
            "admission_id": [f"{tag}-A{i + 1:09d}" for i in range(len(adm))],
            "person_id": adm["person_id"],
            "admitted": adm["admitted"],
            "discharged": adm["discharged"],
            "main_diagnosis": adm["main_diagnosis"],
            "other_diagnoses": None,
            "acute": adm["acute"],
        }
    )

    # --- municipal long-term care ----------------------------------------------------------------
    ltc = target & (age[pq_p] >= 75) & (rng.random(len(pq_p)) < 0.01)
    first = pd.DataFrame({"p": pq_p[ltc], "q": pq_q[ltc]}).drop_duplicates("p")
    services = pd.DataFrame(
        {
            "person_id": pid[first["p"].to_numpy()],
            "service": "long_term_stay",
            "start": [quarter_start(int(q)) + dt.timedelta(days=10) for q in first["q"]],
            "end": None,
            "hours_per_week": None,
        }
    )

    # --- surveys ---------------------------------------------------------------------------------
    z = rng.normal(0.0, 1.0, n)
    answers = rng.random(len(pq_p)) < np.where(target, 0.12, 0.06)
    sidx = np.flatnonzero(answers)
    ns = len(sidx)
    zt = z[pq_p[sidx]]
    tr = treated[sidx].astype(float)
    tg = target[sidx].astype(float)
    items = {
        ("eq5d5l", "index"): 0.85
        - 0.1 * tg
        + 0.05 * zt
        + rng.normal(0, 0.08, ns)
        + eff["eq5d_index"] * tr,
        ("pam", "score"): 60
        + 5 * zt
        + 4 * alpha[prac[sidx]]
        + rng.normal(0, 8, ns)
        + eff["patient_activation"] * tr,
        ("prem", "satisfaction"): 3.8
        + 0.3 * zt
        + rng.normal(0, 0.4, ns)
        + eff["satisfaction"] * tr,
        ("prem", "coordination"): 3.4
        + 0.3 * zt
        + rng.normal(0, 0.4, ns)
        + eff["coordination"] * tr,
    }
    survey_parts = []
    for (instrument, item), value in items.items():
        survey_parts.append(
            pd.DataFrame(
                {
                    "person_id": pid[pq_p[sidx]],
                    "practice_id": prac_ids[prac[sidx]],
                    "date": [quarter_start(int(q)) + dt.timedelta(days=40) for q in pq_q[sidx]],
                    "instrument": instrument,
                    "item": item,
                    "value": value,
                }
            )
        )
    survey = pd.concat(survey_parts, ignore_index=True)
    survey.insert(0, "response_id", [f"{tag}-S{i + 1:09d}" for i in range(len(survey))])

    return SimulatedExtract(
        tables={
            "municipalities": municipalities,
            "practices": practices,
            "practitioners": practitioners,
            "persons": persons,
            "list_memberships": memberships,
            "contacts": contacts,
            "admissions": admissions,
            "municipal_services": services,
            "survey_responses": survey,
        },
        targets=targets,
        effects={k: v for k, v in eff.items()},
        first_quarter=q0,
        last_quarter=q1,
        seed=seed,
        conditions=pd.DataFrame({"person_id": pid[sick], "condition": condition[sick]}),
        assumptions=[
            "additive effects, constant over time and practices, from the practice's first "
            "full quarter in the scheme",
            "parallel trends: practice and quarter effects are common to pilot and comparison",
        ],
    )
