"""Every change to a practice's quality work goes through one of these actions: check access,
validate, write, and record the audit entry in the same transaction."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import AppRole, Practice
from pht.app.audit.log import record as audit
from pht.app.quality.models import Measurement, PdsaNote, PeerConsent, QualityGoal
from pht.core.errors import PhtError
from pht.reference.quality import load_quality_catalogue

SET_GOAL = "quality.goal"
ADD_NOTE = "quality.note"
MEASURE = "quality.measure"
CONSENT = "quality.consent"

_QUARTER = re.compile(r"^(20\d\d)Q([1-4])$")


class QualityError(PhtError):
    """A refused change, with the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, where=field)
        self.field = field
        self.message = message


def _team(user: Any, practice: Practice, *, lead: bool = False) -> None:
    profile = profile_of(user)
    if profile is None or profile.practice_id != practice.pk:
        raise QualityError("__all__", "Bare kontorets eget team kan endre kvalitetsarbeidet.")
    if lead and profile.role != AppRole.GP_TEAM_LEAD:
        raise QualityError("__all__", "Bare teamlederen kan sette mål og samtykke.")


def do_set_goal(
    *,
    user: Any,
    request: HttpRequest | None,
    practice: Practice,
    indicator: str,
    target: Decimal,
    period_start: dt.date,
    period_end: dt.date,
) -> QualityGoal:
    """A new goal on a catalogue indicator (target share 0–1, a period of up to two years)."""
    _team(user, practice, lead=True)
    try:
        load_quality_catalogue().get(indicator)
    except KeyError:
        raise QualityError("indicator", "Ukjent indikator.") from None
    if not Decimal(0) < target <= Decimal(1):
        raise QualityError("target", "Målet må være mellom 0 og 100 %.")
    if period_end <= period_start:
        raise QualityError("period_end", "Perioden må slutte etter at den begynner.")
    if (period_end - period_start).days > 731:
        raise QualityError("period_end", "En periode kan være høyst to år.")
    with transaction.atomic():
        if QualityGoal.objects.filter(
            practice=practice, indicator=indicator, period_start=period_start
        ).exists():
            raise QualityError("indicator", "Kontoret har allerede dette målet for perioden.")
        goal = QualityGoal.objects.create(
            practice=practice, indicator=indicator, target=target,
            period_start=period_start, period_end=period_end, created_by=user,
        )  # fmt: skip
        audit(user=user, action=SET_GOAL, request=request,
              detail={"goal": goal.pk, "indicator": indicator, "target": str(target)})  # fmt: skip
    return goal


def do_add_note(
    *, user: Any, request: HttpRequest | None, goal: QualityGoal, stage: str, date: dt.date,
    text: str,
) -> PdsaNote:  # fmt: skip
    """A plan–do–study–act note on the goal (not in the future, text required)."""
    _team(user, goal.practice)
    if not text.strip():
        raise QualityError("text", "Skriv et notat.")
    if date > dt.date.today():
        raise QualityError("date", "Datoen kan ikke være fram i tid.")
    with transaction.atomic():
        note = PdsaNote.objects.create(goal=goal, stage=stage, date=date, text=text, by=user)
        audit(user=user, action=ADD_NOTE, request=request,
              detail={"goal": goal.pk, "stage": stage})  # fmt: skip
    return note


def do_record_measurement(
    *, user: Any, request: HttpRequest | None, practice: Practice, indicator: str, quarter: str,
    numerator: int, denominator: int,
) -> Measurement:  # fmt: skip
    """A quarter's count for a catalogue indicator the practice counts itself (replaces one)."""
    _team(user, practice)
    try:
        ind = load_quality_catalogue().get(indicator)
    except KeyError:
        raise QualityError("indicator", "Ukjent indikator.") from None
    if ind.source != "manual":
        raise QualityError("indicator", "Denne indikatoren regnes ut fra dataene.")
    if not _QUARTER.match(quarter):
        raise QualityError("quarter", "Skriv kvartalet som 2023Q1.")
    if denominator < 1:
        raise QualityError("denominator", "Nevneren må være minst 1.")
    if not 0 <= numerator <= denominator:
        raise QualityError("numerator", "Telleren må være mellom 0 og nevneren.")
    with transaction.atomic():
        m, _ = Measurement.objects.update_or_create(
            practice=practice, indicator=indicator, quarter=quarter,
            defaults={"numerator": numerator, "denominator": denominator, "by": user},
        )  # fmt: skip
        audit(user=user, action=MEASURE, request=request,
              detail={"indicator": indicator, "quarter": quarter})  # fmt: skip
    return m


def do_set_consent(
    *, user: Any, request: HttpRequest | None, practice: Practice, share_name: bool
) -> PeerConsent:
    """Whether other team practices see this practice by name."""
    _team(user, practice, lead=True)
    with transaction.atomic():
        c, _ = PeerConsent.objects.update_or_create(
            practice=practice, defaults={"share_name": share_name}
        )
        audit(user=user, action=CONSENT, request=request, detail={"share_name": share_name})
    return c
