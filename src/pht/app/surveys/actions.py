"""Every change of survey state goes through a function here, with its audit entry in the same
transaction: inviting (one patient or a batch), the patient opening a link, saving answers,
submitting them, the team viewing them.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import PRACTICE_ROLES, Practice, new_data_version
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care.actions import AccessDenied, ActionError
from pht.app.care.models import Patient
from pht.app.outbox import actions as outbox
from pht.app.outbox.models import Message, Status
from pht.app.surveys.links import HOOK, PLACEHOLDER, token_hash
from pht.app.surveys.models import (
    InvitationStatus,
    ResponseStatus,
    SurveyInvitation,
    SurveyLink,
    SurveyResponse,
    Wave,
)
from pht.core.errors import PhtError, ReferenceDataError
from pht.reference.surveys import LANGUAGES, Instrument, instrument

#: Days a link is valid.
VALID_DAYS = 30
#: The one reminder goes this many days after the invitation, unless the patient has answered.
REMIND_AFTER = dt.timedelta(days=7)
CHANNELS = ("sms", "email", "letter")


class SurveyError(ActionError):
    """A rule of a survey action was broken; ``field`` names the form field."""


class LinkRefused(PhtError):
    """A survey link cannot be used: ``reason`` is unknown, expired, used or cancelled."""

    def __init__(self, reason: str, *, invitation: SurveyInvitation | None = None) -> None:
        self.reason = reason
        self.invitation = invitation
        super().__init__(f"survey link refused: {reason}")


def _check_team(user: Any, patient: Patient) -> None:
    if user is None:
        return  # the system (a scheduled batch)
    profile = profile_of(user)
    if (
        profile is None
        or profile.role not in PRACTICE_ROLES
        or profile.practice_id != patient.practice_id
    ):
        raise AccessDenied(f"{user} has no access to this patient")


def _instrument(instrument_id: str) -> Instrument:
    try:
        return instrument(instrument_id)
    except ReferenceDataError:
        raise SurveyError("Velg et spørreskjema.", field="instrument") from None


def _texts(ins: Instrument, practice: Practice, *, reminder: bool) -> tuple[str, str]:
    title = ins.title("nb")
    if reminder:
        body = (
            f"Påminnelse fra {practice.name}: vi vil gjerne høre hvordan du har det "
            f"(«{title}»). Svar her: {PLACEHOLDER} Du får ikke flere påminnelser."
        )
    else:
        body = (
            f"Hei! {practice.name} ber deg svare på et kort spørreskjema («{title}», noen "
            f"minutter). Svar her: {PLACEHOLDER} Lenken kan brukes én gang og gjelder i "
            f"{VALID_DAYS} dager. Det er frivillig å svare."
        )
    subject = f"{'Påminnelse: ' if reminder else ''}Spørreskjema fra {practice.name}"
    return subject, body


def synthetic_contact(patient: Patient, channel: str) -> str:
    """Made-up contact details for the synthetic pilot (``example.invalid``, a 9xx number)."""
    digits = f"{int(patient.person_id) % 10_000_000:07d}"
    return {
        "sms": f"+479{digits}",
        "email": f"pasient-{patient.uid.hex[:8]}@example.invalid",
        "letter": f"{patient.name}\nFolkeregistrert adresse",
    }[channel]


def contact_for(patient: Patient, channel: str) -> str:
    """The patient's mobile number, e-mail or postal address from the contact directory.

    The app holds no contact details: a deployment plugs in a lookup (the contact and
    reservation register, KRR, or the EPR) as ``PHT_SURVEY_CONTACTS`` (a dotted path to a
    function ``(patient, channel) -> str``). Outside production ``"synthetic"`` gives made-up
    details for the synthetic pilot's demo.
    """
    path = getattr(settings, "PHT_SURVEY_CONTACTS", None) or os.environ.get("PHT_SURVEY_CONTACTS")
    if not path:
        raise SurveyError(
            "Skriv mottakeren (ingen kontaktregister er koblet til).", field="recipient"
        )
    if path == "synthetic":
        if getattr(settings, "PHT_ENV", "development") == "production":
            raise SurveyError(
                "Syntetiske kontaktopplysninger brukes ikke i drift.", field="recipient"
            )
        return synthetic_contact(patient, channel)
    from django.utils.module_loading import import_string

    return str(import_string(path)(patient, channel))


def invite(
    *,
    user: Any,
    patient: Patient,
    instrument_id: str,
    channel: str,
    recipient: str = "",
    wave: str = Wave.MANUAL,
    source: str = "patient",
    remind: bool = True,
    now: dt.datetime | None = None,
) -> SurveyInvitation:
    """Invite *patient* to answer *instrument_id* by *channel*; the message goes to the outbox
    (its link is made when it is sent) and, unless *remind* is off, one reminder is queued for
    7 days later (cancelled when the patient answers first)."""
    _check_team(user, patient)
    ins = _instrument(instrument_id)
    if channel not in CHANNELS:
        raise SurveyError("Velg SMS, e-post eller brev.", field="channel")
    if wave not in Wave.values:
        raise SurveyError("Ukjent runde.", field="wave")
    if not patient.listed or patient.death_date is not None:
        raise SurveyError("Pasienten står ikke på listen.", field="patient")
    now = now or timezone.now()
    open_ = SurveyInvitation.objects.filter(
        patient=patient,
        instrument=ins.id,
        status__in=[InvitationStatus.QUEUED, InvitationStatus.SENT],
        created_at__gte=now - dt.timedelta(days=VALID_DAYS),
    )
    if open_.exists():
        raise SurveyError(
            "Pasienten har allerede en ubesvart invitasjon til dette skjemaet.", field="instrument"
        )
    if (
        wave != Wave.MANUAL
        and SurveyInvitation.objects.filter(patient=patient, instrument=ins.id, wave=wave)
        .exclude(status__in=[InvitationStatus.FAILED, InvitationStatus.CANCELLED])
        .exists()
    ):
        raise SurveyError("Pasienten er allerede invitert i denne runden.", field="wave")
    recipient = recipient.strip() or contact_for(patient, channel)
    practice = patient.practice
    with transaction.atomic():
        inv = SurveyInvitation.objects.create(
            patient=patient,
            practice=practice,
            instrument=ins.id,
            version=ins.instrument.version,
            channel=channel,
            wave=wave,
            source=source,
            created_at=now,
            created_by=user,
            valid_days=VALID_DAYS,
        )
        subject, body = _texts(ins, practice, reminder=False)
        common = {
            "user": user,
            "patient": patient,
            "channel": channel,
            "recipient": recipient,
            "ref": f"survey:{inv.pk}",
            "render_hook": HOOK,
        }
        inv.message = outbox.enqueue(body=body, subject=subject, purpose="survey", **common)
        if remind:
            subject, body = _texts(ins, practice, reminder=True)
            inv.reminder = outbox.enqueue(
                body=body,
                subject=subject,
                purpose="survey_reminder",
                not_before=now + REMIND_AFTER,
                **common,
            )
        inv.save(update_fields=["message", "reminder"])
        record(
            user=user,
            action=AuditAction.SURVEY_INVITE,
            patient=patient,
            reason=f"spørreskjema {ins.id}",
            detail={"invitation": inv.pk, "channel": channel, "wave": wave, "source": source},
        )
    return inv


@dataclass
class BatchResult:
    """What a batch invitation did."""

    invited: list[int] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def wave_due(plan_start: dt.date, today: dt.date) -> str | None:
    """The wave due on *today* for a plan that started on *plan_start* (within 60 days of it)."""
    for wave, months in ((Wave.MONTH_12, 12), (Wave.MONTH_6, 6), (Wave.START, 0)):
        year, month = divmod(plan_start.month - 1 + months, 12)
        day = min(plan_start.day, 28)
        due = dt.date(plan_start.year + year, month + 1, day)
        if due <= today < due + dt.timedelta(days=60):
            return wave
    return None


def invite_batch(
    *,
    user: Any,
    practice: Practice,
    instrument_id: str,
    channel: str,
    now: dt.datetime | None = None,
) -> BatchResult:
    """Invite every listed target-group patient of *practice* with a follow-up plan whose wave
    (start, 6 or 12 months after the plan began) is due and not yet sent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if user is not None:
        profile = profile_of(user)
        if (
            profile is None
            or profile.role not in PRACTICE_ROLES
            or profile.practice_id != practice.pk
        ):
            raise AccessDenied(f"{user} may not invite for practice {practice.pk}")
    _instrument(instrument_id)
    result = BatchResult()
    patients = (
        Patient.objects.filter(practice=practice, listed=True, plan__isnull=False)
        .exclude(target_groups="")
        .select_related("plan", "practice")
    )
    for patient in patients:
        wave = wave_due(timezone.localdate(patient.plan.created_at), today)
        if wave is None:
            result.skipped["ingen runde nå"] = result.skipped.get("ingen runde nå", 0) + 1
            continue
        try:
            inv = invite(
                user=user,
                patient=patient,
                instrument_id=instrument_id,
                channel=channel,
                wave=wave,
                source="batch",
                now=now,
            )
        except SurveyError as err:
            result.skipped[err.message] = result.skipped.get(err.message, 0) + 1
        else:
            result.invited.append(inv.pk)
    return result


# -- the patient's side -----------------------------------------------------------------------


def refuse(reason: str, *, invitation: SurveyInvitation | None, path: str = "") -> None:
    """Audit a refused link (the patient when the link was known, else none)."""
    record(
        user=None,
        action=AuditAction.SURVEY_REFUSED,
        patient=None if invitation is None else invitation.patient,
        reason=reason,
        detail={} if invitation is None else {"invitation": invitation.pk},
    )


def open_link(token: str, *, now: dt.datetime | None = None) -> SurveyResponse:
    """The response a link opens (started on first use); :class:`LinkRefused` when it cannot."""
    now = now or timezone.now()
    if not 20 <= len(token) <= 100:
        raise LinkRefused("unknown")
    link = (
        SurveyLink.objects.select_related("invitation__patient", "invitation__practice")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if link is None:
        raise LinkRefused("unknown")
    inv = link.invitation
    response = SurveyResponse.objects.filter(invitation=inv).first()
    if response is not None and response.status == ResponseStatus.SUBMITTED:
        raise LinkRefused("used", invitation=inv)
    if inv.status == InvitationStatus.CANCELLED:
        raise LinkRefused("cancelled", invitation=inv)
    if link.expires_at <= now:
        raise LinkRefused("expired", invitation=inv)
    if response is None:
        ins = instrument(inv.instrument)
        with transaction.atomic():
            response, _ = SurveyResponse.objects.get_or_create(
                invitation=inv,
                defaults={
                    "patient": inv.patient,
                    "practice": inv.practice,
                    "instrument": ins.id,
                    "version": inv.version,
                    "started_at": now,
                    "updated_at": now,
                },
            )
    return response


def _still_open(response: SurveyResponse, now: dt.datetime) -> None:
    if response.status == ResponseStatus.SUBMITTED:
        raise LinkRefused("used", invitation=response.invitation)
    last = response.invitation.links.order_by("-expires_at").values_list("expires_at", flat=True)
    if not last or last[0] <= now:
        raise LinkRefused("expired", invitation=response.invitation)


def save_answers(
    response: SurveyResponse,
    answers: dict[str, float | None],
    *,
    language: str | None = None,
    now: dt.datetime | None = None,
) -> SurveyResponse:
    """Save some answers of *response* (question id → value, None = no answer)."""
    now = now or timezone.now()
    _still_open(response, now)
    ins = instrument(response.instrument)
    known = {q.id for q in ins.questions()}
    for qid, value in answers.items():
        if qid not in known:
            raise SurveyError("Ukjent spørsmål.", field=qid)
        if value is not None and not ins.valid_value(qid, value):
            raise SurveyError("Velg ett av svarene.", field=qid)
    if language is not None and language not in LANGUAGES:
        raise SurveyError("Ukjent språk.", field="language")
    with transaction.atomic():
        merged = {**response.answers, **answers}
        n = SurveyResponse.objects.filter(pk=response.pk, status=ResponseStatus.IN_PROGRESS).update(
            answers=merged,
            language=language or response.language,
            updated_at=now,
            saves=response.saves + 1,
        )
        if not n:
            raise LinkRefused("used", invitation=response.invitation)
        response.answers, response.updated_at = merged, now
        response.language = language or response.language
        response.saves += 1
        record(
            user=None,
            action=AuditAction.SURVEY_ANSWER,
            patient=response.patient,
            reason="pasienten lagret svar",
            detail={"response": str(response.uid), "questions": sorted(answers)},
        )
    return response


def submit(response: SurveyResponse, *, now: dt.datetime | None = None) -> SurveyResponse:
    """Submit *response*: its scores are computed, the link is used up, the reminder is
    cancelled, and the team's worklist is refreshed (a score may signal need)."""
    now = now or timezone.now()
    _still_open(response, now)
    ins = instrument(response.instrument)
    answers = {k: (None if v is None else float(v)) for k, v in response.answers.items()}
    scores = ins.scores(answers)
    with transaction.atomic():
        n = SurveyResponse.objects.filter(pk=response.pk, status=ResponseStatus.IN_PROGRESS).update(
            status=ResponseStatus.SUBMITTED,
            submitted_at=now,
            updated_at=now,
            scores=scores,
            needs=ins.needs(scores),
        )
        if not n:
            raise LinkRefused("used", invitation=response.invitation)
        response.refresh_from_db()
        inv = response.invitation
        inv.status = InvitationStatus.ANSWERED
        inv.save(update_fields=["status"])
        if inv.reminder_id:
            Message.objects.filter(pk=inv.reminder_id, status=Status.QUEUED).update(
                status=Status.FAILED, failure_reason="avbrutt: pasienten har svart"
            )
        Practice.objects.filter(pk=response.practice_id).update(data_version=new_data_version())
        record(
            user=None,
            action=AuditAction.SURVEY_ANSWER,
            patient=response.patient,
            reason="pasienten sendte inn svar",
            detail={"response": str(response.uid), "instrument": ins.id, "scores": scores},
        )
    return response


# -- the team's side --------------------------------------------------------------------------


def view_results(
    *, user: Any, patient: Patient, request: Any = None, where: str = ""
) -> list[SurveyResponse]:
    """The patient's submitted responses, oldest first; the view is audited."""
    _check_team(user, patient)
    if user is None:
        raise AccessDenied("a person must view answers")
    rows = list(
        SurveyResponse.objects.filter(patient=patient, status=ResponseStatus.SUBMITTED).order_by(
            "submitted_at", "id"
        )
    )
    record(
        user=user,
        action=AuditAction.SURVEY_VIEW,
        patient=patient,
        reason=where or "spørreskjemasvar",
        detail={"responses": len(rows)},
        request=request,
    )
    return rows
