"""The baseline for bench_population: the same population rules written plainly in pandas.

Reads the warehouse tables into pandas and computes condition evidence, frailty, the admission
risk and need scores, annual checks and each person's worklist priority, as a straightforward
analyst would (explode, merge, group-by). It is the yardstick for the Ibis/DuckDB version, not a
second implementation the project uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from pht.population._base import add_months
from pht.population.analytics import AGE_BANDS
from pht.reference.value_sets import Model, ValueSets


def _explode(df: pd.DataFrame, column: str, out: str) -> pd.DataFrame:
    d = df[df[column].notna()].copy()
    d[out] = d[column].str.split(" ")
    d = d.explode(out)
    d[out] = d[out].str.strip()
    return d[d[out] != ""]


def _match(events: pd.DataFrame, entries: Any, key: str) -> pd.DataFrame:
    parts = []
    vs = pd.DataFrame([(e.code_system, e.code, e.key) for e in entries], columns=["cs", "vc", key])
    vs["n"] = vs["vc"].str.len()
    for n, group in vs.groupby("n"):
        e = events.assign(_p=events["code"].str[:n])
        parts.append(
            e.merge(group, left_on=["code_system", "_p"], right_on=["cs", "vc"]).drop(
                columns=["cs", "vc", "n", "_p"]
            )
        )
    return pd.concat(parts, ignore_index=True)


def _months(as_of: dt.date, d: pd.Series) -> pd.Series:
    d = pd.to_datetime(d)
    whole = (as_of.year * 12 + as_of.month) - (d.dt.year * 12 + d.dt.month)
    return whole - (d.dt.day > as_of.day).astype(int)


def run_baseline(
    tables: dict[str, pd.DataFrame],
    as_of: dt.date,
    vs: ValueSets,
    risk_model: Model,
    need_model: Model,
    lookback_months: int = 24,
) -> pd.DataFrame:
    """Every listed person's priority, conditions, frailty band and risk (pandas only)."""
    ts = pd.Timestamp(as_of)
    start = pd.Timestamp(add_months(as_of, -lookback_months))
    fstart = pd.Timestamp(add_months(as_of, -vs.rules.frailty.lookback_months))
    year_ago = pd.Timestamp(add_months(as_of, -12))
    p = tables["persons"]
    p = p[
        (pd.to_datetime(p.birth_date) < ts)
        & (p.death_date.isna() | (pd.to_datetime(p.death_date) >= ts))
    ]
    b = pd.to_datetime(p.birth_date)
    age = (
        as_of.year
        - b.dt.year
        - (
            (b.dt.month > as_of.month) | ((b.dt.month == as_of.month) & (b.dt.day > as_of.day))
        ).astype(int)
    )
    persons = pd.DataFrame(
        {"person_id": p.person_id.to_numpy(), "sex": p.sex.to_numpy(), "age": age.to_numpy()}
    )

    c = tables["contacts"].copy()
    c["date"] = pd.to_datetime(c["date"])
    c = c[(c.date >= min(start, fstart)) & (c.date < ts)]
    ev_c = _explode(c[["person_id", "contact_id", "date", "diagnoses"]], "diagnoses", "code")
    ev_c = ev_c.assign(code=ev_c.code.str.upper(), code_system="ICPC-2", source="contacts")
    a = tables["admissions"].copy()
    a["discharged"] = pd.to_datetime(a["discharged"])
    a["admitted"] = pd.to_datetime(a["admitted"])
    aw = a[(a.discharged >= min(start, fstart)) & (a.discharged < ts)]
    main = aw.assign(code=aw.main_diagnosis, date=aw.discharged)[["person_id", "date", "code"]]
    oth = _explode(aw.assign(date=aw.discharged), "other_diagnoses", "code")[
        ["person_id", "date", "code"]
    ]
    ev_a = pd.concat([main, oth]).assign(code_system="ICD-10", source="admissions", contact_id=None)
    events = pd.concat(
        [ev_c[["person_id", "contact_id", "date", "code", "code_system", "source"]], ev_a],
        ignore_index=True,
    )

    # conditions
    ew = events[events.date >= start]
    m = _match(ew, vs.condition_codes, "condition").drop_duplicates()
    m = m.sort_values("date", ascending=False)
    cond = (
        m.groupby(["person_id", "condition"])
        .agg(records=("code", "size"), code=("code", "first"), evidence_date=("date", "first"))
        .reset_index()
    )
    mins = {k: v.min_records for k, v in vs.conditions.items()}
    cond = cond[cond.records >= cond.condition.map(mins)]
    cond = cond[cond.person_id.isin(persons.person_id)]

    # frailty
    coded = [e for e in vs.deficit_codes if e.code_system not in ("service", "tariff")]
    d1 = _match(events[events.date >= fstart], coded, "deficit")[["person_id", "deficit"]]
    s = tables["municipal_services"].copy()
    s = s[(pd.to_datetime(s.start) < ts) & (s.end.isna() | (pd.to_datetime(s.end) >= year_ago))]
    svc = {e.code: e.key for e in vs.deficit_codes if e.code_system == "service"}
    d2 = s.assign(deficit=s.service.map(svc)).dropna(subset=["deficit"])[["person_id", "deficit"]]
    tar = _explode(
        c[c.date >= year_ago][["person_id", "contact_id", "date", "tariffs", "setting"]],
        "tariffs",
        "tariff",
    )
    tmap = {e.code: e.key for e in vs.deficit_codes if e.code_system == "tariff"}
    d3 = tar.assign(deficit=tar.tariff.map(tmap)).dropna(subset=["deficit"])[
        ["person_id", "deficit"]
    ]
    deficits = pd.concat([d1, d2, d3]).drop_duplicates().groupby("person_id").size()
    persons["efi"] = (persons.person_id.map(deficits).fillna(0) / len(vs.deficits)).round(4)
    r = vs.rules.frailty
    persons["band"] = np.select(
        [persons.efi > r.severe, persons.efi > r.moderate, persons.efi > r.mild],
        ["severe", "moderate", "mild"],
        "fit",
    )

    # features and scores
    bands = AGE_BANDS
    f = [
        pd.DataFrame(
            {
                "person_id": persons.person_id,
                "factor": np.select(
                    [(persons.age >= lo) & (persons.age <= hi) for lo, hi, _ in bands],
                    [n for _, _, n in bands],
                    "",
                ),
            }
        )
    ]
    f.append(pd.DataFrame({"person_id": persons.person_id[persons.sex == "F"], "factor": "sex_f"}))
    f.append(pd.DataFrame({"person_id": cond.person_id, "factor": "cond_" + cond.condition}))
    fb = persons[persons.band != "fit"]
    f.append(pd.DataFrame({"person_id": fb.person_id, "factor": "frailty_" + fb.band}))
    s_now = s[(pd.to_datetime(s.start) < ts) & (s.end.isna() | (pd.to_datetime(s.end) >= ts))]
    s_now = s_now[s_now.service.isin(["home_nursing", "long_term_stay", "safety_alarm"])]
    f.append(
        pd.DataFrame(
            {"person_id": s_now.person_id, "factor": "service_" + s_now.service}
        ).drop_duplicates()
    )
    em = a[a.acute & (a.admitted >= year_ago) & (a.admitted < ts)].groupby("person_id").size()
    f.append(
        pd.DataFrame(
            {
                "person_id": em.index,
                "factor": np.where(em.to_numpy() >= 2, "emergency_2_plus", "emergency_1"),
            }
        )
    )
    gps = set(tables["practitioners"].query("role == 'gp'").practitioner_id)
    gpc = c[c.practitioner_id.isin(gps) & (c.setting != "out_of_hours")]
    n12 = persons.person_id.map(gpc[gpc.date >= year_ago].groupby("person_id").size()).fillna(0)
    f.append(
        pd.DataFrame(
            {
                "person_id": persons.person_id,
                "factor": np.select(
                    [n12 == 0, n12 >= 10, n12 >= 4],
                    ["gp_contacts_0", "gp_contacts_10_plus", "gp_contacts_4_9"],
                    "",
                ),
            }
        )
    )
    feats = pd.concat(f, ignore_index=True)
    feats = feats[feats.factor != ""]

    def score(model: Model) -> pd.Series:
        co = feats.factor.map(model.coefficients).dropna()
        lp = co.groupby(feats.person_id[co.index]).sum()
        return persons.person_id.map(lp).fillna(0.0) + model.intercept

    persons["risk"] = 1 / (1 + np.exp(-score(risk_model)))
    persons["need_weight"] = np.exp(score(need_model)) / need_model.normaliser

    # annual checks
    rules = vs.rules.annual_checks
    tw = _explode(
        c[(c.date >= start) & c.setting.isin(rules.settings)][["contact_id", "tariffs"]],
        "tariffs",
        "tariff",
    )
    ok_contacts: set[Any] = set()
    for pattern in rules.patterns:
        hit = None
        for group in pattern:
            ids = set(tw.contact_id[tw.tariff.isin(group)])
            hit = ids if hit is None else hit & ids
        ok_contacts |= hit or set()
    checks = ev_c[ev_c.contact_id.isin(ok_contacts) & (ev_c.date >= start)]
    entries = [
        e for e in vs.condition_codes if e.key in rules.conditions and e.code_system == "ICPC-2"
    ]
    checks = (
        _match(checks, entries, "condition")
        .groupby(["person_id", "condition"])
        .date.max()
        .rename("last_check")
        .reset_index()
    )
    ac = cond[cond.condition.isin(rules.conditions)][["person_id", "condition"]].merge(
        checks, how="left"
    )
    ac["months"] = _months(as_of, ac.last_check)
    ac["status"] = np.select(
        [
            ac.last_check.isna(),
            ac.months >= rules.overdue_after_months,
            ac.months >= rules.due_after_months,
        ],
        ["overdue", "overdue", "due"],
        "ok",
    )

    # worklist priority
    pts = vs.worklist.points
    cp = cond[["person_id", "condition"]].merge(
        ac[["person_id", "condition", "status"]], how="left"
    )
    cp["points"] = pts.target_group + np.select(
        [cp.status == "overdue", cp.status == "due"],
        [pts.annual_check_overdue, pts.annual_check_due],
        0.0,
    )
    points = cp.groupby("person_id").points.sum()
    fr = (
        persons.set_index("person_id")
        .band.map(
            {
                "mild": pts.frailty_mild,
                "moderate": pts.frailty_moderate,
                "severe": pts.frailty_severe,
            }
        )
        .fillna(0)
    )
    em_pts = em.clip(upper=vs.worklist.thresholds.max_counted_admissions) * pts.emergency_admission
    persons = persons.set_index("person_id")
    persons["priority"] = (
        points.reindex(persons.index).fillna(0)
        + fr
        + em_pts.reindex(persons.index).fillna(0)
        + persons.risk * 100 * pts.risk_per_percent
    )
    lm = tables["list_memberships"]
    lm = lm[(pd.to_datetime(lm.start) <= ts) & (lm.end.isna() | (pd.to_datetime(lm.end) >= ts))]
    gp_pr = (
        tables["practitioners"]
        .query("role == 'gp'")[["practitioner_id", "practice_id"]]
        .drop_duplicates()
    )
    listed = lm.merge(gp_pr, left_on="gp_id", right_on="practitioner_id")[
        ["person_id", "gp_id", "practice_id"]
    ]
    out = listed.merge(persons.reset_index(), on="person_id")
    out = out[out.person_id.isin(cond.person_id) | (out.risk >= vs.worklist.risk_bands.high)]
    out = out.sort_values(["practice_id", "priority"], ascending=[True, False])
    out["rank"] = out.groupby("practice_id").cumcount() + 1
    return out
