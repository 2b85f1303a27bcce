"""Demo users for every role, for the synthetic pilot served by ``make run``.

Per practice in the scheme: a GP team lead, a GP, a nurse, a health secretary and a
psychologist; per municipality with such a practice: a municipal project lead; and one
directorate case officer and one analyst. All share one demo password. Refused outside
development: a real deployment creates its users through single sign-on or the admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from pht.app.accounts.models import AppRole, Municipality, Practice, Practitioner, Profile
from pht.core.errors import PhtError

# the demo password (demo users are refused in production)
DEMO_PASSWORD = "pht-demo-passord"  # nosec B105

_USERNAME = {
    AppRole.GP_TEAM_LEAD: "teamleder",
    AppRole.GP: "lege",
    AppRole.NURSE: "sykepleier",
    AppRole.SECRETARY: "sekretaer",
    AppRole.PSYCHOLOGIST: "psykolog",
    AppRole.MUNICIPAL_LEAD: "prosjektleder",
}
_PRACTITIONER_ROLE = {
    AppRole.GP_TEAM_LEAD: "gp",
    AppRole.GP: "gp",
    AppRole.NURSE: "nurse",
    AppRole.SECRETARY: "secretary",
    AppRole.PSYCHOLOGIST: "psychologist",
}


@dataclass(frozen=True)
class DemoLogin:
    """One demo user: how to log in and what they see."""

    username: str
    password: str
    role: str
    where: str


def create_demo_users(*, password: str = DEMO_PASSWORD) -> list[DemoLogin]:
    """Create (or refresh) the demo users; return their logins, practice by practice."""
    if settings.PHT_ENV == "production":
        raise PhtError("demo users are refused when PHT_ENV=production")
    user_model = get_user_model()
    hashed = make_password(password)
    logins: list[DemoLogin] = []

    def make(username: str, first: str, last: str, role: AppRole, **where: object) -> None:
        user, _ = user_model.objects.update_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "password": hashed},
        )
        Profile.objects.update_or_create(user=user, defaults={"role": role, **where})
        place = where.get("practice") or where.get("municipality") or "Helsedirektoratet"
        logins.append(DemoLogin(username, password, str(role.label), str(place)))

    practices = list(Practice.objects.exclude(financing_model="").order_by("name"))
    with transaction.atomic():
        for n, practice in enumerate(practices, start=1):
            staff = {
                role: list(
                    Practitioner.objects.filter(practice=practice, role=role, active=True).order_by(
                        "-team_lead", "practitioner_id"
                    )
                )
                for role in ("gp", "nurse", "secretary", "psychologist")
            }
            used: set[int] = set()
            for role in (
                AppRole.GP_TEAM_LEAD,
                AppRole.GP,
                AppRole.NURSE,
                AppRole.SECRETARY,
                AppRole.PSYCHOLOGIST,
            ):
                candidates = [p for p in staff[_PRACTITIONER_ROLE[role]] if p.pk not in used]
                practitioner = candidates[0] if candidates else None
                if practitioner is not None:
                    used.add(practitioner.pk)
                    first, _, last = practitioner.name.partition(" ")
                else:
                    first, last = str(role.label).capitalize(), practice.name
                make(
                    f"{_USERNAME[role]}-{n:02d}",
                    first,
                    last,
                    role,
                    practice=practice,
                    municipality=practice.municipality,
                    practitioner=practitioner,
                )
        municipalities = (
            Municipality.objects.filter(practices__in=practices).distinct().order_by("name")
        )
        for n, municipality in enumerate(municipalities, start=1):
            make(
                f"{_USERNAME[AppRole.MUNICIPAL_LEAD]}-{n:02d}",
                "Prosjektleder",
                municipality.name,
                AppRole.MUNICIPAL_LEAD,
                municipality=municipality,
                practice=None,
            )
        make("saksbehandler", "Saksbehandler", "Direktoratet", AppRole.CASE_OFFICER)
        make("analytiker", "Analytiker", "Direktoratet", AppRole.ANALYST)
    return logins
