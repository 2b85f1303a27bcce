"""One mapping function per FHIR resource type, registered in :data:`MAPPINGS`.

Each function reads one parsed resource and emits warehouse rows through the :class:`Context`
(or gives the resource an identity other rows use: a Practitioner's HPR number). They run type by
type in the order of :data:`MAPPINGS`, so that a Patient has its person id before an Encounter
points to it. Rows that need every resource first (a practitioner's practices seen in the
encounters, lists from ``Patient.generalPractitioner``) are made by the functions in
:data:`AFTER`. Whatever a function cannot use it reports, with the element concerned.

==================  ==========================================================================
Organization        ``practices`` (organisasjonsnummer ``urn:oid:2.16.578.1.12.4.1.4.101``)
Practitioner        its HPR number (``urn:oid:2.16.578.1.12.4.1.4.4``) and qualification
PractitionerRole    ``practitioners`` (role from the role code or qualification: nurse,
                    psychologist, else gp); practitioners without a role get a row per practice
                    they have encounters in
Patient             ``persons`` (fødselsnummer ``…4.1``, D-number ``…4.2``: birth date and sex
                    from the number when the resource lacks them; others get a stable
                    pseudonym); ``generalPractitioner`` → ``list_memberships`` when no
                    EpisodeOfCare gives the list period
EpisodeOfCare       ``list_memberships`` (careManager = the GP, period = the list period)
Encounter           ambulatory/home/virtual → ``contacts``; inpatient/acute/emergency →
                    ``admissions`` (needs an ICD-10 main diagnosis, SNOMED CT mapped)
Condition           its codes go to its encounter's diagnoses; a Condition without an encounter
                    (problem list) goes to the side table ``fhir_conditions``
Observation         a survey answer coded ``urn:pht:survey-item|<instrument>.<item>`` with a
                    number → ``survey_responses``
==================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pht.core import formats
from pht.core.errors import InvalidIdentifier
from pht.core.identifiers import parse_person_id, validate_hpr, validate_orgnr
from pht.registry.fhir.context import Context, Res, codings, to_date
from pht.registry.fhir.systems import (
    ACUTE_CLASSES,
    ADMISSION_CLASSES,
    FHIR_CONDITIONS_TABLE,
    SETTING_BY_CLASS,
    SYSTEM_DNR,
    SYSTEM_FNR,
    SYSTEM_HPR,
    SYSTEM_ORGNR,
    SYSTEM_SURVEY_ITEM,
)
from pht.registry.pseudonymise import pseudonym

__all__ = ["AFTER", "MAPPINGS", "is_survey_answer"]

Mapping = Callable[[Res, Context], None]

NURSE_CODES = ("SP", "224535009", "106292003")
NURSE_WORDS = ("nurse", "sykepleier")
PSYCHOLOGIST_WORDS = ("psycholog", "psykolog")
SEX = {"female": "F", "male": "M"}


def role_for(codes: list[tuple[str, str]], texts: list[str]) -> str:
    """gp, nurse or psychologist from role/qualification codes and texts."""
    joined = " ".join([c for _, c in codes] + texts).lower()
    if any(c in NURSE_CODES for _, c in codes) or any(w in joined for w in NURSE_WORDS):
        return "nurse"
    if any(c == "PS" for _, c in codes) or any(w in joined for w in PSYCHOLOGIST_WORDS):
        return "psychologist"
    return "gp"


def is_survey_answer(obj: dict[str, Any]) -> bool:
    """True for a raw Observation coded in pht's survey-item system (checked before parsing:
    bulk exports hold millions of other Observations)."""
    code = obj.get("code")
    items = code.get("coding") if isinstance(code, dict) else None
    return isinstance(items, list) and any(
        isinstance(c, dict) and c.get("system") == SYSTEM_SURVEY_ITEM for c in items
    )


def _absent(ref: Any) -> bool:
    return ref is None or not (getattr(ref, "reference", None) or getattr(ref, "identifier", None))


# --- one function per resource type ------------------------------------------------------------


def map_organization(r: Res, ctx: Context) -> None:
    """Organization → ``practices``: the organisasjonsnummer, else a local id."""
    orgnr = ctx.identifier(r, (SYSTEM_ORGNR,))
    if orgnr is not None and (why := validate_orgnr(orgnr)) is not None:
        ctx.problem(
            r,
            "identifier",
            f"organisasjonsnummer {orgnr!r} er ikke gyldig ({why}): en lokal id brukes",
        )
        orgnr = None
    practice = orgnr or ctx.local_id("fhir-org-", r)
    ctx.practice_of[id(r)] = practice
    ctx.emit(
        "practices",
        {
            "practice_id": practice,
            "name": r.data.name or "(uten navn)",
            "municipality_code": ctx.municipality(r.data.address),
        },
        r,
    )


def map_patient(r: Res, ctx: Context) -> None:
    """Patient → ``persons``: the fødselsnummer/D-number (which gives birth date and sex when
    the resource lacks them), else a stable pseudonym; needs birth date and sex."""
    d = r.data
    number = ctx.identifier(r, (SYSTEM_FNR, SYSTEM_DNR))
    parsed = None
    if number is not None:
        try:
            parsed = parse_person_id(number)
        except InvalidIdentifier as err:
            ctx.problem(
                r,
                "identifier",
                f"fødselsnummer/D-nummer {number!r} er ikke gyldig ({err.reason}): "
                "et pseudonym brukes",
            )
    birth = to_date(d.birthDate)
    sex = SEX.get(d.gender or "")
    if parsed is not None:
        person = parsed.number
        if birth is not None and birth != parsed.birth_date:
            ctx.problem(
                r,
                "birthDate",
                f"{formats.day(birth)} stemmer ikke med fødselsdatoen i nummeret "
                f"({formats.day(parsed.birth_date)}): nummerets brukes",
            )
        if sex is not None and sex != parsed.sex:
            ctx.problem(
                r, "gender", f"{d.gender} stemmer ikke med kjønnet i nummeret: nummerets brukes"
            )
        birth, sex = parsed.birth_date, parsed.sex
    else:
        ident = next(
            (f"{i.system}|{i.value}" for i in (d.identifier or []) if i.value),
            f"{ctx.source}/{r.ref}",
        )
        person = pseudonym(ident, ctx.key) if ctx.key else ctx.hashed_id("fp-", ident)
        missing = [f for f, v in (("birthDate", birth), ("gender", sex)) if v is None]
        if missing:
            ctx.problem(
                r,
                missing[0],
                "mangler gyldig fødselsnummer/D-nummer"
                + "".join(
                    (", " if i < len(missing) - 1 else " og ")
                    + ("fødselsdato" if f == "birthDate" else "kjønn (female/male)")
                    for i, f in enumerate(missing)
                )
                + ": hoppet over",
            )
            return
        ctx.pseudonymised.add(person)
    ctx.person_of[id(r)] = person
    ctx.emit(
        "persons",
        {
            "person_id": person,
            "birth_date": birth,
            "sex": sex,
            "municipality_code": ctx.municipality(d.address),
            "death_date": to_date(getattr(d, "deceasedDateTime", None)),
        },
        r,
    )


def map_practitioner(r: Res, ctx: Context) -> None:
    """Practitioner → its id (HPR number, else a local id) and qualification; its rows come
    from its PractitionerRoles and encounters (:func:`practitioner_rows`)."""
    hpr = ctx.identifier(r, (SYSTEM_HPR,))
    if hpr is not None and (why := validate_hpr(hpr)) is not None:
        ctx.problem(
            r, "identifier", f"HPR-nummer {hpr!r} er ikke gyldig ({why}): en lokal id brukes"
        )
        hpr = None
    pid = hpr or ctx.local_id("fhir-hpr-", r)
    ctx.practitioner_of[id(r)] = pid
    ctx.practitioner_res.setdefault(pid, r)
    qualification = [c for q in (r.data.qualification or []) for c in codings(q.code)]
    ctx.qualification[pid] = qualification
    ctx.role_by_qualification[pid] = role_for(qualification, [])


def map_practitioner_role(r: Res, ctx: Context) -> None:
    """PractitionerRole → the practitioner's place (practice, role, period) in a practice."""
    d = r.data
    if _absent(d.practitioner):
        ctx.problem(r, "practitioner", "ingen behandler (practitioner): hoppet over")
        return
    who = ctx.resolve(r, d.practitioner, "practitioner", ("Practitioner",), dropped="hoppet over")
    if who is None:
        return
    pid = ctx.practitioner_of[id(who)]
    ctx.practitioner_of[id(r)] = pid
    if _absent(d.organization):
        ctx.problem(
            r,
            "organization",
            "ingen organisasjon (organization): praksisene kommer bare fra kontaktene (Encounter)",
        )
        return
    org = ctx.resolve(
        r,
        d.organization,
        "organization",
        ("Organization",),
        dropped="praksisene kommer bare fra kontaktene (Encounter)",
    )
    if org is None:
        return
    practice = ctx.practice_of[id(org)]
    ctx.practice_of[id(r)] = practice
    role = role_for(
        codings(d.code) + ctx.qualification.get(pid, []), [c.text or "" for c in d.code or []]
    )
    ctx.roles[pid].add(role)
    ctx.placements.append(
        {
            "practitioner_id": pid,
            "practice_id": practice,
            "role": role,
            "start": to_date(d.period.start) if d.period else None,
            "end": to_date(d.period.end) if d.period else None,
            "_origins": [r, who],
        }
    )


def map_episode_of_care(r: Res, ctx: Context) -> None:
    """EpisodeOfCare → ``list_memberships``: careManager is the GP, period the list period."""
    d = r.data
    person = ctx.person(r, d.patient, "patient")
    if person is None:
        return
    if _absent(d.careManager):
        ctx.problem(r, "careManager", "ingen fastlege (careManager): hoppet over")
        return
    gp, _ = ctx.who(r, d.careManager, "careManager")
    if gp is None:
        return
    start = to_date(d.period.start) if d.period else None
    if start is None:
        ctx.problem(r, "period.start", "ingen startdato for listen: hoppet over")
        return
    if not ctx.is_gp(gp):
        ctx.problem(r, "careManager", "careManager er ikke fastlege i disse dataene: hoppet over")
        return
    ctx.has_episode.add(person)
    ctx.emit(
        "list_memberships",
        {
            "person_id": person,
            "gp_id": gp,
            "start": start,
            "end": to_date(d.period.end) if d.period else None,
        },
        r,
    )


def map_encounter(r: Res, ctx: Context) -> None:
    """Encounter → ``contacts`` (ambulatory, home, virtual) or ``admissions`` (inpatient,
    acute, emergency: needs an ICD-10 diagnosis); diagnoses from reasonCode and Conditions."""
    d = r.data
    person = ctx.person(r, d.subject)
    if person is None:
        return
    start = to_date(d.period.start) if d.period else None
    if start is None:
        ctx.problem(r, "period.start", "Encounter uten period.start: hoppet over")
        return
    conditions = ctx.conditions_of(r)
    codes = codings(d.reasonCode)
    for c in conditions:
        codes += codings(c.data.code)
    icpc2, icd10 = ctx.classify(codes)
    klass = (d.class_fhir.code if d.class_fhir else None) or "AMB"
    if klass in ADMISSION_CLASSES:
        if not icd10:
            ctx.problem(
                r,
                "diagnosis",
                "sykehusopphold uten ICD-10-diagnose (eller SNOMED CT-kode pht kan oversette): "
                "hoppet over",
            )
            return
        end = to_date(d.period.end) if d.period else None
        ctx.emit(
            "admissions",
            {
                "admission_id": ctx.event_id(r),
                "person_id": person,
                "admitted": start,
                "discharged": end or start,
                "main_diagnosis": icd10[0],
                "other_diagnoses": " ".join(icd10[1:]) or None,
                "acute": klass in ACUTE_CLASSES,
            },
            r,
            *conditions,
        )
        return
    practitioner, practice, via = None, None, None
    for i, part in enumerate(d.participant or []):
        if _absent(part.individual):
            continue
        who, practice_of_role = ctx.who(r, part.individual, f"participant[{i}].individual")
        practice = practice or practice_of_role
        if who is not None:
            practitioner, via = who, ctx.lookup(part.individual)[0]
            break
    if not _absent(d.serviceProvider):
        provider = ctx.resolve(
            r,
            d.serviceProvider,
            "serviceProvider",
            ("Organization",),
            dropped="praksisen hentes fra deltakerens rolle (participant)",
        )
        if provider is not None:
            practice = ctx.practice_of.get(id(provider)) or practice
    if practitioner is None or practice is None:
        missing = "behandler" if practitioner is None else "praksis"
        ctx.problem(
            r,
            "participant" if practitioner is None else "serviceProvider",
            f"Encounter uten kjent {missing}: hoppet over",
        )
        return
    ctx.saw(practitioner, practice, start)
    ctx.first_contact[person] = min(ctx.first_contact.get(person, start), start)
    ctx.emit(
        "contacts",
        {
            "contact_id": ctx.event_id(r),
            "person_id": person,
            "practitioner_id": practitioner,
            "practice_id": practice,
            "date": start,
            "setting": SETTING_BY_CLASS.get(klass, "office"),
            "diagnoses": " ".join(icpc2) or None,
            "tariffs": None,
            "copay_nok": None,
            "refund_nok": None,
        },
        r,
        *conditions,
        *([via] if via is not None else []),
    )


def map_condition(r: Res, ctx: Context) -> None:
    """Condition → its encounter's diagnoses (done by :func:`map_encounter`), or without an
    encounter a ``fhir_conditions`` row (problem list)."""
    d = r.data
    encounter = ctx.encounter_of(r)
    if encounter is not None:
        if not ctx.written_from(encounter):
            ctx.problem(
                r,
                "encounter",
                f"{encounter.ref} ble ikke skrevet (se der): diagnosen lagres ikke",
            )
        return
    if not _absent(d.encounter):
        ctx.resolve(
            r,
            d.encounter,
            "encounter",
            ("Encounter",),
            dropped="beholdes som tilstand i problemlisten",
        )
    person = ctx.person(r, d.subject)
    if person is None:
        return
    icpc2, icd10 = ctx.classify(codings(d.code))
    if not icpc2 and not icd10:
        ctx.problem(
            r,
            "code",
            "ingen ICPC-2- eller ICD-10-kode (eller SNOMED CT-kode pht kan oversette): hoppet over",
        )
        return
    ctx.emit(
        FHIR_CONDITIONS_TABLE,
        {
            "condition_id": ctx.event_id(r),
            "person_id": person,
            "icpc2": " ".join(icpc2) or None,
            "icd10": " ".join(icd10) or None,
            "onset_date": to_date(getattr(d, "onsetDateTime", None)),
            "recorded_date": to_date(d.recordedDate),
        },
        r,
    )


def map_observation(r: Res, ctx: Context) -> None:
    """Observation coded ``urn:pht:survey-item`` → ``survey_responses``."""
    d = r.data
    if d.status in ("entered-in-error", "cancelled"):
        ctx.problem(r, "status", f"Observation med status {d.status}: hoppet over")
        return
    code = next(c for s, c in codings(d.code) if s == SYSTEM_SURVEY_ITEM)
    instrument, _, item = code.partition(".")
    if not instrument or not item:
        ctx.problem(
            r, "code", f"skjemakoden {code!r} er ikke på formen <instrument>.<item>: hoppet over"
        )
        return
    person = ctx.person(r, d.subject)
    if person is None:
        return
    when = (
        to_date(d.effectiveDateTime)
        or to_date(d.effectivePeriod.start if d.effectivePeriod else None)
        or to_date(d.issued)
    )
    if when is None:
        ctx.problem(r, "effectiveDateTime", "skjemasvar uten dato: hoppet over")
        return
    if d.valueQuantity is not None and d.valueQuantity.value is not None:
        value = float(d.valueQuantity.value)
    elif d.valueInteger is not None:
        value = float(d.valueInteger)
    else:
        ctx.problem(
            r, "value[x]", "skjemasvar uten tallverdi (valueQuantity/valueInteger): hoppet over"
        )
        return
    practice = None
    for i, ref in enumerate(d.performer or []):
        target = ctx.resolve(
            r,
            ref,
            f"performer[{i}]",
            ("Organization", "PractitionerRole", "Practitioner", "Patient", "RelatedPerson"),
            dropped="referansen er utelatt",
        )
        if target is not None and target.kind in ("Organization", "PractitionerRole"):
            practice = ctx.practice_of.get(id(target))
        if practice:
            break
    if practice is None and not _absent(d.encounter):
        encounter = ctx.resolve(
            r, d.encounter, "encounter", ("Encounter",), dropped="referansen er utelatt"
        )
        if encounter is not None:
            provider, _ = ctx.lookup(encounter.data.serviceProvider)
            if provider is not None and provider.kind == "Organization":
                practice = ctx.practice_of.get(id(provider))
    if practice is None:
        ctx.problem(
            r,
            "performer",
            "skjemasvar uten praksis (performer eller kontaktens serviceProvider): hoppet over",
        )
        return
    ctx.emit(
        "survey_responses",
        {
            "response_id": ctx.event_id(r),
            "person_id": person,
            "practice_id": practice,
            "date": when,
            "instrument": instrument,
            "item": item,
            "value": value,
        },
        r,
    )


# --- rows that need every resource first -------------------------------------------------------


def practitioner_rows(ctx: Context) -> None:
    """``practitioners`` rows: one per PractitionerRole with an organization (start from its
    period, else the first encounter there) and one per practice a practitioner without a role
    there has encounters in. A practitioner with no practice at all is reported."""
    placed = set()
    for place in ctx.placements:
        origins = place.pop("_origins")
        pair = (place["practitioner_id"], place["practice_id"])
        placed.add(pair)
        if place["start"] is None:
            place["start"] = ctx.seen.get(pair)
        if place["start"] is None:
            ctx.problem(
                origins[0],
                "period.start",
                "ingen period.start og ingen kontakt ved organisasjonen: ukjent start, hoppet over",
            )
            continue
        ctx.emit("practitioners", place, *origins)
    for (pid, practice), first in sorted(ctx.seen.items()):
        if (pid, practice) in placed:
            continue
        origin = ctx.practitioner_res.get(pid)
        ctx.emit(
            "practitioners",
            {
                "practitioner_id": pid,
                "practice_id": practice,
                "role": ctx.role_by_qualification.get(pid, "gp"),
                "start": first,
                "end": None,
            },
            *([origin] if origin is not None else []),
        )
    written = {row["practitioner_id"] for row in ctx.table_rows().get("practitioners", [])}
    for r in ctx.resources["Practitioner"]:
        if ctx.practitioner_of[id(r)] not in written and id(r) not in ctx.reported:
            ctx.problem(
                r,
                "",
                "ingen PractitionerRole med kjent organisasjon og start, og ingen kontakt: "
                "ingen praksis å plassere behandleren i, hoppet over",
            )


def general_practitioner_lists(ctx: Context) -> None:
    """``list_memberships`` from ``Patient.generalPractitioner`` for persons without an
    EpisodeOfCare; the list starts with the person's first contact."""
    for r in ctx.resources["Patient"]:
        person = ctx.person_of.get(id(r))
        if person is None or person in ctx.has_episode:
            continue
        organisations = []
        for i, ref in enumerate(r.data.generalPractitioner or []):
            field_ = f"generalPractitioner[{i}]"
            target = ctx.resolve(
                r,
                ref,
                field_,
                ("Practitioner", "PractitionerRole", "Organization"),
                dropped="gir ingen listetilhørighet",
            )
            if target is None:
                continue
            if target.kind == "Organization":
                organisations.append(field_)
                continue
            gp = ctx.practitioner_of.get(id(target))
            if gp is None or not ctx.is_gp(gp):
                ctx.problem(r, field_, "ikke fastlege i disse dataene: gir ingen listetilhørighet")
                continue
            start = ctx.first_contact.get(person)
            if start is None:
                ctx.problem(
                    r, field_, "ingen kontakt gir startdato for listen: gir ingen listetilhørighet"
                )
                break
            ctx.emit(
                "list_memberships",
                {"person_id": person, "gp_id": gp, "start": start, "end": None},
                r,
                target,
            )
            break
        else:
            for field_ in organisations:
                ctx.problem(
                    r, field_, "en Organization, ikke en fastlege: gir ingen listetilhørighet"
                )


MAPPINGS: dict[str, Mapping] = {
    "Organization": map_organization,
    "Patient": map_patient,
    "Practitioner": map_practitioner,
    "PractitionerRole": map_practitioner_role,
    "EpisodeOfCare": map_episode_of_care,
    "Encounter": map_encounter,
    "Condition": map_condition,
    "Observation": map_observation,
}
AFTER: tuple[Callable[[Context], None], ...] = (practitioner_rows, general_practitioner_lists)
