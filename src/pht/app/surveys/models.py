"""Survey invitations, their single-use links, and the answers.

A :class:`SurveyInvitation` asks one patient to answer one instrument (a wave: at the start of
a plan, after 6 or 12 months, or by hand). Its links (:class:`SurveyLink`, the first and at most
one reminder) are made when the outbox sends the message: 256 random bits, of which only the
SHA-256 hash is stored. The patient's :class:`SurveyResponse` saves as they go and is submitted
once; its scores are computed from the instrument's reference data.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pht.app.accounts.models import Practice


class Wave(models.TextChoices):
    """When in a plan's course the patient is asked."""

    START = "start", _("ved start")
    MONTH_6 = "6m", _("etter 6 måneder")
    MONTH_12 = "12m", _("etter 12 måneder")
    MANUAL = "manual", _("enkeltvis")


class InvitationStatus(models.TextChoices):
    """Where an invitation is."""

    QUEUED = "queued", _("i kø")
    SENT = "sent", _("sendt")
    ANSWERED = "answered", _("besvart")
    FAILED = "failed", _("ikke sendt")
    CANCELLED = "cancelled", _("avbrutt")


class SurveyInvitation(models.Model):
    """One patient asked to answer one instrument."""

    patient = models.ForeignKey(
        "care.Patient", on_delete=models.CASCADE, related_name="survey_invitations"
    )
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    instrument = models.CharField(_("spørreskjema"), max_length=20)
    version = models.CharField(max_length=60)
    channel = models.CharField(_("kanal"), max_length=10)
    wave = models.CharField(_("runde"), max_length=10, choices=Wave.choices, default=Wave.MANUAL)
    source = models.CharField(_("fra"), max_length=20)  # worklist, patient, plan, batch
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=InvitationStatus.choices,
        default=InvitationStatus.QUEUED,
    )
    created_at = models.DateTimeField(_("opprettet"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    valid_days = models.PositiveSmallIntegerField(default=30)
    sent_at = models.DateTimeField(_("sendt"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("purret"), null=True, blank=True)
    message = models.ForeignKey(
        "outbox.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminder = models.ForeignKey(
        "outbox.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["practice", "instrument", "created_at"])]


class SurveyLink(models.Model):
    """A single-use link of an invitation: only the SHA-256 of its token is kept."""

    invitation = models.ForeignKey(SurveyInvitation, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10)  # invitation | reminder
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()


class ResponseStatus(models.TextChoices):
    """Where the patient's answers are."""

    IN_PROGRESS = "in_progress", _("påbegynt")
    SUBMITTED = "submitted", _("sendt inn")


class SurveyResponse(models.Model):
    """The patient's answers to one invitation, saved as they go, submitted once."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, related_name="response"
    )
    patient = models.ForeignKey("care.Patient", on_delete=models.CASCADE, related_name="+")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    instrument = models.CharField(max_length=20)
    version = models.CharField(max_length=60)
    language = models.CharField(max_length=2, default="nb")
    status = models.CharField(
        max_length=12, choices=ResponseStatus.choices, default=ResponseStatus.IN_PROGRESS
    )
    answers = models.JSONField(default=dict)  # question id -> value (None = skipped)
    scores = models.JSONField(default=dict)  # score item -> value
    needs = models.JSONField(default=list)  # reasons to act (bokmål)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    saves = models.PositiveIntegerField(default=0)
    loaded_batch = models.CharField(max_length=64, blank=True, db_index=True)
    origin = models.CharField(max_length=20, default="app")  # app | fhir

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["patient", "instrument", "submitted_at"])]
