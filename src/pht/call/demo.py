"""The 2017 call's demo case, built from reference data (``data/call/applications_2017.toml``).

The file holds what is known (who applied, which practices joined, their GP counts) and compact
synthetic details; this module expands them deterministically into full applications: GP names
(Faker, seeded), synthetic HPR numbers and list sizes, bank accounts with valid check digits,
addresses, contact persons, Norwegian texts marked as synthetic, and the demo scores. The same
file gives the GP changes after the start and the yearly reports received.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

from faker import Faker
from pydantic import BaseModel, ConfigDict, Field

from pht.call.application import (
    Address,
    Applicant,
    Application,
    ApplicationStatus,
    ContactPerson,
    GeneralPractitioner,
    JoiningPractice,
    SignatoryRole,
    Signature,
)
from pht.call.assessment import Assessment, CriterionScore
from pht.call.case import CallCase
from pht.call.payments import GpChange
from pht.call.reports import FundsUse, YearlyReport
from pht.call.rules import CallRules, load_call
from pht.core.errors import ReferenceDataError
from pht.core.identifiers import make_orgnr
from pht.core.labels import EffectGoal, FinancingModel
from pht.core.money import Money
from pht.reference.files import read_toml, validated

__all__ = ["DEMO_FILE", "demo_case", "synthetic_bank_account"]

DEMO_FILE = "call/applications_2017.toml"
_ACCOUNT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
DEMO_OFFICER = "saksbehandler.demo"


class _Practice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    practice_id: str
    name: str
    district: str | None = None
    gps: int = Field(gt=0)
    listed: int = Field(gt=0)
    nurse_fte: Decimal
    financing_model: FinancingModel


class _App(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    municipality_code: str
    municipality: str
    population: int
    postcode: str
    city: str
    known_from: str
    submitted: dt.datetime
    withdrawn: dt.datetime | None = None
    scores: list[int]
    defects: list[str] = Field(default_factory=list)
    practices: list[_Practice]


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")
    practice_id: str
    gp: int | None = None
    joins: dt.date | None = None
    left_last_day: dt.date | None = None
    list_size: int | None = None


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application: str
    year: int
    submitted: dt.date


class _DemoFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application: list[_App]
    gp_change: list[_Change] = Field(default_factory=list)
    report: list[_Report] = Field(default_factory=list)


def synthetic_bank_account(n: int) -> str:
    """A valid, synthetic Norwegian account number (bank 1503, 11 digits, mod-11 check digit)."""
    k = n
    while True:
        base = f"1503{k:06d}"
        weighted = sum(int(d) * w for d, w in zip(base, _ACCOUNT_WEIGHTS, strict=True))
        check = (11 - weighted % 11) % 11
        if check != 10:
            return base + str(check)
        k += 500_000  # skip numbers whose check digit would be 10


def _orgnr(n: int) -> str:
    k = n
    while (value := make_orgnr(f"9998{k:04d}")) is None:
        k += 5000
    return value


def _hpr(app_no: int, practice_no: int, gp_no: int) -> str:
    return f"9{app_no:02d}{practice_no}{gp_no:03d}"


def _texts(name: str, practices: list[_Practice]) -> dict[str, str]:
    names = ", ".join(p.name for p in practices)
    tag = " (syntetisk demotekst)"
    return {
        "purpose": (
            f"{name} kommune søker om å delta i pilotprosjektet med primærhelseteam for å gi "
            "innbyggere med kronisk sykdom, psykiske lidelser og rusavhengighet, skrøpelige "
            "eldre og personer med utviklingshemning et mer tilgjengelig og koordinert tilbud."
            + tag
        ),
        "project_description": (
            f"{names} etablerer team av fastleger, sykepleiere og helsesekretærer ledet av en "
            "fastlege. Teamet kartlegger målgruppene på listene, tilbyr sykepleierkonsultasjoner, "
            "hjemmebesøk og årskontroller, og samarbeider med hjemmetjenesten." + tag
        ),
        "gp_service_organisation": (
            f"Fastlegene i {name} er selvstendig næringsdrivende med avtale med kommunen; "
            "kommunen leder forsøket lokalt med en prosjektleder." + tag
        ),
        "internal_control": (
            "Prosjektregnskap føres særskilt; rådmannens internkontroll og månedlig "
            "rapportering til prosjektgruppen." + tag
        ),
        "external_control": (
            "Kommunerevisjonen (autorisert revisor) reviderer prosjektregnskapet; statlige "
            "tilsyn og Riksrevisjonen har innsyn." + tag
        ),
    }


def _application(no: int, raw: _App, rules: CallRules) -> Application:
    fake = Faker("no_NO")
    fake.seed_instance(1000 + no)
    texts = _texts(raw.municipality.replace(" (syntetisk)", ""), raw.practices)
    practices: list[JoiningPractice] = []
    for pi, p in enumerate(raw.practices):
        sizes = Money(Decimal(p.listed)).allocate([1] * p.gps)
        gps = [
            GeneralPractitioner(
                hpr=_hpr(no, pi, gi + 1),
                name=fake.name(),
                list_size=int(sizes[gi].amount),
            )
            for gi in range(p.gps)
        ]
        practices.append(
            JoiningPractice(
                orgnr=p.practice_id,
                name=p.name,
                district=p.district,
                bank_account=synthetic_bank_account(no * 100 + pi + 1),
                daily_leader_hpr=gps[0].hpr,
                gps=gps,
                planned_nurse_fte=p.nurse_fte,
                financing_model=p.financing_model,
            )
        )
    signer = fake.name()
    app = Application(
        id=raw.id,
        call_id=rules.id,
        synthetic=raw.known_from == "synthetic",
        known_from=raw.known_from,
        applicant=Applicant(
            municipality_code=raw.municipality_code,
            municipality=raw.municipality,
            population=raw.population,
            address=Address(street="Rådhuset", postcode=raw.postcode, city=raw.city),
            orgnr=_orgnr(no),
            bank_account=synthetic_bank_account(no * 100),
            contact=ContactPerson(
                name=fake.name(),
                title="kommuneoverlege",
                email=f"postmottak.{raw.id}@kommune.example",
                phone=f"+47 9{no:02d}0 0000",
            ),
        ),
        practices=practices,
        signature=Signature(
            name=signer,
            title="rådmann",
            role=SignatoryRole.CHIEF_EXECUTIVE,
            signed_on=raw.submitted.date(),
        ),
        purpose=texts["purpose"],
        project_description=texts["project_description"],
        gp_service_organisation=texts["gp_service_organisation"],
        internal_control=texts["internal_control"],
        external_control=texts["external_control"],
    )
    app = _with_defects(app, raw.defects)
    late = rules.is_late(raw.submitted)
    update: dict[str, Any] = {
        "status": ApplicationStatus.SUBMITTED,
        "submitted_at": raw.submitted,
        "late": late,
    }
    if raw.withdrawn is not None:
        update |= {"status": ApplicationStatus.WITHDRAWN, "withdrawn_at": raw.withdrawn}
    return app.model_copy(update=update)


def _with_defects(app: Application, defects: list[str]) -> Application:
    data = app.model_dump()
    for defect in defects:
        if defect.startswith("missing:"):
            data[defect.split(":", 1)[1]] = ""
        elif defect == "bad_bank_account":
            acc = data["applicant"]["bank_account"]
            data["applicant"]["bank_account"] = acc[:-1] + str((int(acc[-1]) + 1) % 10)
        elif defect == "gp_not_taking_part":
            data["practices"][0]["gps"][-1]["takes_part"] = False
        elif defect == "leader_not_gp":
            data["practices"][0]["daily_leader_hpr"] = "9999999"
        elif defect == "delegate_without_delegation":
            data["signature"]["role"] = SignatoryRole.DELEGATE
            data["signature"]["title"] = "kommunalsjef helse"
            data["signature"]["delegation"] = ""
        else:
            raise ReferenceDataError(f"unknown defect {defect!r}", where=app.id)
    return Application.model_validate(data)


def _assessment(raw: _App, rules: CallRules) -> Assessment | None:
    if not raw.scores:
        return None
    if len(raw.scores) != len(rules.criteria):
        raise ReferenceDataError(
            f"{len(raw.scores)} scores for {len(rules.criteria)} criteria", where=raw.id
        )
    return Assessment(
        application_id=raw.id,
        scores=tuple(
            CriterionScore(
                criterion=c.key,
                score=s,
                comment="Syntetisk demovurdering.",
                officer=DEMO_OFFICER,
                scored_on=dt.date(2017, 11, 1),
            )
            for c, s in zip(rules.criteria, raw.scores, strict=True)
        ),
    )


@cache
def _demo(call_id: str) -> CallCase:
    rules = load_call(call_id)
    raw = validated(_DemoFile, read_toml(DEMO_FILE), where=DEMO_FILE)
    apps = [_application(no, a, rules) for no, a in enumerate(raw.application, start=1)]
    assessments = {a.id: ass for a in raw.application if (ass := _assessment(a, rules)) is not None}
    by_practice = {p.orgnr: p for app in apps for p in app.practices}
    changes: list[GpChange] = []
    for i, ch in enumerate(raw.gp_change, start=1):
        practice = by_practice.get(ch.practice_id)
        if practice is None:
            raise ReferenceDataError(f"unknown practice {ch.practice_id}", where=DEMO_FILE)
        if ch.gp is not None:
            gp = practice.gps[ch.gp - 1]
            changes.append(
                GpChange(
                    practice_orgnr=ch.practice_id,
                    hpr=gp.hpr,
                    name=gp.name,
                    left_last_day=ch.left_last_day,
                )
            )
        else:
            changes.append(
                GpChange(
                    practice_orgnr=ch.practice_id,
                    hpr=f"98{i:05d}",
                    name=f"Ny fastlege {i} (syntetisk)",
                    joins=ch.joins,
                    left_last_day=ch.left_last_day,
                    list_size=ch.list_size,
                )
            )
    reports = [
        YearlyReport(
            application_id=r.application,
            year=r.year,
            submitted_on=r.submitted,
            use_of_funds=(
                FundsUse(item="Prosjektledelse (syntetisk)", amount=Decimal("150000")),
                FundsUse(item="Opplæring av teamene (syntetisk)", amount=Decimal("60000")),
            ),
            activity="Teamene er etablert og følger opp målgruppene (syntetisk demotekst).",
            effect_goals={g: "Fremdrift etter plan (syntetisk demotekst)." for g in EffectGoal},
        )
        for r in raw.report
    ]
    return CallCase(
        call_id=call_id,
        applications=apps,
        assessments=assessments,
        gp_changes=changes,
        reports=reports,
    )


def demo_case(call_id: str = "pht-2017") -> CallCase:
    """The demo case of the 2017 call: 17 applications, scores, GP changes, reports (a copy)."""
    return _demo(call_id).model_copy(deep=True)
