"""The 2017 call's demo case in the app database, for ``make run`` and ``pht call web-demo``.

Loads :func:`pht.call.demo.demo_case` (17 applications, scores, GP changes, reports) when the app
holds no case for the call, gives each real applicant's application to the municipality of the
same number today (so its municipal project lead sees it), and adds a second case officer so the
four-eyes approval can be walked through. Refused outside development, like the demo users.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from pht.app.accounts.models import AppRole, Municipality, Profile
from pht.app.call.models import CallCaseRecord
from pht.call.demo import demo_case
from pht.core.errors import NotFound, PhtError
from pht.reference.municipalities import translate_code

SECOND_OFFICER = "saksbehandler-2"


def load_demo_call(*, password: str | None = None, replace: bool = False) -> dict[str, int]:
    """Load the demo case (unless one is there and *replace* is False); the counts."""
    if settings.PHT_ENV == "production":
        raise PhtError("the demo call is refused when PHT_ENV=production")
    from pht.app.accounts.demo import DEMO_PASSWORD

    case = demo_case()
    existing = {m.code for m in Municipality.objects.all()}
    owners: dict[str, str] = {}
    today = dt.date.today()
    for app in case.applications:
        if app.synthetic:
            continue
        try:
            code = translate_code(app.applicant.municipality_code, today)
        except NotFound:
            continue
        if code in existing:
            owners[app.id] = code
    with transaction.atomic():
        rec = CallCaseRecord.objects.filter(call_id=case.call_id).first()
        loaded = 0
        if rec is None or replace:
            CallCaseRecord.objects.update_or_create(
                call_id=case.call_id,
                defaults={"data": case.model_dump(mode="json"), "owners": owners},
            )
            loaded = len(case.applications)
        user, _ = get_user_model().objects.update_or_create(
            username=SECOND_OFFICER,
            defaults={
                "first_name": "Andre",
                "last_name": "Saksbehandler",
                "password": make_password(password or DEMO_PASSWORD),
            },
        )
        Profile.objects.update_or_create(user=user, defaults={"role": AppRole.CASE_OFFICER})
    return {"applications": loaded, "owned_by_demo_municipalities": len(owners)}
