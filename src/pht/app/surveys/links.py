"""Single-use survey links: made when the outbox sends the message, stored only as a hash.

A token is ``secrets.token_urlsafe(32)`` (256 random bits); the database keeps its SHA-256
(:class:`~pht.app.surveys.models.SurveyLink`). The text of an SMS or e-mail carries ``{lenke}``
until the outbox's render hook (registered here) puts the link in, inside the transaction that
claims the message; a letter gets its PDF (with a QR code of the link, made with segno) the same
way. So neither the outbox nor the audit log ever holds a usable link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from pht.app.outbox import hooks
from pht.app.outbox.models import Message
from pht.app.surveys.models import InvitationStatus, SurveyInvitation, SurveyLink
from pht.reference.surveys import instrument

#: Bytes of randomness of a token (256 bits; the issue asks for at least 128).
TOKEN_BYTES = 32
PLACEHOLDER = "{lenke}"


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of *token*: what the database keeps."""
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


def base_url() -> str:
    """The public address of the patient's page (``PHT_SURVEY_BASE_URL``)."""
    url = getattr(settings, "PHT_SURVEY_BASE_URL", None) or os.environ.get("PHT_SURVEY_BASE_URL")
    return (url or "http://127.0.0.1:8000").rstrip("/")


def link_url(token: str) -> str:
    """The address a patient opens."""
    return f"{base_url()}/s/{token}"


def new_link(invitation: SurveyInvitation, *, kind: str, now: dt.datetime | None = None) -> str:
    """Make a link for *invitation* valid for its ``valid_days``; the token (not stored)."""
    now = now or timezone.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    SurveyLink.objects.create(
        invitation=invitation,
        token_hash=token_hash(token),
        kind=kind,
        created_at=now,
        expires_at=now + dt.timedelta(days=invitation.valid_days),
    )
    return token


def qr_svg(url: str) -> str:
    """A QR code of *url* as an SVG data URI (segno; error correction M)."""
    import segno

    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2))


def letter_pdf(invitation: SurveyInvitation, url: str) -> bytes:
    """The invitation letter as PDF: the practice, the instrument, the link and its QR code."""
    from weasyprint import HTML

    ins = instrument(invitation.instrument)
    html = render_to_string(
        "surveys/letter.html",
        {
            "invitation": invitation,
            "patient": invitation.patient,
            "practice": invitation.practice,
            "title": ins.title("nb"),
            "url": url,
            "qr": qr_svg(url),
            "expires": timezone.localdate() + dt.timedelta(days=invitation.valid_days),
        },
    )
    return HTML(string=html).write_pdf()


def _invitation_of(message: Message) -> SurveyInvitation:
    return SurveyInvitation.objects.select_related("patient", "practice").get(
        pk=int(message.ref.partition(":")[2])
    )


def _render(message: Message) -> hooks.Rendered:
    inv = _invitation_of(message)
    kind = "reminder" if message.purpose == "survey_reminder" else "invitation"
    url = link_url(new_link(inv, kind=kind))
    body = message.body.replace(PLACEHOLDER, url)
    if message.channel == "letter":
        return hooks.Rendered(
            body=body,
            attachment=letter_pdf(inv, url),
            attachment_name=f"sporreskjema-{inv.pk}.pdf",
            attachment_type="application/pdf",
        )
    return hooks.Rendered(body=body)


def _sent(message: Message) -> None:
    inv = _invitation_of(message)
    if message.purpose == "survey_reminder":
        return
    if inv.status == InvitationStatus.QUEUED:
        inv.status = InvitationStatus.SENT
    inv.sent_at = message.sent_at
    inv.save(update_fields=["status", "sent_at"])


def _failed(message: Message) -> None:
    inv = _invitation_of(message)
    if message.purpose != "survey_reminder" and inv.status == InvitationStatus.QUEUED:
        inv.status = InvitationStatus.FAILED
        inv.save(update_fields=["status"])


HOOK = "surveys.link"


def register_hooks() -> None:
    """Register the outbox hook (called from the app's ``ready``)."""
    hooks.register(HOOK, hooks.Hook(render=_render, sent=_sent, failed=_failed))
