"""A message to a patient (or a partner) waiting in the outbox, or sent, or failed.

Written only through :mod:`pht.app.outbox.actions` (``enqueue``, ``send_pending``), each change
with its audit entry in the same transaction. A message may name a *render hook*: the text is
then completed when it is sent (e.g. a survey invitation's single-use link, which is never
stored; see :mod:`pht.app.outbox.hooks`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pht.app.accounts.models import Practice


class Channel(models.TextChoices):
    """How a message reaches its recipient."""

    SMS = "sms", _("SMS")
    EMAIL = "email", _("e-post")
    LETTER = "letter", _("brev")


class Status(models.TextChoices):
    """Where a message is."""

    QUEUED = "queued", _("i kø")
    SENDING = "sending", _("sendes")
    SENT = "sent", _("sendt")
    FAILED = "failed", _("feilet")


class Message(models.Model):
    """One message by one channel to one recipient."""

    channel = models.CharField(_("kanal"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("mottaker"), max_length=300)
    subject = models.CharField(_("emne"), max_length=200, blank=True)
    body = models.TextField(_("tekst"))
    attachment = models.BinaryField(null=True, blank=True)
    attachment_name = models.CharField(max_length=100, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    patient = models.ForeignKey(
        "care.Patient",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        verbose_name=_("pasient"),
    )
    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="messages", verbose_name=_("legekontor")
    )
    purpose = models.CharField(_("formål"), max_length=40, db_index=True)
    ref = models.CharField(_("gjelder"), max_length=100, blank=True, db_index=True)
    render_hook = models.CharField(max_length=60, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    failure_reason = models.CharField(_("feilårsak"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("forsøk"), default=0)
    not_before = models.DateTimeField(_("tidligst"), null=True, blank=True)
    created_at = models.DateTimeField(_("lagt i kø"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_attempt_at = models.DateTimeField(_("siste forsøk"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sendt"), null=True, blank=True)
    sender = models.CharField(_("sendt med"), max_length=100, blank=True)
    receipt = models.CharField(_("kvittering"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "not_before", "id"])]
        verbose_name = _("melding")
        verbose_name_plural = _("meldinger")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} ({self.get_status_display()})"
