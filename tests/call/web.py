"""Users and a small call for the web tests (built by code)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.call.factory import application, scored

PASSWORD = "call-test-passord-1"


def make_users() -> dict[str, Any]:
    """Two municipal leads (Småby, Sentby), two case officers; the municipalities."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from pht.app.accounts.models import AppRole, Municipality, Profile

    model = get_user_model()
    hashed = make_password(PASSWORD)
    small = Municipality.objects.create(code="9801", name="Småby")
    late = Municipality.objects.create(code="9802", name="Sentby")
    out: dict[str, Any] = {}
    for username, role, muni in (
        ("kommune-smaby", AppRole.MUNICIPAL_LEAD, small),
        ("kommune-sentby", AppRole.MUNICIPAL_LEAD, late),
        ("saksbehandler-1", AppRole.CASE_OFFICER, None),
        ("saksbehandler-2", AppRole.CASE_OFFICER, None),
    ):
        user = model.objects.create(username=username, password=hashed, first_name=username)
        Profile.objects.create(user=user, role=role, municipality=muni)
        out[username] = user
    return out


def seed_call() -> None:
    """A case with two submitted, scored applications from other municipalities (medium, large)."""
    from pht.app.call.actions import case_record
    from pht.call.rules import load_call

    rules = load_call()
    rec = case_record()
    case = rec.case
    owners = dict(rec.owners)
    for app_id, size, gps, n in (("seed-m", "medium", 6, 41), ("seed-l", "large", 9, 42)):
        app = application(
            app_id,
            size=size,
            gps=gps,
            n=n,
            name=f"Kommune {app_id}",
            submitted=dt.datetime(2017, 10, 12, 10, 0),
        )
        case = case.replace_application(app)
        case.assessments[app_id] = scored(app_id, rules, [4, 4, 4, 4, 4])
        owners[app_id] = "0000"
    rec.store(case, owners=owners)


def form_data(*, name: str, code: str, n: int, complete: bool = True) -> dict[str, str]:
    """POST data of the application form for a small municipality with one 3-GP practice."""
    app = application("x", size="small", gps=3, n=n, name=name, municipality_code=code)
    p = app.practices[0]
    data = {
        "municipality": name,
        "municipality_code": code,
        "population": "3000",
        "street": "Rådhusvegen 1",
        "postcode": "3840",
        "city": name,
        "orgnr": app.applicant.orgnr,
        "bank_account": app.applicant.bank_account,
        "contact_name": "Kari Kontakt",
        "contact_title": "kommuneoverlege",
        "contact_email": "kari@example.org",
        "contact_phone": "35000000",
        "purpose": "Bedre oppfølging av kronisk syke",
        "project_description": "Team med sykepleier",
        "gp_service_organisation": "Næringsdrivende fastleger",
        "internal_control": "Rådmannens IK",
        "external_control": "Kommunerevisjonen",
        "practice_name": f"{name} legesenter",
        "practice_orgnr": p.orgnr,
        "practice_bank_account": p.bank_account,
        "daily_leader_hpr": p.daily_leader_hpr,
        "planned_nurse_fte": "1.0",
        "financing_model": "fee",
        "gps": "\n".join(f"{g.hpr}; {g.name}; {g.list_size}; ja" for g in p.gps),
        "signature_name": "Rita Rådmann",
        "signature_title": "rådmann",
        "signature_role": "chief_executive",
        "signed_on": "2017-10-09",
        "delegation": "",
    }
    if not complete:
        data.update(
            purpose="", bank_account="1234.56.78901", gps=data["gps"].replace("; ja", "; nei", 1)
        )
    return data
