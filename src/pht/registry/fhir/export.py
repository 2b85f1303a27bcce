"""A practice's list population and follow-up as FHIR R4 (Patient, Condition, CarePlan, Task).

:func:`export_practice` builds a ``collection`` Bundle from what the warehouse holds on a day:

* Organization (the practice, organisasjonsnummer) and Practitioner (its GPs, HPR number);
* Patient for every person on the list of one of the practice's GPs that day (fødselsnummer or
  D-number system when the id is one, else pht's pseudonym system), ``generalPractitioner`` → GP;
* Condition for every target-group condition with evidence in the last ``lookback_months``:
  ICPC-2 codes from contacts, ICD-10 codes from hospital stays, each with the SNOMED CT concept pht
  maps to it; ``onsetDateTime``/``recordedDate`` = first/last evidence;
* CarePlan and Task for the follow-up plans and tasks passed in (they live in the web app:
  :class:`FollowUpPlan` and :class:`FollowUpTask` mirror its models).

The Bundle is validated by parsing it with the R4 models before it is returned.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from fhir.resources.R4B.bundle import Bundle

from pht.core.errors import NotFound
from pht.core.identifiers import person_id_problems
from pht.reference.codes import (
    SYSTEM_ICD10,
    SYSTEM_ICPC2,
    SYSTEM_SNOMED,
    SnomedConcept,
    icd10_codes,
    icpc2_codes,
    snomed_map,
)
from pht.registry.fhir.systems import SYSTEM_DNR, SYSTEM_FNR, SYSTEM_HPR, SYSTEM_ORGNR
from pht.registry.warehouse import Warehouse

__all__ = ["SYSTEM_PSEUDONYM", "FollowUpPlan", "FollowUpTask", "export_practice"]

SYSTEM_PSEUDONYM = "urn:pht:person-pseudonym"
_NS = uuid.UUID("6f1c1d0e-2f59-4c1e-9a55-0d7e5b0c6a11")  # pht's namespace for resource ids

TASK_STATUS = {
    "open": "requested",
    "invited": "in-progress",
    "done": "completed",
    "closed_by_data": "completed",
}


@dataclass(frozen=True, slots=True)
class FollowUpPlan:
    """A follow-up plan (the web app's ``FollowUpPlan``): the patient's goal and rhythm."""

    plan_id: str
    person_id: str
    goal: str
    responsible: str  # name (or HPR number) of the responsible team member
    contact_interval_months: int
    next_due: dt.date
    created: dt.date
    partners: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()  # ICPC-2 codes the plan addresses


@dataclass(frozen=True, slots=True)
class FollowUpTask:
    """A task or recall (the web app's ``Task``)."""

    task_id: str
    person_id: str
    title: str
    kind: str  # task, recall, annual_check
    status: str  # open, invited, done, closed_by_data
    due: dt.date
    created: dt.date
    plan_id: str | None = None
    assigned: str = ""
    condition: str = ""
    closed: dt.date | None = None


@dataclass(slots=True)
class _Bundle:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, resource: dict[str, Any]) -> str:
        url = f"urn:uuid:{resource['id']}"
        self.entries.append({"fullUrl": url, "resource": resource})
        return url


def _rid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "|".join(parts)))


def export_practice(
    warehouse: Warehouse,
    practice_id: str,
    *,
    as_of: dt.date | None = None,
    lookback_months: int = 24,
    plans: Sequence[FollowUpPlan] = (),
    tasks: Sequence[FollowUpTask] = (),
) -> dict[str, Any]:
    """The practice's list population and follow-up on *as_of* as a FHIR R4 Bundle (JSON dict)."""
    day = as_of or dt.date.today()
    warehouse.require_initialised()
    practice = warehouse.sql(
        "SELECT practice_id, name FROM practices WHERE practice_id = ?", [practice_id]
    )
    if not practice:
        raise NotFound(f"no practice {practice_id} in the warehouse")
    bundle = _Bundle()
    org_url = bundle.add(
        {
            "resourceType": "Organization",
            "id": _rid("Organization", practice_id),
            "identifier": [{"system": SYSTEM_ORGNR, "value": practice_id}],
            "name": practice[0][1],
        }
    )
    gps = warehouse.sql(
        "SELECT DISTINCT practitioner_id FROM practitioners WHERE practice_id = ? AND role = 'gp' "
        'AND start <= ? AND ("end" IS NULL OR "end" >= ?) ORDER BY 1',
        [practice_id, day, day],
    )
    gp_url: dict[str, str] = {}
    for (gp,) in gps:
        gp_url[gp] = bundle.add(
            {
                "resourceType": "Practitioner",
                "id": _rid("Practitioner", gp),
                "identifier": [{"system": SYSTEM_HPR, "value": gp}],
            }
        )
    listed = warehouse.sql(
        "SELECT p.person_id, p.birth_date, p.sex, p.death_date, m.gp_id FROM list_memberships m "
        'JOIN persons p USING (person_id) WHERE m.start <= ? AND (m."end" IS NULL OR '
        'm."end" >= ?) AND m.gp_id IN (SELECT practitioner_id FROM practitioners '
        "WHERE practice_id = ? AND role = 'gp') ORDER BY p.person_id",
        [day, day, practice_id],
    )
    ids = [row[0] for row in listed]
    bad: list[str | None] = list(person_id_problems(ids, today=day)) if ids else []
    patient_url: dict[str, str] = {}
    for (pid, birth, sex, death, gp), problem in zip(listed, bad, strict=True):
        if problem is None:
            system = SYSTEM_DNR if int(pid[0]) >= 4 else SYSTEM_FNR
        else:
            system = SYSTEM_PSEUDONYM
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": _rid("Patient", pid),
            "identifier": [{"system": system, "value": pid}],
            "gender": {"F": "female", "M": "male"}.get(sex, "unknown"),
            "birthDate": birth.isoformat(),
            "generalPractitioner": [{"reference": gp_url.get(gp, org_url)}],
            "managingOrganization": {"reference": org_url},
        }
        if death is not None:
            resource["deceasedDateTime"] = death.isoformat()
        patient_url[pid] = bundle.add(resource)
    _conditions(warehouse, bundle, patient_url, day, lookback_months)
    plan_url: dict[str, str] = {}
    for plan in plans:
        if plan.person_id not in patient_url:
            continue
        plan_url[plan.plan_id] = bundle.add(_careplan(plan, patient_url[plan.person_id]))
    for task in tasks:
        if task.person_id not in patient_url:
            continue
        bundle.add(_task(task, patient_url[task.person_id], plan_url.get(task.plan_id or "")))
    data: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": _rid("Bundle", practice_id, day.isoformat()),
        "type": "collection",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "entry": bundle.entries,
    }
    Bundle.model_validate(data)  # raises if anything we wrote is not valid FHIR R4
    return data


def _conditions(
    wh: Warehouse, bundle: _Bundle, patient_url: dict[str, str], day: dt.date, months: int
) -> None:
    if not patient_url:
        return
    smap = snomed_map()
    icpc2_targets: dict[str, SnomedConcept] = {}
    icd10_targets: dict[str, SnomedConcept] = {}
    for item in smap.values():  # the first concept listed for a code is the preferred one
        icpc2_targets.setdefault(item.icpc2, item)
        icd10_targets.setdefault(item.icd10[:3], item)  # by category: I210a → I21
    since = _months_before(day, months)
    raw = wh.con.con
    raw.register("_pht_export_persons", _persons_table(list(patient_url)))
    try:
        icpc = raw.execute(
            "SELECT person_id, code, min(date), max(date) FROM (SELECT person_id, date, "
            "unnest(string_split(diagnoses, ' ')) AS code FROM contacts WHERE date BETWEEN ? AND ? "
            "AND person_id IN (SELECT person_id FROM _pht_export_persons)) GROUP BY ALL "
            "ORDER BY 1, 2",
            [since, day],
        ).fetchall()
        icd = raw.execute(
            "SELECT person_id, main_diagnosis, min(admitted), max(admitted) FROM admissions "
            "WHERE admitted BETWEEN ? AND ? AND person_id IN "
            "(SELECT person_id FROM _pht_export_persons) GROUP BY ALL ORDER BY 1, 2",
            [since, day],
        ).fetchall()
    finally:
        raw.unregister("_pht_export_persons")
    titles_icpc2, titles_icd10 = icpc2_codes(), icd10_codes()
    for rows, targets, system, titles in (
        (icpc, icpc2_targets, SYSTEM_ICPC2, titles_icpc2),
        (icd, icd10_targets, SYSTEM_ICD10, titles_icd10),
    ):
        for pid, code, first, last in rows:
            concept = targets.get(code if system == SYSTEM_ICPC2 else code[:3])
            if concept is None:
                continue
            coding = [
                {
                    "system": system,
                    "code": code,
                    **({"display": titles[code]} if code in titles else {}),
                }
            ]
            coding.append(
                {"system": SYSTEM_SNOMED, "code": concept.concept_id, "display": concept.term_en}
            )
            bundle.add(
                {
                    "resourceType": "Condition",
                    "id": _rid("Condition", pid, system, code),
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                    "code": "problem-list-item",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": coding, "text": concept.condition},
                    "subject": {"reference": patient_url[pid]},
                    "onsetDateTime": first.isoformat(),
                    "recordedDate": last.isoformat(),
                }
            )


def _persons_table(ids: list[str]) -> pa.Table:
    return pa.table({"person_id": pa.array(ids, pa.string())})


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, 28))


def _careplan(plan: FollowUpPlan, patient: str) -> dict[str, Any]:
    activities = [
        {
            "detail": {
                "status": "scheduled",
                "description": f"Kontakt hver {plan.contact_interval_months}. måned",
                "scheduledString": f"neste: {plan.next_due.isoformat()}",
            }
        }
    ]
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": _rid("CarePlan", plan.plan_id),
        "identifier": [{"system": "urn:pht:follow-up-plan", "value": plan.plan_id}],
        "status": "active",
        "intent": "plan",
        "title": "Oppfølgingsplan",
        "description": plan.goal,
        "subject": {"reference": patient},
        "created": plan.created.isoformat(),
        "author": {"display": plan.responsible},
        "activity": activities,
    }
    if plan.partners:
        resource["note"] = [{"text": "Samarbeidspartnere: " + ", ".join(plan.partners)}]
    if plan.conditions:
        resource["addresses"] = [{"display": f"ICPC-2 {c}"} for c in plan.conditions]
    return resource


def _task(task: FollowUpTask, patient: str, plan: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": _rid("Task", task.task_id),
        "identifier": [{"system": "urn:pht:task", "value": task.task_id}],
        "status": TASK_STATUS.get(task.status, "requested"),
        "intent": "order",
        "code": {"coding": [{"system": "urn:pht:task-kind", "code": task.kind}]},
        "description": task.title,
        "for": {"reference": patient},
        "authoredOn": task.created.isoformat(),
        "restriction": {"period": {"end": task.due.isoformat()}},
    }
    if task.assigned:
        resource["owner"] = {"display": task.assigned}
    if plan:
        resource["basedOn"] = [{"reference": plan}]
    if task.condition:
        resource["reasonCode"] = {"text": task.condition}
    if task.closed is not None:
        resource["executionPeriod"] = {"end": task.closed.isoformat()}
    return resource
