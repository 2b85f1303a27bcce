"""Validation of an application, with one message per field.

Errors make an application incomplete or against the call's rules (it cannot be submitted, and a
submitted one cannot be selected); warnings are for the case officer to weigh (a staffing plan
below the norm). Field paths name the exact place: ``applicant.bank_account``,
``practices[0].gps[2].hpr``. Texts are in Norwegian (bokmål): they are shown to users.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pht.call.application import Application, JoiningPractice, SignatoryRole
from pht.call.rules import CallRules
from pht.core.identifiers import validate_bank_account, validate_hpr, validate_orgnr

__all__ = ["Message", "Severity", "errors_of", "messages_by_field", "validate", "warnings_of"]

# The identifier checks' reasons (Norwegian already) as an applicant reads them best.
_REASONS_NB = {
    "kan bare inneholde sifre (punktum og mellomrom er tillatt)": "kan bare inneholde sifre",
    "er ikke tekst": "mangler",
}


class Severity(StrEnum):
    """How serious a message is."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Message:
    """One finding about one field of an application."""

    field: str
    severity: Severity
    code: str
    text: str

    @property
    def is_error(self) -> bool:
        """True for errors (as opposed to warnings)."""
        return self.severity is Severity.ERROR


def _nb(reason: str) -> str:
    return _REASONS_NB.get(reason, reason)


def _required(value: object, field: str, label: str) -> Iterable[Message]:
    if value is None or (isinstance(value, str) and not value.strip()):
        yield Message(field, Severity.ERROR, "missing", f"{label} mangler")


def _identifier(
    value: str, field: str, label: str, check: object, *, code: str
) -> Iterable[Message]:
    if not value.strip():
        yield Message(field, Severity.ERROR, "missing", f"{label} mangler")
        return
    reason = check(value)  # type: ignore[operator]
    if reason:
        yield Message(field, Severity.ERROR, code, f"{label} {value!r} er ugyldig: {_nb(reason)}")


def _applicant(app: Application) -> Iterable[Message]:
    a = app.applicant
    code = a.municipality_code.strip()
    if not code:
        yield Message(
            "applicant.municipality_code", Severity.ERROR, "missing", "Kommunenummer mangler"
        )
    elif len(code) != 4 or not code.isdigit():
        yield Message(
            "applicant.municipality_code",
            Severity.ERROR,
            "invalid_municipality_code",
            f"Kommunenummer {code!r} må ha fire sifre",
        )
    yield from _required(a.municipality, "applicant.municipality", "Kommunenavn")
    yield from _required(a.population, "applicant.population", "Innbyggertall")
    yield from _required(a.address.street, "applicant.address.street", "Adresse")
    if not a.address.postcode.strip():
        yield Message("applicant.address.postcode", Severity.ERROR, "missing", "Postnummer mangler")
    elif len(a.address.postcode.strip()) != 4 or not a.address.postcode.strip().isdigit():
        yield Message(
            "applicant.address.postcode",
            Severity.ERROR,
            "invalid_postcode",
            f"Postnummer {a.address.postcode!r} må ha fire sifre",
        )
    yield from _required(a.address.city, "applicant.address.city", "Poststed")
    yield from _identifier(
        a.orgnr, "applicant.orgnr", "Organisasjonsnummer", validate_orgnr, code="invalid_orgnr"
    )
    yield from _identifier(
        a.bank_account,
        "applicant.bank_account",
        "Kontonummer",
        validate_bank_account,
        code="invalid_bank_account",
    )
    yield from _required(a.contact.name, "applicant.contact.name", "Kontaktperson")
    if not a.contact.email.strip():
        yield Message("applicant.contact.email", Severity.ERROR, "missing", "E-post mangler")
    elif "@" not in a.contact.email:
        yield Message(
            "applicant.contact.email",
            Severity.ERROR,
            "invalid_email",
            f"E-postadressen {a.contact.email!r} er ugyldig",
        )
    yield from _required(a.contact.phone, "applicant.contact.phone", "Telefon")


_TEXTS = (
    ("purpose", "Formålet med tilskuddet"),
    ("project_description", "Prosjektbeskrivelsen"),
    ("gp_service_organisation", "Beskrivelsen av organiseringen av fastlegeordningen"),
    ("internal_control", "Redegjørelsen for interne kontrolltiltak"),
    ("external_control", "Redegjørelsen for eksterne kontrolltiltak"),
)


def _practice(p: JoiningPractice, i: int, rules: CallRules) -> Iterable[Message]:
    at = f"practices[{i}]"
    label = p.name or f"praksis {i + 1}"
    yield from _required(p.name, f"{at}.name", "Praksisens navn")
    yield from _identifier(
        p.orgnr,
        f"{at}.orgnr",
        f"Organisasjonsnummer for {label}",
        validate_orgnr,
        code="invalid_orgnr",
    )
    yield from _identifier(
        p.bank_account,
        f"{at}.bank_account",
        f"Kontonummer for {label}",
        validate_bank_account,
        code="invalid_bank_account",
    )
    if not p.gps:
        yield Message(
            f"{at}.gps", Severity.ERROR, "no_gps", f"{label}: fastlegene i praksisen mangler"
        )
    seen: dict[str, int] = {}
    for j, gp in enumerate(p.gps):
        gat = f"{at}.gps[{j}]"
        who = gp.name or f"fastlege {j + 1}"
        yield from _identifier(
            gp.hpr, f"{gat}.hpr", f"HPR-nummer for {who}", validate_hpr, code="invalid_hpr"
        )
        if gp.hpr.strip():
            if gp.hpr.strip() in seen:
                yield Message(
                    f"{gat}.hpr",
                    Severity.ERROR,
                    "duplicate_hpr",
                    f"HPR-nummer {gp.hpr} står to ganger i {label}",
                )
            seen[gp.hpr.strip()] = j
        yield from _required(gp.name, f"{gat}.name", f"Navn på fastlege {j + 1} i {label}")
        yield from _required(gp.list_size, f"{gat}.list_size", f"Listelengde for {who}")
        if not gp.takes_part:
            yield Message(
                f"{gat}.takes_part",
                Severity.ERROR,
                "gp_not_taking_part",
                f"{who} deltar ikke: alle fastlegene ved {label} må være med i piloten",
            )
    leader = p.daily_leader_hpr.strip()
    if not leader:
        yield Message(
            f"{at}.daily_leader_hpr",
            Severity.ERROR,
            "missing",
            f"{label}: daglig leder (fastlege, HPR-nummer) mangler",
        )
    elif leader not in seen:
        yield Message(
            f"{at}.daily_leader_hpr",
            Severity.ERROR,
            "leader_not_gp",
            f"{label} må ledes av en fastlege: daglig leder (HPR {leader}) er ikke blant "
            "praksisens fastleger",
        )
    elif not p.gps[seen[leader]].takes_part:
        yield Message(
            f"{at}.daily_leader_hpr",
            Severity.ERROR,
            "leader_not_taking_part",
            f"{label}: daglig leder må selv delta i piloten",
        )
    if p.planned_nurse_fte is None:
        yield Message(
            f"{at}.planned_nurse_fte",
            Severity.ERROR,
            "missing",
            f"{label}: planlagte sykepleierårsverk mangler",
        )
    elif p.gps:
        lists = len(p.participating_gps)
        norm = rules.staffing_norm.assess(
            gp_lists=lists, nurse_fte=p.planned_nurse_fte, listed=p.listed or None
        )
        if not norm.meets_norm:
            yield Message(
                f"{at}.planned_nurse_fte",
                Severity.WARNING,
                "below_staffing_norm",
                f"{label}: {p.planned_nurse_fte} sykepleierårsverk er under normen på "
                f"{norm.required_fte} for {lists} fastlegelister"
                + (
                    f" og {p.listed} listeinnbyggere (ca. "
                    f"{rules.staffing_norm.listed_per_nurse} per årsverk; "
                    if norm.reading == "listed"
                    else f" (én sykepleier per {rules.staffing_norm.lists_per_nurse} lister; "
                )
                + f"mangler {norm.shortfall_fte})",
            )
    if p.financing_model is None:
        yield Message(
            f"{at}.financing_model",
            Severity.WARNING,
            "no_financing_model",
            f"{label}: finansieringsmodell (honorar eller driftstilskudd) er ikke valgt ennå",
        )


def _practices(app: Application, rules: CallRules) -> Iterable[Message]:
    if not app.practices:
        yield Message(
            "practices", Severity.ERROR, "no_practices", "Søknaden må ha minst én fastlegepraksis"
        )
        return
    orgnrs: set[str] = set()
    hprs: dict[str, str] = {}
    for i, p in enumerate(app.practices):
        yield from _practice(p, i, rules)
        if p.orgnr.strip():
            if p.orgnr.strip() in orgnrs:
                yield Message(
                    f"practices[{i}].orgnr",
                    Severity.ERROR,
                    "duplicate_orgnr",
                    f"Organisasjonsnummer {p.orgnr} står for to praksiser",
                )
            orgnrs.add(p.orgnr.strip())
        for j, gp in enumerate(p.gps):
            h = gp.hpr.strip()
            if h and h in hprs and hprs[h] != p.orgnr:
                yield Message(
                    f"practices[{i}].gps[{j}].hpr",
                    Severity.ERROR,
                    "gp_in_two_practices",
                    f"Fastlege med HPR {h} står i to praksiser",
                )
            hprs.setdefault(h, p.orgnr)


def _signature(app: Application, rules: CallRules) -> Iterable[Message]:
    s = app.signature
    yield from _required(s.name, "signature.name", "Navnet på den som signerer")
    yield from _required(s.title, "signature.title", "Stillingen til den som signerer")
    if s.role is None:
        yield Message(
            "signature.role",
            Severity.ERROR,
            "missing",
            f"Søknaden må signeres av {rules.signatory}: velg rådmann eller delegert myndighet",
        )
    elif s.role is SignatoryRole.DELEGATE and not s.delegation.strip():
        yield Message(
            "signature.delegation",
            Severity.ERROR,
            "delegation_missing",
            "Søknaden er signert etter delegert myndighet, men delegeringen er ikke oppgitt",
        )
    yield from _required(s.signed_on, "signature.signed_on", "Signaturdato")


def validate(application: Application, rules: CallRules) -> list[Message]:
    """Every finding about *application* under *rules*, errors and warnings, in form order."""
    out: list[Message] = []
    out.extend(_applicant(application))
    for field, label in _TEXTS:
        out.extend(_required(getattr(application, field), field, label))
    out.extend(_practices(application, rules))
    out.extend(_signature(application, rules))
    return out


def errors_of(messages: Iterable[Message]) -> list[Message]:
    """Only the errors."""
    return [m for m in messages if m.is_error]


def warnings_of(messages: Iterable[Message]) -> list[Message]:
    """Only the warnings."""
    return [m for m in messages if not m.is_error]


def messages_by_field(messages: Sequence[Message]) -> dict[str, list[Message]]:
    """Messages grouped by field path, in order (what a form shows beside each field)."""
    out: dict[str, list[Message]] = {}
    for m in messages:
        out.setdefault(m.field, []).append(m)
    return out
