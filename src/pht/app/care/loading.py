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
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db import transaction
from faker import Faker

from pht.app.accounts.models import Municipality, Practice, Practitioner
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care import freshness
from pht.app.care.actions import do_close_recall
from pht.app.care.models import (
    OPEN_STATUSES,
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


def display_name(key: str, sex: str | None = None) -> str:
    """A synthetic but stable Norwegian name for an identifier (the registry holds no names).

    A real deployment takes names from the population register; the synthetic pilot has none,
    so the app derives one from the identifier, the same on every load.
    """
    fake = Faker("no_NO")
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
    practitioners = 0
    Practitioner.objects.filter(practice_id__in=bundle.practices["practice_id"]).update(
        active=False
    )
    for row in bundle.practitioners.itertuples(index=False):
        name = bundle.names.get(row.practitioner_id) or display_name(row.practitioner_id)
        Practitioner.objects.update_or_create(
            practitioner_id=row.practitioner_id,
            practice_id=row.practice_id,
            defaults={
                "role": row.role,
                "name": name,
                "fte": Decimal(str(round(float(_none(row.fte) or 0), 2))),
                "team_lead": bool(_none(row.team_lead)),
                "active": True,
            },
        )
        practitioners += 1
    gp_pk = {
        (p.practitioner_id, p.practice_id): p.pk
        for p in Practitioner.objects.filter(role="gp", active=True)
    }

    work = bundle.worklist.set_index("person_id")
    patients_df = bundle.patients.drop_duplicates("person_id")
    existing = {p.person_id: p for p in Patient.objects.all()}
    to_create: list[Patient] = []
    to_update: list[Patient] = []
    seen: set[str] = set()
    flagged = 0
    checks = _annual_checks_by_person(bundle.annual_checks)
    for row in patients_df.itertuples(index=False):
        pid = row.person_id
        seen.add(pid)
        w = work.loc[pid] if pid in work.index else None
        fields: dict[str, Any] = {
            "practice_id": row.practice_id,
            "gp_id": gp_pk.get((_none(row.gp_id), row.practice_id)),
            "birth_date": _date(row.birth_date),
            "sex": row.sex,
            "death_date": _date(row.death_date),
            "listed": True,
            "flagged": w is not None,
            "priority": 0.0 if w is None else float(_none(w["priority"]) or 0),
            "rank": None if w is None else int(w["rank"]),
            "reasons": "" if w is None else str(_none(w["reasons"]) or "")[:500],
            "target_groups": "" if w is None else _pipe(w["target_groups"]),
            "conditions": "" if w is None else _pipe(w["conditions"]),
            "frailty_band": "" if w is None else str(_none(w["frailty_band"]) or ""),
            "efi": None if w is None else _none(w["efi"]),
            "risk": None if w is None else _none(w["risk"]),
            "risk_band": "" if w is None else str(_none(w["risk_band"]) or ""),
            "annual_check_overdue": False if w is None else bool(_none(w["annual_check_overdue"])),
            "annual_checks": checks.get(pid, {}),
            "as_of": bundle.as_of,
        }
        flagged += w is not None
        patient = existing.get(pid)
        if patient is None:
            fields["name"] = bundle.names.get(pid) or display_name(pid, row.sex)
            to_create.append(Patient(person_id=pid, **fields))
        else:
            for key, value in fields.items():
                setattr(patient, key, value)
            to_update.append(patient)
    Patient.objects.bulk_create(to_create, batch_size=BATCH)
    if to_update:
        Patient.objects.bulk_update(to_update, [k for k in fields if k != "name"], batch_size=BATCH)
    unlisted = Patient.objects.exclude(person_id__in=seen).filter(listed=True)
    unlisted_count = unlisted.count()
    unlisted.update(listed=False, flagged=False)

    pk_of = dict(Patient.objects.filter(listed=True).values_list("person_id", "pk"))
    loaded_pks = list(pk_of.values())
    Evidence.objects.filter(patient_id__in=loaded_pks).delete()
    TimelineEvent.objects.filter(patient_id__in=loaded_pks).delete()
    SurveyAnswer.objects.filter(patient_id__in=loaded_pks).delete()
    Evidence.objects.bulk_create(
        (
            Evidence(
                patient_id=pk_of[r.person_id],
                target_group=r.target_group,
                condition=_none(r.condition) or "",
                code=_none(r.code) or "",
                code_system=_none(r.code_system) or "",
                evidence_date=_date(r.evidence_date),
                source=_none(r.source) or "",
            )
            for r in bundle.evidence.itertuples(index=False)
            if r.person_id in pk_of
        ),
        batch_size=BATCH,
    )
    timeline = TimelineEvent.objects.bulk_create(
        (
            TimelineEvent(
                patient_id=pk_of[r.person_id],
                kind=r.kind,
                start=_date(r.start),
                end=_date(r.end),
                title=str(r.title)[:200],
                detail=str(_none(r.detail) or "")[:300],
            )
            for r in bundle.timeline.itertuples(index=False)
            if r.person_id in pk_of
        ),
        batch_size=BATCH,
    )
    SurveyAnswer.objects.bulk_create(
        (
            SurveyAnswer(
                patient_id=pk_of[r.person_id],
                date=_date(r.date),
                instrument=r.instrument,
                item=r.item,
                value=float(r.value),
            )
            for r in bundle.surveys.itertuples(index=False)
            if r.person_id in pk_of
        ),
        batch_size=BATCH,
    )
    PracticeIndicator.objects.filter(
        practice_id__in=bundle.indicators["practice_id"].unique().tolist()
    ).delete()
    PracticeIndicator.objects.bulk_create(
        (
            PracticeIndicator(
                practice_id=r.practice_id,
                indicator=r.indicator,
                quarter=str(r.quarter),
                numerator=int(r.numerator),
                denominator=int(r.denominator),
            )
            for r in bundle.indicators.itertuples(index=False)
        ),
        batch_size=BATCH,
    )
    closed = close_met_recalls(checks)
    return LoadSummary(
        practices=int((bundle.practices["financing_model"].fillna("").astype(str) != "").sum()),
        practitioners=practitioners,
        patients=len(seen),
        flagged=flagged,
        unlisted=unlisted_count,
        timeline=len(timeline),
        recalls_closed=closed,
    )


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


def close_met_recalls(checks: dict[str, dict[str, dict[str, Any]]]) -> int:
    """Close open annual-check recalls whose condition had an annual check since they opened."""
    closed = 0
    tasks = Task.objects.filter(kind=TaskKind.ANNUAL_CHECK, status__in=OPEN_STATUSES)
    for task in tasks.select_related("patient"):
        last = checks.get(task.patient.person_id, {}).get(task.condition, {}).get("last")
        if last is None:
            continue
        last_date = dt.date.fromisoformat(last)
        if last_date >= task.created_at.date():
            do_close_recall(
                task=task,
                reason=f"årskontroll registrert {last_date:%d.%m.%Y} i registerdata",
            )
            closed += 1
    return closed
