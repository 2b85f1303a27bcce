"""Load the analytics' results into the app database, all or nothing.

:class:`AnalyticsBundle` is what the app needs from the analytic rooms, as pandas frames:
organisations (municipalities, practices, practitioners), the listed patients of the scheme's
practices with their worklist fields, target-group evidence, a timeline (contacts, stays,
municipal services), survey answers, each patient's last annual check per condition and the
practices' quarterly indicators. :mod:`pht.app.care.pipeline` builds one from a registry
warehouse; tests build one by code. :func:`load_bundle` writes it in one transaction: patients
keep their ``uid`` (and so their plans and tasks) across loads, patients no longer listed are
marked so, and open annual-check recalls close themselves when the new data hold a matching
annual check on or after the day the recall was created.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db import transaction
from faker import Faker

from pht.app.accounts.models import Municipality, Practice, Practitioner
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care import bulk, freshness
from pht.app.care.actions import add_months, do_close_recall
from pht.app.care.models import (
    OPEN_STATUSES,
    AnnualCheck,
    CheckSource,
    Evidence,
    LoadRun,
    Patient,
    PracticeIndicator,
    SurveyAnswer,
    Task,
    TaskKind,
    TimelineEvent,
)

BATCH = 2_000

#: Columns each frame of a bundle must have.
COLUMNS: dict[str, tuple[str, ...]] = {
    "municipalities": ("municipality_code", "name"),
    "practices": ("practice_id", "name", "municipality_code", "financing_model", "pht_start"),
    "practitioners": ("practitioner_id", "practice_id", "role", "fte", "team_lead"),
    "patients": ("person_id", "practice_id", "gp_id", "birth_date", "sex", "death_date"),
    "worklist": (
        "person_id",
        "priority",
        "rank",
        "reasons",
        "target_groups",
        "conditions",
        "frailty_band",
        "efi",
        "risk",
        "risk_band",
        "annual_check_overdue",
    ),
    "evidence": (
        "person_id",
        "target_group",
        "condition",
        "code",
        "code_system",
        "evidence_date",
        "source",
    ),
    "timeline": ("person_id", "kind", "start", "end", "title", "detail"),
    "surveys": ("person_id", "date", "instrument", "item", "value"),
    "annual_checks": ("person_id", "condition", "last_check", "due", "overdue"),
    "indicators": ("practice_id", "indicator", "quarter", "numerator", "denominator"),
}


class BundleError(ValueError):
    """A bundle frame lacks a column the app needs."""


@dataclass
class AnalyticsBundle:
    """The analytics' results for the app; one frame per kind, columns as in :data:`COLUMNS`."""

    as_of: dt.date
    source: str
    municipalities: pd.DataFrame
    practices: pd.DataFrame
    practitioners: pd.DataFrame
    patients: pd.DataFrame
    worklist: pd.DataFrame
    evidence: pd.DataFrame
    timeline: pd.DataFrame
    surveys: pd.DataFrame
    annual_checks: pd.DataFrame
    indicators: pd.DataFrame
    names: dict[str, str] = field(default_factory=dict)  # person_id/practitioner_id -> name

    def check(self) -> None:
        """Raise :class:`BundleError` naming the frame and the columns it lacks."""
        for name, cols in COLUMNS.items():
            frame: pd.DataFrame = getattr(self, name)
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise BundleError(f"bundle frame {name!r} lacks columns {missing}")


@dataclass(frozen=True)
class LoadSummary:
    """What a load wrote."""

    practices: int  # in the scheme
    practitioners: int
    patients: int
    flagged: int
    unlisted: int
    timeline: int
    recalls_closed: int


@functools.cache
def _faker() -> Faker:
    """The Norwegian Faker that :func:`display_name` re-seeds for every name."""
    return Faker("no_NO")


def display_name(key: str, sex: str | None = None) -> str:
    """A synthetic but stable Norwegian name for an identifier (the registry holds no names).

    A real deployment takes names from the population register; the synthetic pilot has none,
    so the app derives one from the identifier, the same on every load.
    """
    fake = _faker()  # one instance, re-seeded: a new Faker per name cost ~1 ms of CPU each
    fake.seed_instance(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
    if sex == "F":
        return f"{fake.first_name_female()} {fake.last_name()}"
    if sex == "M":
        return f"{fake.first_name_male()} {fake.last_name()}"
    return f"{fake.first_name()} {fake.last_name()}"


def _none(value: Any) -> Any:
    """pandas' missing values (NaN, NaT, None, pd.NA) as None."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value


def _date(value: Any) -> dt.date | None:
    value = _none(value)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _pipe(values: Any) -> str:
    value = _none(values) if not isinstance(values, list | tuple) else values
    if value is None:
        return ""
    if isinstance(value, str):
        items = [v for v in value.replace(",", " ").split() if v]
    else:
        items = [str(v) for v in value if _none(v) is not None]
    return "|" + "|".join(dict.fromkeys(items)) + "|" if items else ""


def load_bundle(bundle: AnalyticsBundle) -> LoadSummary:
    """Write *bundle* into the app database in one transaction; close recalls the data meet."""
    bundle.check()
    with transaction.atomic():
        summary = _load(bundle)
        freshness.bump()  # bulk writes send no signals: every cached worklist is now stale
        LoadRun.objects.create(
            source=bundle.source[:300],
            as_of=bundle.as_of,
            patients=summary.patients,
            flagged=summary.flagged,
            recalls_closed=summary.recalls_closed,
        )
        record(
            user=None,
            action=AuditAction.LOAD,
            reason="innlasting av analyseresultater",
            detail={
                "source": bundle.source,
                "as_of": bundle.as_of,
                "patients": summary.patients,
                "recalls_closed": summary.recalls_closed,
            },
        )
    return summary


def _load(bundle: AnalyticsBundle) -> LoadSummary:
    for row in bundle.municipalities.itertuples(index=False):
        Municipality.objects.update_or_create(
            code=row.municipality_code, defaults={"name": row.name}
        )
    for row in bundle.practices.itertuples(index=False):
        Practice.objects.update_or_create(
            practice_id=row.practice_id,
            defaults={
                "name": row.name,
                "municipality_id": row.municipality_code,
                "financing_model": _none(row.financing_model) or "",
                "pht_start": _date(row.pht_start),
                "pht_end": _date(getattr(row, "pht_end", None)),
            },
        )
    Practitioner.objects.filter(practice_id__in=bundle.practices["practice_id"]).update(
        active=False
    )
    practitioners = _load_practitioners(bundle)
    gp_pk = {
        (p_id, practice): pk
        for p_id, practice, pk in Practitioner.objects.filter(role="gp", active=True).values_list(
            "practitioner_id", "practice_id", "pk"
        )
    }

    # Patients: one row per listed person, the worklist's fields where the person is on it.
    patients_df = bundle.patients.drop_duplicates("person_id")
    work = bundle.worklist.drop_duplicates("person_id").set_index("person_id")
    w = work.reindex(patients_df["person_id"])
    on_list = w.index.isin(work.index)
    checks = _annual_checks_by_person(bundle.annual_checks)
    _merge_app_checks(checks)
    pids = patients_df["person_id"].tolist()
    practice_ids = patients_df["practice_id"].tolist()
    sexes = patients_df["sex"].tolist()
    ranks = w["rank"].tolist()
    columns: dict[str, list[Any]] = {
        "practice_id": practice_ids,
        "gp_id": [
            gp_pk.get((_none(g), p))
            for g, p in zip(patients_df["gp_id"].tolist(), practice_ids, strict=True)
        ],
        "birth_date": _dates(patients_df["birth_date"]),
        "sex": sexes,
        "death_date": _dates(patients_df["death_date"]),
        "listed": [True] * len(pids),
        "flagged": on_list.tolist(),
        "priority": [
            float(_none(v) or 0) if f else 0.0
            for v, f in zip(w["priority"].tolist(), on_list, strict=True)
        ],
        "rank": [int(v) if f else None for v, f in zip(ranks, on_list, strict=True)],
        "reasons": [
            str(_none(v) or "")[:500] if f else ""
            for v, f in zip(w["reasons"].tolist(), on_list, strict=True)
        ],
        "target_groups": [
            _pipe(v) if f else "" for v, f in zip(w["target_groups"].tolist(), on_list, strict=True)
        ],
        "conditions": [
            _pipe(v) if f else "" for v, f in zip(w["conditions"].tolist(), on_list, strict=True)
        ],
        "frailty_band": [
            str(_none(v) or "") if f else ""
            for v, f in zip(w["frailty_band"].tolist(), on_list, strict=True)
        ],
        "efi": [_none(v) if f else None for v, f in zip(w["efi"].tolist(), on_list, strict=True)],
        "risk": [_none(v) if f else None for v, f in zip(w["risk"].tolist(), on_list, strict=True)],
        "risk_band": [
            str(_none(v) or "") if f else ""
            for v, f in zip(w["risk_band"].tolist(), on_list, strict=True)
        ],
        "annual_check_overdue": [
            (any(c["overdue"] for c in checks[pid].values()) if pid in checks else bool(_none(v)))
            if f
            else False
            for pid, v, f in zip(pids, w["annual_check_overdue"].tolist(), on_list, strict=True)
        ],
        "overdue_conditions": [
            "".join(f"|{c}" for c, st in sorted(checks.get(pid, {}).items()) if st["overdue"])
            + ("|" if any(st["overdue"] for st in checks.get(pid, {}).values()) else "")
            if f
            else ""
            for pid, f in zip(pids, on_list, strict=True)
        ],
        "annual_checks": [checks.get(pid, {}) for pid in pids],
        "as_of": [bundle.as_of] * len(pids),
    }
    existing = dict(Patient.objects.values_list("person_id", "pk"))
    listed_before = set(Patient.objects.filter(listed=True).values_list("pk", flat=True))
    old = [i for i, pid in enumerate(pids) if pid in existing]
    new = [i for i, pid in enumerate(pids) if pid not in existing]
    # a patient keeps its uid and name; the analytics' fields are replaced
    bulk.update(
        Patient,
        [existing[pids[i]] for i in old],
        {k: [v[i] for i in old] for k, v in columns.items()},
    )
    bulk.insert(
        Patient,
        {
            "uid": [uuid.uuid4() for _ in new],
            "person_id": [pids[i] for i in new],
            "name": [bundle.names.get(pids[i]) or display_name(pids[i], sexes[i]) for i in new],
            **{k: [v[i] for i in new] for k, v in columns.items()},
        },
    )
    unlisted_pks = sorted(listed_before - {existing[pids[i]] for i in old})
    for start in range(0, len(unlisted_pks), BATCH):
        Patient.objects.filter(pk__in=unlisted_pks[start : start + BATCH]).update(
            listed=False, flagged=False
        )

    # What the patient page shows, replaced for every listed patient.
    pk_of = dict(Patient.objects.filter(listed=True).values_list("person_id", "pk"))
    for model in (Evidence, TimelineEvent, SurveyAnswer):
        model.objects.filter(patient__listed=True).delete()
    ev = bundle.evidence[bundle.evidence["person_id"].isin(pk_of.keys())]
    bulk.insert(
        Evidence,
        {
            "patient_id": [pk_of[p] for p in ev["person_id"]],
            "target_group": ev["target_group"].tolist(),
            "condition": [_none(v) or "" for v in ev["condition"]],
            "code": [_none(v) or "" for v in ev["code"]],
            "code_system": [_none(v) or "" for v in ev["code_system"]],
            "evidence_date": _dates(ev["evidence_date"]),
            "source": [_none(v) or "" for v in ev["source"]],
        },
    )
    tl = bundle.timeline[bundle.timeline["person_id"].isin(pk_of.keys())]
    bulk.insert(
        TimelineEvent,
        {
            "patient_id": [pk_of[p] for p in tl["person_id"]],
            "kind": tl["kind"].tolist(),
            "start": _dates(tl["start"]),
            "end": _dates(tl["end"]),
            "title": [str(v)[:200] for v in tl["title"]],
            "detail": [str(_none(v) or "")[:300] for v in tl["detail"]],
        },
    )
    sv = bundle.surveys[bundle.surveys["person_id"].isin(pk_of.keys())]
    bulk.insert(
        SurveyAnswer,
        {
            "patient_id": [pk_of[p] for p in sv["person_id"]],
            "date": _dates(sv["date"]),
            "instrument": sv["instrument"].tolist(),
            "item": sv["item"].tolist(),
            "value": [float(v) for v in sv["value"]],
        },
    )
    PracticeIndicator.objects.filter(
        practice_id__in=bundle.indicators["practice_id"].unique().tolist()
    ).delete()
    ind = bundle.indicators
    bulk.insert(
        PracticeIndicator,
        {
            "practice_id": ind["practice_id"].tolist(),
            "indicator": ind["indicator"].tolist(),
            "quarter": [str(v) for v in ind["quarter"]],
            "numerator": [int(v) for v in ind["numerator"]],
            "denominator": [int(v) for v in ind["denominator"]],
        },
    )
    closed = close_met_recalls(checks)
    return LoadSummary(
        practices=int((bundle.practices["financing_model"].fillna("").astype(str) != "").sum()),
        practitioners=practitioners,
        patients=len(pids),
        flagged=int(on_list.sum()),
        unlisted=len(unlisted_pks),
        timeline=len(tl),
        recalls_closed=closed,
    )


def _load_practitioners(bundle: AnalyticsBundle) -> int:
    """Insert or update the bundle's practitioners (active); how many."""
    df = bundle.practitioners
    ids = df["practitioner_id"].tolist()
    practices = df["practice_id"].tolist()
    existing = {
        (p_id, practice): pk
        for p_id, practice, pk in Practitioner.objects.values_list(
            "practitioner_id", "practice_id", "pk"
        )
    }
    columns: dict[str, list[Any]] = {
        "role": df["role"].tolist(),
        "name": [bundle.names.get(p) or display_name(p) for p in ids],
        "fte": [Decimal(str(round(float(_none(v) or 0), 2))) for v in df["fte"]],
        "team_lead": [bool(_none(v)) for v in df["team_lead"]],
        "active": [True] * len(ids),
    }
    keys = list(zip(ids, practices, strict=True))
    seen: dict[tuple[str, str], int] = {}  # the last row of a practitioner wins
    for i, key in enumerate(keys):
        seen[key] = i
    rows = sorted(seen.values())
    old = [i for i in rows if keys[i] in existing]
    new = [i for i in rows if keys[i] not in existing]
    bulk.update(
        Practitioner,
        [existing[keys[i]] for i in old],
        {k: [v[i] for i in old] for k, v in columns.items()},
    )
    bulk.insert(
        Practitioner,
        {
            "practitioner_id": [ids[i] for i in new],
            "practice_id": [practices[i] for i in new],
            **{k: [v[i] for i in new] for k, v in columns.items()},
        },
    )
    return len(ids)


def _dates(values: pd.Series) -> list[dt.date | None]:
    """A column of dates (date, datetime, Timestamp, text; missing as None) as dates."""
    try:
        stamps = pd.to_datetime(values)
    except (TypeError, ValueError):
        return [_date(v) for v in values]
    return [None if pd.isna(v) else v.date() for v in stamps]


def _annual_checks_by_person(frame: pd.DataFrame) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in frame.itertuples(index=False):
        last = _date(r.last_check)
        due = _date(r.due)
        out.setdefault(r.person_id, {})[r.condition] = {
            "last": None if last is None else last.isoformat(),
            "due": None if due is None else due.isoformat(),
            "overdue": bool(_none(r.overdue)),
        }
    return out


def _merge_app_checks(checks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Checks recorded in the app that are newer than the registry's count as done (the
    registry may not have them yet): last = the app's date, due a year on, not overdue."""
    latest: dict[tuple[str, str], dt.date] = {}
    for pid, condition, day in AnnualCheck.objects.filter(source=CheckSource.APP).values_list(
        "patient__person_id", "condition", "date"
    ):
        if day > latest.get((pid, condition), dt.date.min):
            latest[(pid, condition)] = day
    for (pid, condition), day in latest.items():
        state = checks.get(pid, {}).get(condition)
        if state is None or state["last"] is None or dt.date.fromisoformat(state["last"]) < day:
            due = add_months(day, 12)
            checks.setdefault(pid, {})[condition] = {
                "last": day.isoformat(),
                "due": due.isoformat(),
                "overdue": False,
            }


def close_met_recalls(checks: dict[str, dict[str, dict[str, Any]]]) -> int:
    """Close open annual-check recalls whose condition had an annual check since they opened
    (the app's date of opening: the data's date while the data are older than the calendar)."""
    closed = 0
    tasks = Task.objects.filter(kind=TaskKind.ANNUAL_CHECK, status__in=OPEN_STATUSES)
    for task in tasks.select_related("patient"):
        last = checks.get(task.patient.person_id, {}).get(task.condition, {}).get("last")
        if last is None:
            continue
        last_date = dt.date.fromisoformat(last)
        opened = task.opened_on or task.created_at.date()
        if last_date >= opened:
            do_close_recall(
                task=task,
                reason=f"årskontroll registrert {last_date:%d.%m.%Y} i registerdata",
            )
            closed += 1
    return closed
