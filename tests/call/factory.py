"""Applications built by code for the call's tests (no reference files, no shared data)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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
from pht.call.rules import CallRules
from pht.core.identifiers import make_orgnr
from pht.core.labels import FinancingModel

_W = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def account(n: int) -> str:
    """A valid account number: 10 digits + mod-11 check digit (weights 5 4 3 2 7 6 5 4 3 2)."""
    while True:
        base = f"1234{n:06d}"
        check = (11 - sum(int(d) * w for d, w in zip(base, _W, strict=True)) % 11) % 11
        if check != 10:
            return base + str(check)
        n += 1


def orgnr(n: int) -> str:
    """A valid organisation number."""
    while (value := make_orgnr(f"9777{n:04d}")) is None:
        n += 1000
    return value


POPULATION = {"small": 3_000, "medium": 12_000, "large": 60_000}


def application(
    app_id: str,
    *,
    size: str = "small",
    gps: int = 3,
    n: int = 1,
    nurse_fte: str | None = None,
    submitted: dt.datetime | None = dt.datetime(2017, 10, 10, 12, 0),
    late: bool = False,
    name: str | None = None,
    municipality_code: str | None = None,
) -> Application:
    """A complete, valid application with one practice of *gps* GPs (submitted unless None)."""
    doctors = [
        GeneralPractitioner(hpr=f"{n:03d}{g:04d}", name=f"Lege {n}-{g}", list_size=1200)
        for g in range(1, gps + 1)
    ]
    fte = (
        Decimal(nurse_fte)
        if nurse_fte is not None
        else (Decimal(gps) / 3).quantize(Decimal("0.01")) + Decimal("0.01")
    )
    code = municipality_code or f"{9000 + n}"
    app = Application(
        id=app_id,
        call_id="pht-2017",
        synthetic=code.startswith("9"),  # 9xxx: no such municipality
        applicant=Applicant(
            municipality_code=code,
            municipality=name or f"Testkommune {app_id}",
            population=POPULATION[size],
            address=Address(street="Rådhusgata 1", postcode="1234", city="Testby"),
            orgnr=orgnr(n),
            bank_account=account(n * 10),
            contact=ContactPerson(
                name="Kari Kontakt",
                title="kommuneoverlege",
                email="kari@test.example",
                phone="12345678",
            ),
        ),
        purpose="Formål",
        project_description="Beskrivelse",
        gp_service_organisation="Organisering",
        internal_control="Internkontroll",
        external_control="Revisjon",
        practices=[
            JoiningPractice(
                orgnr=orgnr(n + 500),
                name=f"Legesenter {app_id}",
                bank_account=account(n * 10 + 1),
                daily_leader_hpr=doctors[0].hpr,
                gps=doctors,
                planned_nurse_fte=fte,
                financing_model=FinancingModel.FEE,
            )
        ],
        signature=Signature(
            name="Rita Rådmann",
            title="rådmann",
            role=SignatoryRole.CHIEF_EXECUTIVE,
            signed_on=dt.date(2017, 10, 9),
        ),
    )
    if submitted is not None:
        app = app.model_copy(
            update={"status": ApplicationStatus.SUBMITTED, "submitted_at": submitted, "late": late}
        )
    return app


def scored(app_id: str, rules: CallRules, scores: list[int]) -> Assessment:
    """An assessment with one score per criterion, in the call's order."""
    return Assessment(
        application_id=app_id,
        scores=tuple(
            CriterionScore(
                criterion=c.key,
                score=s,
                comment="test",
                officer="o1",
                scored_on=dt.date(2017, 11, 1),
            )
            for c, s in zip(rules.criteria, scores, strict=True)
        ),
    )
