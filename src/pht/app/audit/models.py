"""Audit entries: who did what to which patient, when and why. Append-only.

The app can only add entries: ``save()`` refuses to change a stored entry, ``delete()`` and the
queryset's ``update()``/``delete()`` refuse, and the migration installs database triggers that
refuse UPDATE and DELETE on SQLite and PostgreSQL, so not even raw SQL from the app changes one.
Entries copy the user's name, role and practice and the patient's person number as they were, so
nothing a later change does to users or patients rewrites history.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from pht.core.errors import PhtError


class AuditImmutable(PhtError):
    """An attempt to change or delete an audit entry."""


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    """Read-only queryset: bulk update and delete are refused."""

    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit entries cannot be deleted")


class AuditAction(models.TextChoices):
    """What was done."""

    VIEW_PATIENT = "patient.view", _("åpnet pasient")
    VIEW_WORKLIST = "worklist.view", _("så arbeidslisten")
    VIEW_DUE_LIST = "tasks.view", _("så oppgavelisten")
    SEARCH = "patient.search", _("søkte etter pasient")
    SAVE_PLAN = "plan.save", _("lagret oppfølgingsplan")
    CREATE_TASK = "task.create", _("opprettet oppgave")
    ASSIGN_TASK = "task.assign", _("tildelte oppgave")
    COMPLETE_TASK = "task.complete", _("fullførte oppgave")
    INVITE = "task.invite", _("registrerte innkalling")
    CLOSE_RECALL = "task.autoclose", _("innkalling lukket av registerdata")
    LOG_ACTIVITY = "activity.log", _("registrerte aktivitet")
    VIEW_AUDIT = "audit.view", _("så loggen")
    EXPORT_AUDIT = "audit.export", _("eksporterte loggen")
    LOAD = "data.load", _("lastet analyseresultater")
    DENIED = "access.denied", _("nektet tilgang")
    GRANT = "access.grant", _("ga tilgang til en rolle")
    GRANT_REVOKE = "access.revoke", _("tok tilbake tilgang fra en rolle")
    SYSTEM_CLIENT = "system.register", _("registrerte systemklient")
    SYSTEM_CLIENT_REVOKE = "system.revoke", _("trakk tilbake systemklient")
    EXPORT_PATIENTS = "patient.export", _("eksporterte pasientdata")
    EXTRACT_LOAD = "extracts.load", _("lastet uttrekk til datavarehuset")
    # The 2017 call for applications (pht.app.call), by the municipality and the directorate.
    CALL_DRAFT = "call.draft", _("lagret søknadsutkast")
    CALL_SUBMIT = "call.submit", _("sendte inn søknad")
    CALL_SUBMIT_REFUSED = "call.submit_refused", _("innsending av søknad avvist")
    CALL_WITHDRAW = "call.withdraw", _("trakk søknad")
    CALL_VALIDATE = "call.validate", _("kontrollerte søknad")
    CALL_ACCEPT_LATE = "call.accept_late", _("tok sen søknad til vurdering")
    CALL_SCORE = "call.score", _("ga poeng på et kriterium")
    CALL_CONFLICT = "call.conflict", _("meldte seg inhabil")
    CALL_MEETING = "call.meeting", _("registrerte intervju eller besøk")
    CALL_OVERRIDE = "call.override", _("overstyrte utvalget")
    CALL_SELECT = "call.select", _("foreslo utvalg")
    CALL_PROPOSE = "call.propose", _("foreslo vedtak")
    CALL_APPROVE = "call.approve", _("godkjente vedtak")
    CALL_APPROVE_REFUSED = "call.approve_refused", _("godkjenning av vedtak avvist")
    CALL_LETTER = "call.letter", _("lagde vedtaksbrev")
    CALL_PAYMENTS = "call.payments", _("lagde utbetalingsliste")
    # The outbox (pht.app.outbox) and patient surveys (pht.app.surveys).
    OUTBOX_ENQUEUE = "outbox.enqueue", _("la melding i utboksen")
    OUTBOX_SENT = "outbox.sent", _("sendte melding")
    OUTBOX_FAILED = "outbox.failed", _("melding ble ikke sendt")
    SURVEY_INVITE = "survey.invite", _("inviterte til spørreskjema")
    SURVEY_REMIND = "survey.remind", _("purret på spørreskjema")
    SURVEY_ANSWER = "survey.answer", _("pasienten svarte på spørreskjema")
    SURVEY_REFUSED = "survey.refused", _("spørreskjemalenke avvist")
    SURVEY_VIEW = "survey.view", _("så svar på spørreskjema")
    SURVEY_EXPORT = "survey.export", _("eksporterte spørreskjemasvar")
    SURVEY_IMPORT = "survey.import", _("importerte spørreskjemasvar")
    SURVEY_LOAD = "survey.load", _("overførte svar til datavarehuset")
    SURVEY_INSTRUMENT = "survey.instrument", _("la inn spørreskjema")
    REPORT_SAVE = "call.report_save", _("lagret årsrapport")
    REPORT_SUBMIT = "call.report_submit", _("sendte inn årsrapport")
    REPORT_SUBMIT_REFUSED = "call.report_submit_refused", _("årsrapport ikke sendt (mangler)")
    REPORT_PDF = "call.report_pdf", _("lastet ned årsrapport som PDF")
    QUALITY_GOAL = "quality.goal", _("satte kvalitetsmål")
    QUALITY_NOTE = "quality.note", _("skrev PDSA-notat")
    QUALITY_MEASURE = "quality.measure", _("registrerte måling av kvalitetsmål")
    QUALITY_CONSENT = "quality.consent", _("endret samtykke til navngitt sammenligning")


class AuditEntry(models.Model):
    """One audited event."""

    at = models.DateTimeField(_("tidspunkt"), auto_now_add=True, db_index=True)
    user_id_at = models.IntegerField(_("bruker-id"), null=True, blank=True, db_index=True)
    username = models.CharField(_("bruker"), max_length=150, db_index=True)
    role = models.CharField(_("rolle"), max_length=20, blank=True)
    practice_id = models.CharField(_("legekontor"), max_length=9, blank=True, db_index=True)
    patient_uid = models.UUIDField(_("pasient"), null=True, blank=True, db_index=True)
    person_id = models.CharField(_("personnummer"), max_length=11, blank=True, db_index=True)
    patient_name = models.CharField(_("pasientens navn"), max_length=200, blank=True)
    action = models.CharField(_("handling"), max_length=30, choices=AuditAction.choices)
    reason = models.CharField(_("begrunnelse"), max_length=200, blank=True)
    detail = models.TextField(_("detaljer"), blank=True)
    path = models.CharField(_("adresse"), max_length=300, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("loggpost")
        verbose_name_plural = _("logg")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.person_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Store a new entry; a stored entry cannot be saved again."""
        if self.pk is not None and not self._state.adding:
            raise AuditImmutable("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Refused: audit entries are kept."""
        raise AuditImmutable("audit entries cannot be deleted")
