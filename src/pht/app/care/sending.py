"""SMS and e-mail invitations through the outbox (:mod:`pht.app.outbox`).

Each invited recall gets one queued message in the same transaction as its invitation row
(``ref`` ``task:<id>``, purpose ``recall``); the outbox's sender (a file by default, SMTP for
e-mail when configured) delivers it. The recipient comes from the contact directory the
deployment plugs in (``PHT_SURVEY_CONTACTS``, shared with the surveys: the contact and
reservation register or the EPR); without one SMS and e-mail cannot be sent and the register
says so. Letters need no outbox: they are printed as one PDF.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

from pht.app.care.letters import date_long
from pht.app.care.models import Channel


def available() -> list[str]:
    """Channels the register can send from: letter always; SMS and e-mail with the outbox."""
    out = [Channel.LETTER.value]
    if apps.is_installed("pht.app.outbox"):
        out += [Channel.SMS.value, Channel.EMAIL.value]
    return out


def _text(task: Any) -> tuple[str, str]:
    practice = task.patient.practice.name
    what = (
        f"årskontroll for {task.get_condition_display()}"
        if task.condition
        else task.title[:1].lower() + task.title[1:]
    )
    subject = f"Innkalling til {what}"
    body = (
        f"Hei! Det er tid for {what} hos {practice}. Ring legekontoret for å avtale tid, "
        f"helst før {date_long(task.due)}. Gi oss beskjed hvis du ikke ønsker å komme."
    )
    return subject, body


def send_invitations(tasks: list[Any], *, channel: str, user: Any) -> list[Any]:
    """Queue one message per recall in *tasks* in the outbox (call inside the invitations'
    transaction); the queued messages. Raises an ``ActionError`` naming the field if the
    channel cannot be used or a recipient is missing."""
    from pht.app.care.actions import ActionError

    if channel not in available() or channel == Channel.LETTER:
        raise ActionError("Denne kanalen er ikke satt opp.", field="channel")
    from pht.app.outbox.actions import enqueue
    from pht.app.surveys.actions import contact_for

    messages = []
    for task in tasks:
        try:
            recipient = contact_for(task.patient, channel)
        except ActionError as err:
            raise ActionError(f"{task.patient.name}: {err.message}", field="channel") from None
        subject, body = _text(task)
        message = enqueue(
            user=user,
            patient=task.patient,
            channel=channel,
            recipient=recipient,
            subject=subject if channel == Channel.EMAIL else "",
            body=body,
            purpose="recall",
            ref=f"task:{task.pk}",
        )
        latest = task.invitations.order_by("-number").first()
        if latest is not None:
            latest.outbox_ref = f"outbox:{message.pk}"
            latest.save(update_fields=["outbox_ref"])
        messages.append(message)
    return messages
