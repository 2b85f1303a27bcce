"""Build an :class:`~pht.app.care.loading.AnalyticsBundle` from a registry warehouse.

This is where the app calls the analytic rooms: :class:`pht.population.PopulationView` for the
listed persons, the worklist, target groups with evidence and annual checks, and
:mod:`pht.evaluation.indicators` for the quarterly share of patients with diabetes or COPD who
had an annual check (practice level, every practice, so the dashboard can compare). The timeline
(contacts, hospital stays, municipal services) and survey answers are read for the worklist's
patients only, to keep the app database small.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd

from pht.app.care.loading import COLUMNS, AnalyticsBundle
from pht.core.errors import PhtError
from pht.core.labels import CONDITIONS
from pht.population import PopulationView
from pht.population.worklist import worklist_table
from pht.registry.warehouse import Warehouse

#: Months of contacts shown on the patient page's timeline.
TIMELINE_MONTHS = 24
#: Most contacts kept per patient.
CONTACTS_PER_PATIENT = 30
#: Quarters of indicator history on the dashboard.
INDICATOR_QUARTERS = 24

_SETTING_NB = {
    "office": "Kontorkonsultasjon",
    "home": "Hjemmebesøk",
    "video": "Videokonsultasjon",
    "phone": "Telefonkontakt",
    "message": "E-kontakt",
    "out_of_hours": "Legevakt",
}
_SERVICE_NB = {
    "home_nursing": "Hjemmesykepleie",
    "practical_help": "Praktisk bistand",
    "short_stay": "Korttidsopphold",
    "long_term_stay": "Langtidsopphold",
    "day_care": "Dagtilbud",
    "safety_alarm": "Trygghetsalarm",
}
_ROLE_NB = {"gp": "lege", "nurse": "sykepleier", "psychologist": "psykolog", "secretary": "sekr."}


def latest_data_date(wh: Warehouse) -> dt.date:
    """The last contact date in the warehouse (the natural as-of date of an extract)."""
    value = wh.table("contacts").date.max().execute()
    if value is None or pd.isna(value):
        raise PhtError("the warehouse holds no contacts: load an extract first")
    return pd.Timestamp(value).date()


def _frame(name: str, df: pd.DataFrame) -> pd.DataFrame:
    return df.reindex(columns=list(COLUMNS[name]))


def read_names(path: Path | None) -> dict[str, str]:
    """person_id -> "Given Family" from the synthetic extract's ``person_names`` file."""
    if path is None or not path.exists():
        return {}
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    return dict(zip(df["person_id"], df["given_name"] + " " + df["family_name"], strict=True))


def bundle_from_warehouse(
    wh: Warehouse,
    *,
    as_of: dt.date | None = None,
    names: dict[str, str] | None = None,
    indicators: bool = True,
) -> AnalyticsBundle:
    """The app's bundle for every practice in the scheme, as of *as_of* (default: latest data)."""
    as_of = as_of or latest_data_date(wh)
    municipalities = wh.table("municipalities").to_pandas()
    practices = wh.table("practices").to_pandas()
    scheme = practices[practices["financing_model"].notna() & (practices["financing_model"] != "")]
    if scheme.empty:
        raise PhtError("no practice in the warehouse takes part in the scheme")
    scheme_ids = scheme["practice_id"].tolist()
    pr = wh.table("practitioners")
    pr = pr.filter((pr.start <= as_of) & (pr.end.isnull() | (pr.end >= as_of)))
    practitioners = pr.to_pandas().drop_duplicates(["practitioner_id", "practice_id"])

    view = PopulationView(wh, as_of, materialise=True)
    listed = view.listed.filter(view.listed.practice_id.isin(scheme_ids))
    persons = wh.table("persons")
    patients = (
        listed.join(persons, "person_id")
        .select("person_id", "practice_id", "gp_id", "birth_date", "sex", "death_date")
        .to_pandas()
    )
    wl = worklist_table(view).filter(lambda t: t.practice_id.isin(scheme_ids)).to_pandas()
    flagged = ibis.memtable(wl[["person_id"]])
    evidence = view.target_groups.semi_join(flagged, "person_id").to_pandas()
    conditions = (
        evidence[evidence["condition"].isin(COLUMN_CONDITIONS)]
        .groupby("person_id")["condition"]
        .agg(lambda s: sorted(set(s)))
    )
    wl["conditions"] = (
        wl["person_id"].map(conditions).apply(lambda v: v if isinstance(v, list) else [])
    )
    wl["annual_check_overdue"] = wl["annual_check_overdue"].apply(lambda v: len(v) > 0)
    wl["target_groups"] = wl["target_groups"].apply(list)

    checks = view.annual_checks.semi_join(flagged, "person_id").to_pandas()
    due_months = view.vs.rules.annual_checks.due_after_months
    due = pd.to_datetime(checks["last_check"]) + pd.DateOffset(months=due_months)
    checks["due"] = [None if pd.isna(d) else d.date() for d in due]
    checks["overdue"] = checks["status"] == "overdue"

    timeline = _timeline(wh, flagged, as_of)
    start = as_of - dt.timedelta(days=3 * 365)
    sv = wh.table("survey_responses")
    surveys = sv.filter(sv.date >= start).semi_join(flagged, "person_id").to_pandas()
    ind = _indicators(wh, as_of) if indicators else pd.DataFrame(columns=COLUMNS["indicators"])
    return AnalyticsBundle(
        as_of=as_of,
        source=f"warehouse {wh.path}",
        municipalities=_frame("municipalities", municipalities),
        practices=practices.reindex(columns=[*COLUMNS["practices"], "pht_end"]),
        practitioners=_frame("practitioners", practitioners),
        patients=_frame("patients", patients),
        worklist=_frame("worklist", wl),
        evidence=_frame("evidence", evidence),
        timeline=_frame("timeline", timeline),
        surveys=_frame("surveys", surveys),
        annual_checks=_frame("annual_checks", checks),
        indicators=_frame("indicators", ind),
        names=names or {},
    )


COLUMN_CONDITIONS = CONDITIONS


def _timeline(wh: Warehouse, persons: ibis.Table, as_of: dt.date) -> pd.DataFrame:
    start = as_of - dt.timedelta(days=TIMELINE_MONTHS * 31)
    c = wh.table("contacts")
    c = c.filter((c.date >= start) & (c.date <= as_of)).semi_join(persons, "person_id")
    roles = wh.table("practitioners").select("practitioner_id", "role").distinct()
    roles = roles.group_by("practitioner_id").aggregate(role=roles.role.first())
    c = c.left_join(roles, "practitioner_id")
    # the newest contacts, ties on a day broken by the claim id: the same rows on every run
    n = ibis.row_number().over(
        ibis.window(group_by=c.person_id, order_by=[ibis.desc(c.date), c.contact_id])
    )
    c = c.mutate(_n=n).filter(lambda t: t._n < CONTACTS_PER_PATIENT)
    contacts = c.select("person_id", "date", "setting", "diagnoses", "tariffs", "role").to_pandas()
    rows = pd.DataFrame(
        {
            "person_id": contacts["person_id"],
            "kind": "contact",
            "start": contacts["date"],
            "end": None,
            "title": [
                f"{_SETTING_NB.get(s, s)} ({_ROLE_NB.get(r, r or '')})".replace(" ()", "")
                for s, r in zip(contacts["setting"], contacts["role"], strict=True)
            ],
            "detail": (
                contacts["diagnoses"].fillna("") + " · " + contacts["tariffs"].fillna("")
            ).str.strip(" ·"),
        }
    )
    a = wh.table("admissions")
    a = a.filter(a.admitted >= as_of - dt.timedelta(days=5 * 365)).semi_join(persons, "person_id")
    adm = a.to_pandas()
    adm_rows = pd.DataFrame(
        {
            "person_id": adm["person_id"],
            "kind": "admission",
            "start": adm["admitted"],
            "end": adm["discharged"],
            "title": ["Akutt innleggelse" if x else "Planlagt innleggelse" for x in adm["acute"]],
            "detail": (adm["main_diagnosis"] + " " + adm["other_diagnoses"].fillna("")).str.strip(),
        }
    )
    s = wh.table("municipal_services")
    s = s.filter(s.end.isnull() | (s.end >= start)).semi_join(persons, "person_id")
    svc = s.to_pandas()
    svc_rows = pd.DataFrame(
        {
            "person_id": svc["person_id"],
            "kind": "service",
            "start": svc["start"],
            "end": svc["end"],
            "title": [_SERVICE_NB.get(x, x) for x in svc["service"]],
            "detail": [
                "" if pd.isna(h) else f"{h:g} t/uke".replace(".", ",")
                for h in svc["hours_per_week"]
            ],
        }
    )
    return pd.concat([rows, adm_rows, svc_rows], ignore_index=True)


def _indicators(wh: Warehouse, as_of: dt.date) -> pd.DataFrame:
    """Share of patients with diabetes or COPD who had an annual check, per practice-quarter."""
    from pht.evaluation.indicators import (
        indicator,
        indicator_cells,
        person_quarter_panel,
        quarter_index,
        quarter_label,
    )

    last = quarter_index(as_of)
    first = last - INDICATOR_QUARTERS + 1
    panel = person_quarter_panel(wh, first_quarter=first, last_quarter=last)
    cells = indicator_cells(
        wh,
        panel,
        indicator("annual_checks"),
        level="practice",
        first_quarter=first,
        last_quarter=last,
    )
    return pd.DataFrame(
        {
            "practice_id": cells["practice_id"],
            "indicator": "annual_check_share",
            "quarter": [quarter_label(int(q)) for q in cells["q"]],
            "numerator": cells["n_event"],
            "denominator": cells["n"],
        }
    )
