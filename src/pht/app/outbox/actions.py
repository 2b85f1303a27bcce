"""Putting messages in the outbox and sending them. Every change writes its audit entry in the
same transaction (the message's text is never copied into the audit log).

``enqueue`` is what other apps call (recall invitations, survey invitations, coordination);
``send_pending`` is what ``pht app send-outbox`` (or ``django-admin send_outbox``) runs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import Practice
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care.actions import AccessDenied, ActionError
from pht.app.outbox import hooks
from pht.app.outbox.models import Channel, Message, Status
from pht.app.outbox.senders import Outgoing, SendFailed, sender_for

#: Attempts before a message that failed for a passing reason is given up.
MAX_ATTEMPTS = 3
#: Wait before the next attempt after a passing failure (grows with each attempt).
RETRY_AFTER = dt.timedelta(minutes=5)
#: A message left "sending" this long (the process died while sending) is marked failed: it
#: may or may not have reached the recipient, so it is not sent again without a person looking.
STALE_SENDING = dt.timedelta(minutes=30)
#: Longest SMS text (six concatenated segments of 153 GSM characters).
MAX_SMS = 918

_PHONE = re.compile(r"^\+[1-9]\d{7,14}$")


class OutboxError(ActionError):
    """A message cannot be enqueued; ``field`` names what is wrong."""


def normalise_phone(text: str) -> str:
    """A mobile number in E.164 (+4791234567); a Norwegian number may omit +47 or write 0047."""
    raw = re.sub(r"[\s().-]", "", text or "")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if re.fullmatch(r"\d{8}", raw):
        raw = "+47" + raw
    if not _PHONE.fullmatch(raw):
        raise OutboxError(f"«{text}» er ikke et mobilnummer.", field="recipient")
    if raw.startswith("+47") and (len(raw) != 11 or raw[3] not in "49"):
        raise OutboxError(
            f"«{text}» er ikke et norsk mobilnummer (8 siffer som begynner på 4 eller 9).",
            field="recipient",
        )
    return raw


def normalise_recipient(channel: str, recipient: str) -> str:
    """The recipient checked and written the one way the channel needs."""
    recipient = (recipient or "").strip()
    if channel == Channel.SMS:
        return normalise_phone(recipient)
    if channel == Channel.EMAIL:
        try:
            validate_email(recipient)
        except ValidationError:
            raise OutboxError(
                f"«{recipient}» er ikke en e-postadresse.", field="recipient"
            ) from None
        return recipient
    lines = [line.strip() for line in recipient.splitlines() if line.strip()]
    if len(lines) < 2:
        raise OutboxError(
            "Skriv navn og postadresse på hver sin linje (minst to linjer).", field="recipient"
        )
    return "\n".join(lines)


def _check_user(user: Any, practice: Practice) -> None:
    if user is None:
        return  # the system itself (a scheduled batch)
    profile = profile_of(user)
    if profile is None or not profile.sees_patients or profile.practice_id != practice.pk:
        raise AccessDenied(f"{user} may not send messages for practice {practice.pk}")


def enqueue(
    *,
    user: Any,
    channel: str,
    recipient: str,
    body: str,
    purpose: str,
    subject: str = "",
    patient: Any = None,
    practice: Practice | None = None,
    ref: str = "",
    render_hook: str = "",
    attachment: bytes | None = None,
    attachment_name: str = "",
    attachment_type: str = "",
    not_before: dt.datetime | None = None,
) -> Message:
    """Put one message in the outbox (status "queued") and audit it, in one transaction.

    *user* None means the system (a batch job). *patient* or *practice* says whose message it
    is; a user must belong to that practice. *render_hook* names a registered hook that
    completes the text at send time (:mod:`pht.app.outbox.hooks`). Raises :class:`OutboxError`
    naming the field for bad input (nothing stored), :class:`AccessDenied` for another practice.
    """
    if channel not in Channel.values:
        raise OutboxError("Velg SMS, e-post eller brev.", field="channel")
    if patient is not None:
        if practice is not None and practice.pk != patient.practice_id:
            raise OutboxError("Pasienten hører til et annet legekontor.", field="practice")
        practice = patient.practice
    if practice is None:
        raise OutboxError("Meldingen må høre til en pasient eller et legekontor.", field="practice")
    _check_user(user, practice)
    recipient = normalise_recipient(channel, recipient)
    body = (body or "").strip()
    subject = (subject or "").strip()
    purpose = (purpose or "").strip()
    if not body:
        raise OutboxError("Meldingen har ingen tekst.", field="body")
    if channel == Channel.SMS and len(body) > MAX_SMS:
        raise OutboxError(f"En SMS kan ha høyst {MAX_SMS} tegn.", field="body")
    if channel == Channel.EMAIL and not subject:
        raise OutboxError("En e-post må ha et emne.", field="subject")
    if len(subject) > 200:
        raise OutboxError("Emnet kan ha høyst 200 tegn.", field="subject")
    if not purpose or len(purpose) > 40:
        raise OutboxError("Oppgi formålet med meldingen (høyst 40 tegn).", field="purpose")
    if render_hook:
        hooks.get(render_hook)  # fails now, not at send time
    with transaction.atomic():
        message = Message.objects.create(
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            patient=patient,
            practice=practice,
            purpose=purpose,
            ref=ref[:100],
            render_hook=render_hook,
            attachment=attachment,
            attachment_name=attachment_name[:100],
            attachment_type=attachment_type[:100],
            not_before=not_before,
            created_by=user,
        )
        record(
            user=user,
            action=AuditAction.OUTBOX_ENQUEUE,
            patient=patient,
            reason=purpose,
            detail={
                "message": message.pk,
                "channel": channel,
                "ref": ref,
                "not_before": not_before,
            },
        )
    return message


def cancel(*, user: Any, message: Message, reason: str) -> Message:
    """Take a queued message out of the outbox (it becomes "failed" with *reason*)."""
    _check_user(user, message.practice)
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, status=Status.QUEUED).update(
            status=Status.FAILED, failure_reason=f"avbrutt: {reason}"[:300]
        )
        if not updated:
            raise OutboxError("Meldingen er ikke lenger i kø.", field="status")
        message.refresh_from_db()
        record(
            user=user,
            action=AuditAction.OUTBOX_FAILED,
            patient=message.patient,
            reason="avbrutt",
            detail={"message": message.pk, "why": reason},
        )
    return message


@dataclass
class SendSummary:
    """What one run of :func:`send_pending` did."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    stale: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)


def _outgoing(message: Message) -> Outgoing:
    rendered = hooks.get(message.render_hook).render(message) if message.render_hook else None
    att = bytes(message.attachment) if message.attachment is not None else None
    return Outgoing(
        id=message.pk,
        channel=message.channel,
        recipient=message.recipient,
        subject=message.subject
        if rendered is None or rendered.subject is None
        else rendered.subject,
        body=message.body if rendered is None else rendered.body,
        purpose=message.purpose,
        attachment=att if rendered is None or rendered.attachment is None else rendered.attachment,
        attachment_name=(rendered and rendered.attachment_name) or message.attachment_name,
        attachment_type=(rendered and rendered.attachment_type) or message.attachment_type,
    )


def _finish(
    message: Message,
    *,
    status: str,
    reason: str = "",
    receipt: str = "",
    sender: str = "",
    retry_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Record the outcome of one attempt, with its audit entry, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        message.status = status
        message.failure_reason = reason[:300]
        fields = ["status", "failure_reason"]
        if status == Status.SENT:
            message.sent_at, message.receipt, message.sender = now, receipt[:300], sender[:100]
            fields += ["sent_at", "receipt", "sender"]
        if retry_at is not None:
            message.not_before = retry_at
            fields.append("not_before")
        message.save(update_fields=fields)
        hook = hooks.get(message.render_hook) if message.render_hook else None
        if status == Status.SENT:
            action = AuditAction.OUTBOX_SENT
            if hook and hook.sent:
                hook.sent(message)
        elif status == Status.FAILED:
            action = AuditAction.OUTBOX_FAILED
            if hook and hook.failed:
                hook.failed(message)
        else:
            return  # a retry later: no audit entry until the outcome is known
        record(
            user=None,
            action=action,
            patient=message.patient,
            reason=message.purpose,
            detail={
                "message": message.pk,
                "channel": message.channel,
                "attempts": message.attempts,
                "sender": sender,
                "why": reason,
            },
        )


def send_pending(*, limit: int | None = None, now: dt.datetime | None = None) -> SendSummary:
    """Send every queued message that is due (oldest first), each with its channel's sender.

    A message is claimed ("sending", one more attempt) in a transaction of its own, so two
    runs at once never send the same message twice. A permanent failure marks it "failed" with
    the reason; a passing one puts it back in the queue for later until :data:`MAX_ATTEMPTS`.
    """
    now = now or timezone.now()
    summary = SendSummary()
    for message in Message.objects.filter(
        status=Status.SENDING, last_attempt_at__lt=now - STALE_SENDING
    ):
        _finish(
            message,
            status=Status.FAILED,
            reason="avbrutt under sending; sjekk om mottakeren fikk meldingen",
            now=now,
        )
        summary.stale += 1
    due = Message.objects.filter(status=Status.QUEUED).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    ids = list(due.order_by("id").values_list("id", flat=True)[:limit])
    senders: dict[str, Any] = {}
    for pk in ids:
        with transaction.atomic():
            claimed = Message.objects.filter(pk=pk, status=Status.QUEUED).update(
                status=Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now
            )
            if not claimed:
                continue
            message = Message.objects.select_related("patient").get(pk=pk)
            outgoing = _outgoing(message)
        sender = senders.get(message.channel) or senders.setdefault(
            message.channel, sender_for(message.channel)
        )
        try:
            receipt = sender.send(outgoing)
        except (SendFailed, OSError) as err:
            permanent = getattr(err, "permanent", False)
            reason = getattr(err, "message", None) or str(err)
            if permanent or message.attempts >= MAX_ATTEMPTS:
                _finish(message, status=Status.FAILED, reason=reason, sender=sender.name, now=now)
                summary.failed += 1
                summary.failures.append((message.pk, reason))
            else:
                _finish(
                    message,
                    status=Status.QUEUED,
                    reason=reason,
                    retry_at=now + RETRY_AFTER * message.attempts,
                    now=now,
                )
                summary.retry += 1
        else:
            _finish(message, status=Status.SENT, receipt=receipt, sender=sender.name, now=now)
            summary.sent += 1
    return summary
