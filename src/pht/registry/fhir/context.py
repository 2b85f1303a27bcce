"""What the mapping functions share: the parsed resources, references, identities and rows.

Resources are parsed with the R4 models of ``fhir.resources`` (its ``R4B`` package: R4B changed
none of the resources read here) and indexed by every name a reference may use: ``Type/id``, the
Bundle ``fullUrl`` (``urn:uuid:…``, absolute URLs), conditional references
``Type?identifier=system|value`` and logical references (``Reference.identifier``), as Synthea
writes them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from pht.core import formats
from pht.reference.codes import SYSTEM_SNOMED, icd10_known, icpc2_codes, snomed_map
from pht.registry.fhir.read import RawResource
from pht.registry.fhir.report import FhirLoadReport, FhirProblem
from pht.registry.fhir.systems import (
    FHIR_CONDITIONS_TABLE,
    ICD10_SYSTEMS,
    ICPC2_SYSTEMS,
    SYSTEM_MUNICIPALITY,
    UNKNOWN_MUNICIPALITY,
)
from pht.registry.schema import TABLES

__all__ = ["Context", "Res", "codings", "to_date"]

KEYS: dict[str, tuple[str, ...]] = {name: spec.key for name, spec in TABLES.items()}
KEYS[FHIR_CONDITIONS_TABLE] = ("condition_id",)


def _nb_value(value: Any) -> str:
    """A key value in a problem line: dates as a Norwegian reader writes them (dd.mm.åååå)."""
    return formats.day(value) if isinstance(value, dt.date) else str(value)


def _either(kinds: tuple[str, ...]) -> str:
    """Resource types as alternatives: ``Patient``, ``Practitioner eller PractitionerRole``,
    ``Organization, Practitioner eller Patient``."""
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} eller {kinds[-1]}"


@dataclass(eq=False, slots=True)
class Res:
    """A parsed resource: its type, id, where it was read, and the ``fhir.resources`` model."""

    kind: str
    id: str
    where: str
    data: Any

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.id}"


@dataclass(slots=True)
class _Row:
    values: dict[str, Any]
    origins: list[Res]


@dataclass(slots=True)
class Context:
    """State shared by the mapping functions of one load from one *source*."""

    source: str
    key: bytes | None
    report: FhirLoadReport
    resources: dict[str, list[Res]] = field(default_factory=lambda: defaultdict(list))
    by_ref: dict[str, Res] = field(default_factory=dict)
    by_identifier: dict[str, list[Res]] = field(default_factory=lambda: defaultdict(list))
    # identities given by the mapping functions (keyed by the Res object)
    person_of: dict[int, str] = field(default_factory=dict)
    practitioner_of: dict[int, str] = field(default_factory=dict)
    practice_of: dict[int, str] = field(default_factory=dict)
    # what encounters showed: (practitioner, practice) -> first date; person -> first contact
    seen: dict[tuple[str, str], dt.date] = field(default_factory=dict)
    first_contact: dict[str, dt.date] = field(default_factory=dict)
    roles: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    practitioner_res: dict[str, Res] = field(default_factory=dict)  # id -> first Practitioner
    qualification: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    role_by_qualification: dict[str, str] = field(default_factory=dict)
    placements: list[dict[str, Any]] = field(default_factory=list)  # from PractitionerRoles
    has_episode: set[str] = field(default_factory=set)
    pseudonymised: set[str] = field(default_factory=set)
    emitted: set[int] = field(default_factory=set)  # resources a row was emitted from
    rows: dict[str, dict[tuple[Any, ...], _Row]] = field(default_factory=lambda: defaultdict(dict))
    reported: set[int] = field(default_factory=set)  # resources with a problem line
    _conditions_of: dict[int, list[Res]] | None = None
    _encounter_of: dict[int, Res] | None = None

    # -- problems --

    def problem(self, r: Res, field_: str, reason: str) -> None:
        """Report a problem with resource *r* (and its element *field_*)."""
        self.reported.add(id(r))
        self.report.problems.append(FhirProblem(r.where, r.ref, field_, reason))

    # -- parsing and indexing --

    def add(self, raw: RawResource) -> Res | None:
        """Parse and index one resource; an invalid one is reported and skipped."""
        obj = raw.obj
        kind = obj["resourceType"]
        try:
            model = get_fhir_model_class(kind).model_validate(obj)
        except ValidationError as err:
            errors = err.errors()
            first = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
            why = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
            self.report.problems.append(
                FhirProblem(
                    raw.where,
                    f"{kind}/{obj.get('id', '')}",
                    first,
                    f"ikke gyldig FHIR R4 ({why}): hoppet over",
                )
            )
            return None
        rid = str(getattr(model, "id", None) or raw.full_url or raw.where)
        r = Res(kind, rid, raw.where, model)
        self.resources[kind].append(r)
        previous = self.by_ref.get(r.ref)
        if previous is not None:
            self.problem(
                r, "id", f"samme id som {previous.where}: referanser går til den første av dem"
            )
        for k in (r.ref, raw.full_url):
            if k:
                self.by_ref.setdefault(k, r)
        for ident in getattr(model, "identifier", None) or []:
            if ident.system and ident.value:
                self.by_ref.setdefault(f"{kind}?identifier={ident.system}|{ident.value}", r)
                self.by_identifier[f"{ident.system}|{ident.value}"].append(r)
        return r

    # -- references --

    def lookup(self, ref: Any) -> tuple[Res | None, str]:
        """The resource *ref* points to (or None) and the reference as text ("" when absent)."""
        if ref is None:
            return None, ""
        target = getattr(ref, "reference", None)
        if target:
            found = self.by_ref.get(target)
            if found is None and "/" in target and not target.startswith("urn:"):
                found = self.by_ref.get("/".join(target.split("/")[-2:]))  # absolute URLs
            return found, target
        ident = getattr(ref, "identifier", None)
        if ident is None or not ident.value:
            return None, ""
        key = f"{ident.system or ''}|{ident.value}"
        candidates = self.by_identifier.get(key, [])
        wanted = getattr(ref, "type", None)
        found = next((x for x in candidates if not wanted or x.kind == wanted), None)
        return found, f"identifier {key}"

    def resolve(
        self, r: Res, ref: Any, field_: str, kinds: Iterable[str], *, dropped: str = ""
    ) -> Res | None:
        """The resource *ref* (a Reference of *r*'s element *field_*) points to, if of *kinds*.

        A reference that is there but points nowhere in the data (or to another type) is
        reported with *dropped*, what that costs; an absent reference returns None quietly.
        """
        kinds = tuple(kinds)
        found, text = self.lookup(ref)
        if not text:
            return None
        if found is not None and found.kind not in kinds:
            # a logical reference may name several resources: take one of the wanted kinds
            ident = getattr(ref, "identifier", None)
            if ident is not None and not getattr(ref, "reference", None):
                key = f"{ident.system or ''}|{ident.value}"
                found = next((x for x in self.by_identifier.get(key, []) if x.kind in kinds), found)
        if found is not None and found.kind in kinds:
            return found
        why = (
            "finnes ikke i dataene"
            if found is None
            else f"er en {found.kind}, ikke en {_either(kinds)}"
        )
        self.problem(r, field_, f"referansen {text!r} {why}" + (f": {dropped}" if dropped else ""))
        return None

    def who(self, r: Res, ref: Any, field_: str) -> tuple[str | None, str | None]:
        """(practitioner id, practice id) behind a reference to a Practitioner(Role)."""
        target = self.resolve(
            r, ref, field_, ("Practitioner", "PractitionerRole"), dropped="referansen er utelatt"
        )
        if target is None:
            return None, None
        return self.practitioner_of.get(id(target)), self.practice_of.get(id(target))

    def person(self, r: Res, ref: Any, field_: str = "subject") -> str | None:
        """The person id of the Patient *ref* points to; reported when there is none."""
        if not self.lookup(ref)[1]:
            self.problem(r, field_, "ingen pasient (Patient): hoppet over")
            return None
        patient = self.resolve(r, ref, field_, ("Patient",), dropped="hoppet over")
        if patient is None:
            return None
        person = self.person_of.get(id(patient))
        if person is None:
            self.problem(
                r, field_, f"{patient.ref} ble ikke lastet (se problemet der): hoppet over"
            )
        return person

    def _link_conditions(self) -> None:
        by_encounter: dict[int, list[Res]] = defaultdict(list)
        of_condition: dict[int, Res] = {}
        for c in self.resources["Condition"]:
            enc, _ = self.lookup(c.data.encounter)
            if enc is not None and enc.kind == "Encounter":
                by_encounter[id(enc)].append(c)
                of_condition[id(c)] = enc
        for e in self.resources["Encounter"]:
            for diag in e.data.diagnosis or []:
                cond, _ = self.lookup(diag.condition)
                if cond is not None and cond.kind == "Condition" and id(cond) not in of_condition:
                    by_encounter[id(e)].append(cond)
                    of_condition[id(cond)] = e
        self._conditions_of = by_encounter
        self._encounter_of = of_condition

    def conditions_of(self, encounter: Res) -> list[Res]:
        """The Conditions that point to *encounter*, or that it names as diagnosis."""
        if self._conditions_of is None:
            self._link_conditions()
        assert self._conditions_of is not None
        return self._conditions_of.get(id(encounter), [])

    def encounter_of(self, condition: Res) -> Res | None:
        """The Encounter a Condition belongs to (its ``encounter``, or a diagnosis naming it)."""
        if self._encounter_of is None:
            self._link_conditions()
        assert self._encounter_of is not None
        return self._encounter_of.get(id(condition))

    # -- ids --

    def event_id(self, r: Res) -> str:
        """The warehouse id of an event resource, qualified by the source: two servers'
        ``Encounter/123`` are two rows."""
        return f"{self.source}:fhir:{r.id}"

    def local_id(self, prefix: str, r: Res) -> str:
        """A stable id for an Organization or Practitioner without a national number,
        qualified by the source."""
        return self.hashed_id(prefix, f"{self.source}/{r.ref}")

    @staticmethod
    def hashed_id(prefix: str, text: str) -> str:
        """*prefix* + the first 24 hex digits of the SHA-256 of *text*."""
        return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    # -- practitioners --

    def saw(self, practitioner: str, practice: str, day: dt.date) -> None:
        """Note that an encounter showed *practitioner* working in *practice* on *day*."""
        k = (practitioner, practice)
        self.seen[k] = min(self.seen.get(k, day), day)

    def is_gp(self, practitioner: str) -> bool:
        """True when the practitioner's roles (else the qualification) make it a GP."""
        roles = self.roles.get(practitioner)
        if roles:
            return "gp" in roles
        return self.role_by_qualification.get(practitioner, "gp") == "gp"

    # -- rows --

    def emit(self, table: str, values: dict[str, Any], *origins: Res) -> None:
        """Add a row for *table*, written from *origins*. A row with the same key from another
        resource is reported; the later one is kept (as loading it later would) and both
        resources count as used."""
        key = tuple(values.get(k) for k in KEYS[table])
        before = self.rows[table].get(key)
        kept = list(origins)
        if (
            before is not None
            and before.origins
            and origins
            and before.origins[0] is not origins[0]
        ):
            first = before.origins[0]
            self.problem(
                origins[0],
                "",
                f"gir samme rad i {table} ({', '.join(map(_nb_value, key))}) som {first.ref} "
                f"({first.where}): den siste beholdes",
            )
            kept += before.origins
        self.rows[table][key] = _Row(values, kept)
        if origins:
            self.emitted.add(id(origins[0]))

    def written_from(self, r: Res) -> bool:
        """True when a row was emitted from *r*."""
        return id(r) in self.emitted

    def table_rows(self) -> dict[str, list[dict[str, Any]]]:
        """The rows per table, one per key."""
        return {t: [r.values for r in rows.values()] for t, rows in self.rows.items()}

    def count_used(self) -> None:
        """Fill ``used``/``skipped`` from the rows' origins; a resource of a mapped type that went
        nowhere without a problem line gets one, so nothing is skipped silently."""
        used: set[int] = {
            id(o) for rows in self.rows.values() for r in rows.values() for o in r.origins
        }
        for kind, items in self.resources.items():
            for r in items:
                if id(r) in used:
                    self.report.used[kind] += 1
                    continue
                self.report.skipped[kind] += 1
                if id(r) not in self.reported:
                    self.problem(r, "", "ingenting fra ressursen kunne skrives: hoppet over")

    # -- values --

    def identifier(self, r: Res, systems: Iterable[str]) -> str | None:
        """The value of *r*'s first identifier in one of *systems*."""
        systems = tuple(systems)
        for ident in getattr(r.data, "identifier", None) or []:
            if ident.system in systems and ident.value:
                return str(ident.value)
        return None

    def municipality(self, addresses: Any) -> str:
        """The kommunenummer of the no-basis address extension, else pht's "unknown" code."""
        for addr in addresses or []:
            stack = list(getattr(addr, "extension", None) or [])
            while stack:
                ext = stack.pop()
                coding = getattr(ext, "valueCoding", None)
                if coding is not None and coding.system == SYSTEM_MUNICIPALITY and coding.code:
                    return str(coding.code)
                stack.extend(getattr(ext, "extension", None) or [])
        return UNKNOWN_MUNICIPALITY

    def classify(self, codes: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """ICPC-2 and ICD-10 codes from (system, code) pairs (SNOMED CT mapped); the others
        are counted in ``unknown_codes``."""
        icpc2: list[str] = []
        icd10: list[str] = []
        smap = snomed_map()
        unknown: Counter[tuple[str, str]] = self.report.unknown_codes
        for system, code in codes:
            if system in ICPC2_SYSTEMS:
                if code in icpc2_codes():
                    icpc2.append(code)
                else:
                    unknown[("ICPC-2", code)] += 1
            elif system in ICD10_SYSTEMS:
                c = code.replace(".", "")
                if icd10_known(c):
                    icd10.append(c)
                else:
                    unknown[("ICD-10", code)] += 1
            elif system == SYSTEM_SNOMED:
                concept = smap.get(code)
                if concept is None:
                    unknown[("SNOMED CT (not mapped)", code)] += 1
                else:
                    icpc2.append(concept.icpc2)
                    icd10.append(concept.icd10)
            else:
                unknown[(system or "(no system)", code)] += 1
        return list(dict.fromkeys(icpc2)), list(dict.fromkeys(icd10))


def to_date(value: Any) -> dt.date | None:
    """The date part of a FHIR date/dateTime (model value or text), else None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def codings(concepts: Any) -> list[tuple[str, str]]:
    """(system, code) of every coding in a CodeableConcept or a list of them."""
    if concepts is None:
        return []
    items = concepts if isinstance(concepts, list) else [concepts]
    return [
        (coding.system or "", str(coding.code))
        for cc in items
        for coding in getattr(cc, "coding", None) or []
        if coding.code
    ]
