"""FHIR R4 into the warehouse: Bundles, folders of Bundles, NDJSON bulk exports.

Resources are parsed with the R4 models of ``fhir.resources`` (its ``R4B`` package: R4B changed
none of the resources read here). What is used and where it goes:

==================  ==========================================================================
Organization        ``practices`` (organisasjonsnummer ``urn:oid:2.16.578.1.12.4.1.4.101``)
Practitioner(Role)  ``practitioners`` (HPR ``urn:oid:2.16.578.1.12.4.1.4.4``; role from the
                    role code or qualification: nurse, psychologist, else gp)
Patient             ``persons`` (fødselsnummer ``…4.1``, D-number ``…4.2``; others get a stable
                    pseudonym); ``generalPractitioner`` → ``list_memberships`` when no
                    EpisodeOfCare gives the list period
EpisodeOfCare       ``list_memberships`` (careManager = the GP, period = the list period)
Encounter           ambulatory/home/virtual → ``contacts``; inpatient/acute/emergency →
                    ``admissions`` (needs an ICD-10 main diagnosis, SNOMED CT mapped)
Condition           its codes go to its encounter's diagnoses; a Condition without an encounter
                    (problem list) goes to the side table ``fhir_conditions``
Observation         a survey answer coded ``urn:pht:survey-item|<instrument>.<item>`` (e.g.
                    ``prem.coordination``, ``eq5d5l.index``) with a number → ``survey_responses``
                    (practice: the performer Organization/PractitionerRole, else the encounter's
                    serviceProvider); any other Observation is counted as known and skipped
Claim, ExplanationOfBenefit, ChargeItem
                    known, counted and skipped: tariffs come from registry extracts (KUHR)
everything else     counted and skipped
==================  ==========================================================================

Codes: ICPC-2 (``urn:oid:2.16.578.1.12.4.1.1.7170``), ICD-10 (``…1.7110``, also
``http://hl7.org/fhir/sid/icd-10``) and SNOMED CT (``http://snomed.info/sct``, mapped through
:func:`pht.reference.codes.snomed_map`). Codes in other systems, unknown codes and SNOMED CT
concepts without a mapping are reported per code and do not stop the load. All writes happen in
one transaction; rows replace rows with the same key, so loading the same files twice changes
nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from pht.core.errors import PhtError
from pht.core.identifiers import person_id_problems, validate_hpr, validate_orgnr
from pht.reference.codes import (
    SYSTEM_ICD10,
    SYSTEM_ICPC2,
    SYSTEM_SNOMED,
    icd10_known,
    icpc2_codes,
    snomed_map,
)
from pht.reference.municipalities import municipality_codes
from pht.registry.pseudonymise import KEY_ENV, pseudonym
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse

__all__ = [
    "FHIR_CONDITIONS_TABLE",
    "SYSTEM_DNR",
    "SYSTEM_FNR",
    "SYSTEM_HPR",
    "SYSTEM_ORGNR",
    "SYSTEM_SURVEY_ITEM",
    "FhirLoadReport",
    "FhirProblem",
    "load_fhir",
]

SYSTEM_FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
SYSTEM_DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
SYSTEM_HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
SYSTEM_ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
SYSTEM_SURVEY_ITEM = "urn:pht:survey-item"  # pht's own code system: "<instrument>.<item>"
SYSTEM_MUNICIPALITY = "urn:oid:2.16.578.1.12.4.1.1.3402"
SYSTEM_HCP_CATEGORY = "urn:oid:2.16.578.1.12.4.1.1.9060"  # helsepersonellkategori: LE, SP, PS
ICD10_SYSTEMS = (
    SYSTEM_ICD10,
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-no",
)
ICPC2_SYSTEMS = (SYSTEM_ICPC2, "http://hl7.org/fhir/sid/icpc-2", "urn:oid:2.16.840.1.113883.6.139")

# pht's convention for a municipality that the data do not give (status A, docs/importing.md).
UNKNOWN_MUNICIPALITY = "9999"
FHIR_CONDITIONS_TABLE = "fhir_conditions"

USED = (
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Encounter",
    "Condition",
    "EpisodeOfCare",
    "Observation",
)
# Resource types pht knows and does not import, and why (counted in the report, never fatal).
KNOWN_NOT_USED = {
    "Claim": "claims are not read: tariffs come from registry extracts (KUHR contacts)",
    "ExplanationOfBenefit": "claims are not read: tariffs come from registry extracts (KUHR)",
    "ChargeItem": "charges are not read: tariffs come from registry extracts (KUHR)",
    "Observation": f"only survey answers coded {SYSTEM_SURVEY_ITEM} are used",
}
ADMISSION_CLASSES = {"IMP", "ACUTE", "NONAC", "SS", "EMER"}
ACUTE_CLASSES = {"ACUTE", "EMER"}
SETTING_BY_CLASS = {"AMB": "office", "HH": "home", "VR": "video", "FLD": "home", "OBSENC": "office"}
NURSE_WORDS = ("nurse", "sykepleier", "224535009", "106292003", "SP")
PSYCHOLOGIST_WORDS = ("psycholog", "psykolog", "PS")


@dataclass(frozen=True, slots=True)
class FhirProblem:
    """A resource that could not be used fully, or a code pht does not know."""

    source: str  # file and entry (``bundle.json#12``) or line (``Patient.ndjson:3``)
    resource: str  # ``Type/id``
    reason: str

    def __str__(self) -> str:
        return f"{self.source} {self.resource} — {self.reason}"


@dataclass(slots=True)
class FhirLoadReport:
    """What a FHIR load read, used, skipped and wrote."""

    resources: int = 0
    used: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_known: Counter[str] = field(default_factory=Counter)  # of skipped: KNOWN_NOT_USED
    problems: list[FhirProblem] = field(default_factory=list)
    unknown_codes: Counter[tuple[str, str]] = field(default_factory=Counter)
    pseudonymised_patients: int = 0
    written: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "resources": self.resources,
            "used": dict(self.used),
            "skipped": dict(self.skipped),
            "skipped_known": {
                k: {"count": n, "why": KNOWN_NOT_USED[k]} for k, n in self.skipped_known.items()
            },
            "problems": [
                {"source": p.source, "resource": p.resource, "reason": p.reason}
                for p in self.problems
            ],
            "unknown_codes": [
                {"system": s, "code": c, "count": n}
                for (s, c), n in sorted(self.unknown_codes.items())
            ],
            "pseudonymised_patients": self.pseudonymised_patients,
            "written": self.written,
        }


@dataclass(slots=True)
class _Res:
    kind: str
    id: str
    source: str
    data: Any  # the parsed fhir.resources model


# --- reading ---------------------------------------------------------------------------------


def _iter_raw(path: Path) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(source, fullUrl, resource dict) for every resource in a file or folder."""
    if not path.exists():
        raise PhtError("no such file or folder", where=str(path))
    files = (
        [path]
        if path.is_file()
        else sorted(p for p in path.rglob("*") if p.suffix in (".json", ".ndjson") and p.is_file())
    )
    if not files:
        raise PhtError("no FHIR files here (*.json, *.ndjson)", where=str(path))
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PhtError("not UTF-8 text", where=str(f)) from None
        if f.suffix == ".ndjson":
            for n, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise PhtError(f"not JSON: {err.msg}", where=f"{f.name}:{n}") from None
                yield from _unpack(obj, f"{f.name}:{n}", None)
        else:
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as err:
                raise PhtError(
                    f"not JSON: {err.msg} (line {err.lineno}, column {err.colno})", where=str(f)
                ) from None
            yield from _unpack(obj, f.name, None)


def _unpack(
    obj: Any, source: str, full_url: str | None
) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    if not isinstance(obj, dict) or "resourceType" not in obj:
        raise PhtError("not a FHIR resource (no resourceType)", where=source)
    if obj["resourceType"] == "Bundle":
        for i, entry in enumerate(obj.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict):
                yield from _unpack(resource, f"{source}#{i}", entry.get("fullUrl"))
        return
    yield source, full_url, obj


# --- helpers ---------------------------------------------------------------------------------


def _stable_id(prefix: str, text: str) -> str:
    return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _is_survey_answer(obj: dict[str, Any]) -> bool:
    """True for a raw Observation coded in pht's survey-item system (checked before parsing:
    bulk exports hold millions of other Observations)."""
    code = obj.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    return isinstance(codings, list) and any(
        isinstance(c, dict) and c.get("system") == SYSTEM_SURVEY_ITEM for c in codings
    )


def _codings(concepts: Any) -> list[tuple[str, str]]:
    """(system, code) of every coding in a CodeableConcept or a list of them."""
    if concepts is None:
        return []
    items = concepts if isinstance(concepts, list) else [concepts]
    out = []
    for cc in items:
        for coding in getattr(cc, "coding", None) or []:
            if coding.code:
                out.append((coding.system or "", str(coding.code)))
    return out


class _Importer:
    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.report = FhirLoadReport()
        self.by_ref: dict[str, _Res] = {}
        self.res: dict[str, list[_Res]] = defaultdict(list)
        self.person_of: dict[int, str] = {}
        self.practitioner_of: dict[int, str] = {}
        self.practice_of: dict[int, str] = {}

    def problem(self, r: _Res | None, reason: str, source: str = "") -> None:
        self.report.problems.append(
            FhirProblem(r.source if r else source, f"{r.kind}/{r.id}" if r else "", reason)
        )

    # -- pass 1: parse and index --

    def read(self, path: Path) -> None:
        for source, full_url, obj in _iter_raw(path):
            self.report.resources += 1
            kind = str(obj.get("resourceType"))
            if kind not in USED or (kind == "Observation" and not _is_survey_answer(obj)):
                self.report.skipped[kind] += 1
                if kind in KNOWN_NOT_USED:
                    self.report.skipped_known[kind] += 1
                continue
            try:
                model = get_fhir_model_class(kind).model_validate(obj)
            except ValidationError as err:
                why = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:5]
                )
                self.report.problems.append(
                    FhirProblem(source, f"{kind}/{obj.get('id', '')}", f"not valid FHIR R4: {why}")
                )
                self.report.skipped[kind] += 1
                continue
            rid = str(getattr(model, "id", None) or full_url or source)
            r = _Res(kind, rid, source, model)
            self.report.used[kind] += 1
            self.res[kind].append(r)
            keys = [f"{kind}/{rid}"]
            if full_url:
                keys.append(full_url)
            for ident in getattr(model, "identifier", None) or []:
                if ident.system and ident.value:
                    keys.append(f"{kind}?identifier={ident.system}|{ident.value}")
            for k in keys:
                self.by_ref.setdefault(k, r)

    def resolve(self, ref: Any) -> _Res | None:
        target = getattr(ref, "reference", None)
        if not target:
            return None
        found = self.by_ref.get(target)
        if found is None and "/" in target and not target.startswith("urn:"):
            found = self.by_ref.get("/".join(target.split("/")[-2:]))  # absolute URLs
        return found

    # -- identities --

    def _identifier(self, r: _Res, systems: tuple[str, ...]) -> str | None:
        for ident in getattr(r.data, "identifier", None) or []:
            if ident.system in systems and ident.value:
                return str(ident.value)
        return None

    def orgs(self) -> list[dict[str, Any]]:
        rows = []
        for r in self.res["Organization"]:
            orgnr = self._identifier(r, (SYSTEM_ORGNR,))
            if orgnr is not None and validate_orgnr(orgnr) is not None:
                self.problem(
                    r, f"organisasjonsnummer {orgnr!r} is not valid: {validate_orgnr(orgnr)}"
                )
                orgnr = None
            pid = orgnr or _stable_id("fhir-org-", f"{r.kind}/{r.id}")
            self.practice_of[id(r)] = pid
            rows.append(
                {
                    "practice_id": pid,
                    "name": r.data.name or "(uten navn)",
                    "municipality_code": self._municipality(r.data.address),
                }
            )
        return rows

    def _municipality(self, addresses: Any) -> str:
        for addr in addresses or []:
            stack = list(getattr(addr, "extension", None) or [])
            while stack:
                ext = stack.pop()
                coding = getattr(ext, "valueCoding", None)
                if coding is not None and coding.system == SYSTEM_MUNICIPALITY and coding.code:
                    return str(coding.code)
                stack.extend(getattr(ext, "extension", None) or [])
        return UNKNOWN_MUNICIPALITY

    def patients(self) -> list[dict[str, Any]]:
        rows = []
        all_ids = []
        for r in self.res["Patient"]:
            all_ids.append(self._identifier(r, (SYSTEM_FNR, SYSTEM_DNR)))
        checks = person_id_problems([v or "" for v in all_ids])
        for r, number, bad in zip(self.res["Patient"], all_ids, checks, strict=True):
            if number is not None and bad is not None:
                self.problem(
                    r,
                    f"fødselsnummer/D-number {number!r} is not valid ({bad}); a pseudonym is used",
                )
                number = None
            if number is None:
                ident = next(
                    (f"{i.system}|{i.value}" for i in (r.data.identifier or []) if i.value),
                    f"Patient/{r.id}",
                )
                number = pseudonym(ident, self.key) if self.key else _stable_id("fp-", ident)
                self.report.pseudonymised_patients += 1
            gender = r.data.gender
            sex = {"female": "F", "male": "M"}.get(gender or "")
            birth = _date(r.data.birthDate)
            if sex is None or birth is None:
                self.problem(r, "patient without birth date or without gender female/male: skipped")
                continue
            self.person_of[id(r)] = number
            death = _date(getattr(r.data, "deceasedDateTime", None))
            rows.append(
                {
                    "person_id": number,
                    "birth_date": birth,
                    "sex": sex,
                    "municipality_code": self._municipality(r.data.address),
                    "death_date": death,
                }
            )
        return rows

    def _role(self, codes: list[tuple[str, str]], texts: list[str]) -> str:
        words = [c for _, c in codes] + texts
        joined = " ".join(words).lower()
        if (
            any(c == "SP" for _, c in codes)
            or any(w in joined for w in NURSE_WORDS[:2])
            or any(c in NURSE_WORDS[2:4] for _, c in codes)
        ):
            return "nurse"
        if any(c == "PS" for _, c in codes) or any(w in joined for w in PSYCHOLOGIST_WORDS[:2]):
            return "psychologist"
        return "gp"

    def practitioners(
        self, contacts_by_practitioner: dict[str, list[tuple[dt.date, str]]]
    ) -> list[dict[str, Any]]:
        roles_of: dict[int, list[_Res]] = defaultdict(list)
        for role in self.res["PractitionerRole"]:
            who = self.resolve(role.data.practitioner)
            if who is not None:
                roles_of[id(who)].append(role)
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self.res["Practitioner"]:
            hpr = self._identifier(r, (SYSTEM_HPR,))
            if hpr is not None and validate_hpr(hpr) is not None:
                self.problem(r, f"HPR number {hpr!r} is not valid: {validate_hpr(hpr)}")
                hpr = None
            pid = hpr or _stable_id("fhir-hpr-", f"Practitioner/{r.id}")
            self.practitioner_of[id(r)] = pid
            qual_codes = [c for q in (r.data.qualification or []) for c in _codings(q.code)]
            for role in roles_of.get(id(r), []):
                self.practitioner_of[id(role)] = pid
                org = self.resolve(role.data.organization)
                practice = self.practice_of.get(id(org)) if org else None
                if practice is None:
                    continue
                codes = _codings(role.data.code) + qual_codes
                texts = [c.text or "" for c in role.data.code or []]
                start = _date(role.data.period.start) if role.data.period else None
                end = _date(role.data.period.end) if role.data.period else None
                rows[(pid, practice)] = {
                    "practitioner_id": pid,
                    "practice_id": practice,
                    "role": self._role(codes, texts),
                    "start": start,
                    "end": end,
                }
            seen = contacts_by_practitioner.get(pid, [])
            for practice in sorted({p for _, p in seen}):
                if (pid, practice) in rows:
                    continue
                first = min(d for d, p in seen if p == practice)
                rows[(pid, practice)] = {
                    "practitioner_id": pid,
                    "practice_id": practice,
                    "role": self._role(qual_codes, []),
                    "start": first,
                    "end": None,
                }
        out = []
        for row in rows.values():
            if row["start"] is None:
                dates = [
                    d
                    for d, p in contacts_by_practitioner.get(row["practitioner_id"], [])
                    if p == row["practice_id"]
                ]
                row["start"] = min(dates) if dates else dt.date.today()
            out.append(row)
        return out

    def _who(self, ref: Any) -> tuple[str | None, str | None]:
        """(practitioner id, practice id) behind a reference to a Practitioner(Role)."""
        target = self.resolve(ref)
        if target is None:
            return None, None
        if target.kind == "PractitionerRole":
            who = self.resolve(target.data.practitioner)
            org = self.resolve(target.data.organization)
            return (
                self.practitioner_of.get(id(who)) if who else None,
                self.practice_of.get(id(org)) if org else None,
            )
        if target.kind == "Practitioner":
            return self.practitioner_of.get(id(target)), None
        return None, None

    # -- codes --

    def classify(self, r: _Res, codings: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """ICPC-2 and ICD-10 codes from codings (SNOMED CT mapped); others reported."""
        icpc2: list[str] = []
        icd10: list[str] = []
        smap = snomed_map()
        for system, code in codings:
            if system in ICPC2_SYSTEMS:
                if code in icpc2_codes():
                    icpc2.append(code)
                else:
                    self.report.unknown_codes[("ICPC-2", code)] += 1
            elif system in ICD10_SYSTEMS:
                c = code.replace(".", "")
                if icd10_known(c):
                    icd10.append(c)
                else:
                    self.report.unknown_codes[("ICD-10", code)] += 1
            elif system == SYSTEM_SNOMED:
                concept = smap.get(code)
                if concept is None:
                    self.report.unknown_codes[("SNOMED CT (not mapped)", code)] += 1
                else:
                    icpc2.append(concept.icpc2)
                    icd10.append(concept.icd10)
            else:
                self.report.unknown_codes[(system or "(no system)", code)] += 1
        return list(dict.fromkeys(icpc2)), list(dict.fromkeys(icd10))

    # -- pass 2: map --

    def build(self) -> dict[str, list[dict[str, Any]]]:
        practices = self.orgs()
        persons = self.patients()
        # practitioner ids first (contacts need them), rows after contacts are known
        for r in self.res["Practitioner"]:
            hpr = self._identifier(r, (SYSTEM_HPR,))
            ok = hpr is not None and validate_hpr(hpr) is None
            self.practitioner_of[id(r)] = (
                hpr if ok and hpr else _stable_id("fhir-hpr-", f"Practitioner/{r.id}")
            )
        for role in self.res["PractitionerRole"]:
            who = self.resolve(role.data.practitioner)
            if who is not None:
                self.practitioner_of[id(role)] = self.practitioner_of[id(who)]
        conditions_by_encounter: dict[int, list[_Res]] = defaultdict(list)
        free_conditions: list[_Res] = []
        diagnosed = {
            id(cond)
            for e in self.res["Encounter"]
            for diag in e.data.diagnosis or []
            if (cond := self.resolve(diag.condition)) is not None
        }
        for c in self.res["Condition"]:
            enc = self.resolve(c.data.encounter)
            if enc is not None:
                conditions_by_encounter[id(enc)].append(c)
            elif id(c) not in diagnosed:
                free_conditions.append(c)
        contacts: list[dict[str, Any]] = []
        admissions: list[dict[str, Any]] = []
        seen_by_practitioner: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
        first_contact: dict[str, dt.date] = {}
        for e in self.res["Encounter"]:
            row = self._encounter(e, conditions_by_encounter.get(id(e), []))
            if row is None:
                continue
            table, data = row
            (contacts if table == "contacts" else admissions).append(data)
            if table == "contacts":
                seen_by_practitioner[data["practitioner_id"]].append(
                    (data["date"], data["practice_id"])
                )
                pid = data["person_id"]
                first_contact[pid] = min(first_contact.get(pid, data["date"]), data["date"])
        practitioners = self.practitioners(seen_by_practitioner)
        memberships = self._memberships(first_contact, practitioners)
        surveys = [a for o in self.res["Observation"] if (a := self._survey(o)) is not None]
        return {
            "practices": practices,
            "practitioners": practitioners,
            "persons": persons,
            "list_memberships": memberships,
            "contacts": contacts,
            "admissions": admissions,
            "survey_responses": surveys,
            FHIR_CONDITIONS_TABLE: self._free_conditions(free_conditions),
        }

    def _encounter(self, e: _Res, conditions: list[_Res]) -> tuple[str, dict[str, Any]] | None:
        d = e.data
        patient = self.resolve(d.subject)
        person = self.person_of.get(id(patient)) if patient else None
        if person is None:
            self.problem(e, "subject is not a known patient: skipped")
            return None
        start = _date(d.period.start) if d.period else None
        if start is None:
            self.problem(e, "encounter without period.start: skipped")
            return None
        codings = _codings(d.reasonCode)
        for diag in d.diagnosis or []:
            cond = self.resolve(diag.condition)
            if cond is not None and cond.kind == "Condition" and cond not in conditions:
                conditions = [*conditions, cond]
        for c in conditions:
            codings += _codings(c.data.code)
        icpc2, icd10 = self.classify(e, codings)
        klass = (d.class_fhir.code if d.class_fhir else None) or "AMB"
        if klass in ADMISSION_CLASSES:
            if not icd10:
                self.problem(
                    e, "hospital stay without an ICD-10 (or mapped SNOMED CT) diagnosis: skipped"
                )
                return None
            end = _date(d.period.end) if d.period else None
            return "admissions", {
                "admission_id": f"fhir:{e.id}",
                "person_id": person,
                "admitted": start,
                "discharged": end or start,
                "main_diagnosis": icd10[0],
                "other_diagnoses": " ".join(icd10[1:]) or None,
                "acute": klass in ACUTE_CLASSES,
            }
        practitioner, practice = None, None
        for part in d.participant or []:
            practitioner, practice_from_role = self._who(part.individual)
            practice = practice or practice_from_role
            if practitioner:
                break
        provider = self.resolve(d.serviceProvider)
        if provider is not None and provider.kind == "Organization":
            practice = self.practice_of.get(id(provider)) or practice
        if practitioner is None or practice is None:
            self.problem(e, "encounter without a known practitioner and organisation: skipped")
            return None
        return "contacts", {
            "contact_id": f"fhir:{e.id}",
            "person_id": person,
            "practitioner_id": practitioner,
            "practice_id": practice,
            "date": start,
            "setting": SETTING_BY_CLASS.get(klass, "office"),
            "diagnoses": " ".join(icpc2) or None,
            "tariffs": None,
            "copay_nok": None,
            "refund_nok": None,
        }

    def _survey(self, o: _Res) -> dict[str, Any] | None:
        """A survey answer (Observation) as a ``survey_responses`` row, or None (reported)."""
        d = o.data
        if d.status in ("entered-in-error", "cancelled"):
            self.problem(o, f"observation with status {d.status}: skipped")
            return None
        code = next(c for s, c in _codings(d.code) if s == SYSTEM_SURVEY_ITEM)
        instrument, _, item = code.partition(".")
        if not instrument or not item:
            self.problem(o, f"survey item code {code!r} is not <instrument>.<item>: skipped")
            return None
        patient = self.resolve(d.subject)
        person = self.person_of.get(id(patient)) if patient else None
        if person is None:
            self.problem(o, "subject is not a known patient: skipped")
            return None
        when = _date(d.effectiveDateTime) or _date(
            d.effectivePeriod.start if d.effectivePeriod else None
        )
        when = when or _date(d.issued)
        if when is None:
            self.problem(o, "survey answer without effective date: skipped")
            return None
        if d.valueQuantity is not None and d.valueQuantity.value is not None:
            value = float(d.valueQuantity.value)
        elif d.valueInteger is not None:
            value = float(d.valueInteger)
        else:
            self.problem(o, "survey answer without a number (valueQuantity/valueInteger): skipped")
            return None
        practice = None
        for ref in d.performer or []:
            target = self.resolve(ref)
            if target is not None and target.kind == "Organization":
                practice = self.practice_of.get(id(target))
            elif target is not None and target.kind == "PractitionerRole":
                practice = self._who(ref)[1]
            if practice:
                break
        encounter = self.resolve(d.encounter)
        if practice is None and encounter is not None and encounter.kind == "Encounter":
            provider = self.resolve(encounter.data.serviceProvider)
            if provider is not None and provider.kind == "Organization":
                practice = self.practice_of.get(id(provider))
        if practice is None:
            self.problem(
                o, "survey answer without a practice (performer or encounter's provider): skipped"
            )
            return None
        return {
            "response_id": f"fhir:{o.id}",
            "person_id": person,
            "practice_id": practice,
            "date": when,
            "instrument": instrument,
            "item": item,
            "value": value,
        }

    def _memberships(
        self, first_contact: dict[str, dt.date], practitioners: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        gps = {p["practitioner_id"] for p in practitioners if p["role"] == "gp"}
        rows: dict[tuple[str, dt.date], dict[str, Any]] = {}
        has_episode: set[str] = set()
        for ep in self.res["EpisodeOfCare"]:
            patient = self.resolve(ep.data.patient)
            person = self.person_of.get(id(patient)) if patient else None
            gp, _ = self._who(ep.data.careManager)
            start = _date(ep.data.period.start) if ep.data.period else None
            if person is None or gp is None or start is None:
                self.problem(
                    ep, "episode of care without patient, GP (careManager) or start: skipped"
                )
                continue
            if gp not in gps:
                self.problem(ep, "careManager is not a GP in this data: skipped")
                continue
            has_episode.add(person)
            rows[(person, start)] = {
                "person_id": person,
                "gp_id": gp,
                "start": start,
                "end": _date(ep.data.period.end) if ep.data.period else None,
            }
        for r in self.res["Patient"]:
            person = self.person_of.get(id(r))
            if person is None or person in has_episode:
                continue
            for ref in r.data.generalPractitioner or []:
                gp, _ = self._who(ref)
                if gp is not None and gp in gps:
                    start = first_contact.get(person, dt.date.today())
                    rows[(person, start)] = {
                        "person_id": person,
                        "gp_id": gp,
                        "start": start,
                        "end": None,
                    }
                    break
        return list(rows.values())

    def _free_conditions(self, conditions: list[_Res]) -> list[dict[str, Any]]:
        rows = []
        for c in conditions:
            patient = self.resolve(c.data.subject)
            person = self.person_of.get(id(patient)) if patient else None
            if person is None:
                self.problem(c, "subject is not a known patient: skipped")
                continue
            icpc2, icd10 = self.classify(c, _codings(c.data.code))
            if not icpc2 and not icd10:
                continue
            rows.append(
                {
                    "condition_id": f"fhir:{c.id}",
                    "person_id": person,
                    "icpc2": " ".join(icpc2) or None,
                    "icd10": " ".join(icd10) or None,
                    "onset_date": _date(getattr(c.data, "onsetDateTime", None)),
                    "recorded_date": _date(c.data.recordedDate),
                }
            )
        return rows


FHIR_CONDITIONS_SCHEMA = pa.schema(
    [
        ("condition_id", pa.string()),
        ("person_id", pa.string()),
        ("icpc2", pa.string()),
        ("icd10", pa.string()),
        ("onset_date", pa.date32()),
        ("recorded_date", pa.date32()),
    ]
)


def _arrow(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    if table == FHIR_CONDITIONS_TABLE:
        schema = FHIR_CONDITIONS_SCHEMA
        key: tuple[str, ...] = ("condition_id",)
    else:
        schema = TABLES[table].schema.to_pyarrow()
        key = TABLES[table].key
    rows = list({tuple(r.get(k) for k in key): r for r in rows}.values())  # one row per key
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.table({name: pa.array(vals, schema.field(name).type) for name, vals in cols.items()})


def _ensure_conditions_table(wh: Warehouse) -> None:
    wh.con.con.execute(
        f"CREATE TABLE IF NOT EXISTS {FHIR_CONDITIONS_TABLE} (condition_id VARCHAR, "
        "person_id VARCHAR, icpc2 VARCHAR, icd10 VARCHAR, onset_date DATE, recorded_date DATE)"
    )


def _missing_municipalities(wh: Warehouse, codes: set[str]) -> pa.Table:
    have = {r[0] for r in wh.sql("SELECT municipality_code FROM municipalities")}
    known = municipality_codes()
    rows = sorted(codes - have)
    return pa.table(
        {
            "municipality_code": rows,
            "name": [known[c].name if c in known else "Ukjent kommune" for c in rows],
            "population": pa.array([0] * len(rows), pa.int64()),
            "centrality": pa.nulls(len(rows), pa.int64()),
        }
    )


def load_fhir(
    warehouse: Warehouse, path: str | Path, *, key: bytes | None = None
) -> FhirLoadReport:
    """Read FHIR R4 JSON (Bundle, folder, NDJSON) and write what pht uses, in one transaction.

    *key*: the pseudonymisation key for patients without a Norwegian identifier (default: from
    ``$PHT_PSEUDONYM_KEY`` when set, else an unkeyed SHA-256 of the identifier).
    """
    if key is None and os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode("utf-8")
    warehouse.require_initialised()
    imp = _Importer(key)
    imp.read(Path(path))
    tables = imp.build()
    codes = {r["municipality_code"] for t in ("practices", "persons") for r in tables[t]}
    with warehouse.transaction():
        _ensure_conditions_table(warehouse)
        municipalities = _missing_municipalities(warehouse, codes)
        if municipalities.num_rows:
            warehouse.replace_rows("municipalities", municipalities, key=("municipality_code",))
            imp.report.written["municipalities"] = municipalities.num_rows
        for table, rows in tables.items():
            if not rows:
                continue
            data = _arrow(table, rows)
            if table == FHIR_CONDITIONS_TABLE:
                raw = warehouse.con.con
                raw.register("_pht_fc", data)
                try:
                    raw.execute(
                        f"DELETE FROM {table} WHERE condition_id IN "
                        "(SELECT condition_id FROM _pht_fc)"
                    )
                    raw.execute(f"INSERT INTO {table} SELECT * FROM _pht_fc")
                finally:
                    raw.unregister("_pht_fc")
                imp.report.written[table] = data.num_rows
            else:
                imp.report.written[table] = warehouse.replace_rows(
                    table, data, key=TABLES[table].key
                )
    return imp.report
