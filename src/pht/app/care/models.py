"""Patients as the analytics found them, and the team's own records about them.

Loaded from the analytics (replaced on each load, see :mod:`pht.app.care.loading`):
:class:`Patient` (identity and worklist fields), :class:`Evidence`, :class:`TimelineEvent`,
:class:`SurveyAnswer`, :class:`PracticeIndicator`. Written by the team, only through
:mod:`pht.app.care.actions`: :class:`FollowUpPlan`, :class:`Task`, :class:`Invitation`,
:class:`Activity`. A patient keeps its ``uid`` (the id in URLs) across loads, so the team's
records stay attached.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pht.app.accounts.models import AppRole, Practice, Practitioner


class TargetGroupChoice(models.TextChoices):
    """The scheme's target groups (as in :class:`pht.core.TargetGroup`)."""

    CHRONIC_DISEASE = "chronic_disease", _("kronisk sykdom")
    MENTAL_ILLNESS = "mental_illness", _("psykiske lidelser")
    SUBSTANCE_USE = "substance_use", _("rusavhengighet")
    FRAIL_ELDERLY = "frail_elderly", _("skrøpelige eldre")
    DEVELOPMENTAL_DISABILITY = "developmental_disability", _("utviklingshemning")
    WEAK_DEMANDERS = "weak_demanders", _("svake etterspørrere")


class ConditionChoice(models.TextChoices):
    """Conditions the analytics recognise (names agreed between the rooms)."""

    DIABETES = "diabetes", _("diabetes")
    COPD = "copd", _("kols")
    ASTHMA = "asthma", _("astma")
    HEART_FAILURE = "heart_failure", _("hjertesvikt")
    CORONARY_DISEASE = "coronary_disease", _("koronarsykdom")
    ATRIAL_FIBRILLATION = "atrial_fibrillation", _("atrieflimmer")
    HYPERTENSION = "hypertension", _("høyt blodtrykk")
    STROKE = "stroke", _("hjerneslag")
    DEMENTIA = "dementia", _("demens")
    DEPRESSION_ANXIETY = "depression_anxiety", _("depresjon/angst")
    SEVERE_MENTAL_ILLNESS = "severe_mental_illness", _("alvorlig psykisk lidelse")
    SUBSTANCE_USE = "substance_use", _("rusbruk")
    DEVELOPMENTAL_DISABILITY = "developmental_disability", _("utviklingshemning")


class Band(models.TextChoices):
    """Frailty bands and risk bands share their order: low to high."""

    FIT = "fit", _("sprek")
    MILD = "mild", _("lett")
    MODERATE = "moderate", _("moderat")
    SEVERE = "severe", _("alvorlig")


class RiskBand(models.TextChoices):
    """Bands of the risk of an acute admission."""

    LOW = "low", _("lav")
    MEDIUM = "medium", _("middels")
    HIGH = "high", _("høy")
    VERY_HIGH = "very_high", _("svært høy")


class Patient(models.Model):
    """A listed person of a practice, with what the analytics found about them."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person_id = models.CharField(_("fødselsnummer"), max_length=11, unique=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="patients")
    gp = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.SET_NULL, related_name="patients"
    )
    name = models.CharField(_("navn"), max_length=200, db_index=True)
    birth_date = models.DateField(_("fødselsdato"), db_index=True)
    sex = models.CharField(_("kjønn"), max_length=1)
    death_date = models.DateField(_("dødsdato"), null=True, blank=True)
    listed = models.BooleanField(_("på listen"), default=True)
    flagged = models.BooleanField(_("på arbeidslisten"), default=False)
    priority = models.FloatField(_("prioritet"), default=0)
    rank = models.IntegerField(_("rangering"), null=True, blank=True)
    reasons = models.CharField(_("grunner"), max_length=500, blank=True)
    target_groups = models.CharField(max_length=300, blank=True)  # "|chronic_disease|...|"
    conditions = models.CharField(max_length=400, blank=True)  # "|diabetes|copd|"
    frailty_band = models.CharField(_("skrøpelighet"), max_length=10, blank=True)
    efi = models.FloatField(_("eFI"), null=True, blank=True)
    risk = models.FloatField(_("innleggelsesrisiko"), null=True, blank=True)
    risk_band = models.CharField(_("risikogruppe"), max_length=10, blank=True)
    annual_check_overdue = models.BooleanField(_("årskontroll forfalt"), default=False)
    overdue_conditions = models.CharField(max_length=400, blank=True)  # "|diabetes|"
    annual_checks = models.JSONField(default=dict, blank=True)  # condition -> {last, due, overdue}
    as_of = models.DateField(_("data per"), null=True, blank=True)

    class Meta:
        ordering = ["rank", "name"]
        indexes = [
            models.Index(fields=["practice", "listed", "flagged", "rank"]),
            models.Index(fields=["practice", "listed", "name"]),
        ]

    def __str__(self) -> str:
        return self.name

    def target_group_list(self) -> list[str]:
        """Target groups as a list of machine names."""
        return [g for g in self.target_groups.split("|") if g]

    def target_group_labels(self) -> list[str]:
        """Target groups as the user reads them."""
        labels = dict(TargetGroupChoice.choices)
        return [str(labels.get(g, g)) for g in self.target_group_list()]

    def frailty_label(self) -> str:
        """The frailty band as the user reads it."""
        return str(dict(Band.choices).get(self.frailty_band, self.frailty_band))

    def risk_label(self) -> str:
        """The risk band as the user reads it."""
        return str(dict(RiskBand.choices).get(self.risk_band, self.risk_band))

    def annual_check_rows(self) -> list[tuple[str, dict[str, object]]]:
        """(condition label, {last, due, overdue}) per condition with annual checks."""
        labels = dict(ConditionChoice.choices)
        return sorted((str(labels.get(k, k)), v) for k, v in self.annual_checks.items())

    def overdue_condition_list(self) -> list[str]:
        """Conditions whose annual check is overdue, as machine names."""
        return [c for c in self.overdue_conditions.split("|") if c]

    def risk_percent(self) -> int | None:
        """The admission risk in whole per cent (the one way the app shows risk)."""
        return None if self.risk is None else round(self.risk * 100)

    def condition_list(self) -> list[str]:
        """Conditions as a list of machine names."""
        return [c for c in self.conditions.split("|") if c]

    def condition_labels(self) -> list[str]:
        """Conditions as the user reads them."""
        labels = dict(ConditionChoice.choices)
        return [str(labels.get(c, c)) for c in self.condition_list()]


class Evidence(models.Model):
    """Why a patient is in a target group: a code on a date, from a source."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="evidence")
    target_group = models.CharField(max_length=40, choices=TargetGroupChoice.choices)
    condition = models.CharField(max_length=40, blank=True)
    code = models.CharField(max_length=20, blank=True)
    code_system = models.CharField(max_length=20, blank=True)
    evidence_date = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["target_group", "-evidence_date"]

    def condition_label(self) -> str:
        """The condition as the user reads it (frailty and weak demand keep their name)."""
        labels = {
            **dict(ConditionChoice.choices),
            "frailty": _("skrøpelighet"),
            "weak_demander": _("svak etterspørsel"),
        }
        return str(labels.get(self.condition, self.condition))


class TimelineKind(models.TextChoices):
    """Kinds of events on a patient's timeline."""

    CONTACT = "contact", _("kontakt")
    ADMISSION = "admission", _("sykehusopphold")
    SERVICE = "service", _("kommunal tjeneste")


class TimelineEvent(models.Model):
    """A contact, a hospital stay or a municipal service, from the registry."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=10, choices=TimelineKind.choices)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    title = models.CharField(max_length=200)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-start"]
        indexes = [models.Index(fields=["patient", "-start"])]


class SurveyAnswer(models.Model):
    """An answer to a patient survey."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="surveys")
    date = models.DateField()
    instrument = models.CharField(max_length=20)
    item = models.CharField(max_length=40)
    value = models.FloatField()

    class Meta:
        ordering = ["-date", "instrument", "item"]


class PracticeIndicator(models.Model):
    """An aggregate indicator of a practice in a quarter (no patient-level data)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="indicators")
    indicator = models.CharField(max_length=40)
    quarter = models.CharField(max_length=7)  # "2019Q1"
    numerator = models.IntegerField()
    denominator = models.IntegerField()

    class Meta:
        ordering = ["practice", "indicator", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "indicator", "quarter"], name="indicator_once_per_quarter"
            )
        ]

    @property
    def share(self) -> float | None:
        """numerator / denominator, or None for an empty denominator."""
        return None if self.denominator == 0 else self.numerator / self.denominator


class Partner(models.TextChoices):
    """Coordination partners of a follow-up plan."""

    HOME_NURSING = "home_nursing", _("hjemmesykepleie")
    HOSPITAL = "hospital", _("sykehus")
    SPECIALIST = "specialist", _("spesialist")
    NAV = "nav", _("NAV")


class PlanEndReason(models.TextChoices):
    """Why a follow-up plan ended."""

    GOAL_REACHED = "goal_reached", _("målet er nådd")
    NO_LONGER_NEEDED = "no_longer_needed", _("trenger ikke lenger oppfølging")
    PATIENT_DECLINED = "patient_declined", _("pasienten ønsker ikke oppfølging")
    MOVED = "moved", _("flyttet eller byttet fastlege")
    DIED = "died", _("død")


class FollowUpPlan(models.Model):
    """A patient's follow-up plan: the patient's own goal, who is responsible, how often."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="plan")
    goal = models.TextField(_("pasientens mål"))
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plans"
    )
    contact_interval_months = models.PositiveSmallIntegerField(_("kontakt hver (måneder)"))
    next_due = models.DateField(_("neste kontakt"))
    partners = models.JSONField(_("samarbeidspartnere"), default=list, blank=True)
    who_to_call = models.CharField(_("hvem pasienten kan ringe"), max_length=200, blank=True)
    active = models.BooleanField(_("aktiv"), default=True)
    ended_on = models.DateField(_("avsluttet"), null=True, blank=True)
    end_reason = models.CharField(
        _("grunn til avslutning"), max_length=30, blank=True, choices=PlanEndReason.choices
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: raised by every change; a form carries the version it showed (optimistic locking)
    version = models.PositiveIntegerField(default=1)

    def partner_labels(self) -> list[str]:
        """Coordination partners as the user reads them."""
        labels = dict(Partner.choices)
        return [str(labels.get(p, p)) for p in self.partners]


class TaskKind(models.TextChoices):
    """Kinds of tasks."""

    TASK = "task", _("oppgave")
    RECALL = "recall", _("innkalling")
    ANNUAL_CHECK = "annual_check", _("innkalling til årskontroll")


class TaskStatus(models.TextChoices):
    """Where a task is."""

    OPEN = "open", _("åpen")
    INVITED = "invited", _("innkalt")
    DONE = "done", _("utført")
    CLOSED_BY_DATA = "closed_by_data", _("lukket av registerdata")
    NO_ANSWER = "no_answer", _("ikke svart")
    DECLINED = "declined", _("reservert seg")


OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.INVITED)
#: A recall closed because what it asked for was done (in the app or in registry data).
DONE_STATUSES = (TaskStatus.DONE, TaskStatus.CLOSED_BY_DATA)
#: A recall closed without the check: no answer after the invitations, or informed dissent.
NOT_DONE_STATUSES = (TaskStatus.NO_ANSWER, TaskStatus.DECLINED)
RECALL_KINDS = ("recall", "annual_check")


class Task(models.Model):
    """A task or recall for one patient, assigned to a team member or a role, due on a date."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(_("type"), max_length=20, choices=TaskKind.choices)
    condition = models.CharField(
        _("tilstand"), max_length=40, blank=True, choices=ConditionChoice.choices
    )
    title = models.CharField(_("tittel"), max_length=200)
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("tildelt"),
    )
    assigned_role = models.CharField(
        _("tildelt rolle"), max_length=20, blank=True, choices=AppRole.choices
    )
    due = models.DateField(_("frist"), db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    #: raised by every change; a form carries the version it showed (optimistic locking)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_on = models.DateField(_("opprettet"), null=True, blank=True)  # the app's today
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_note = models.CharField(_("merknad"), max_length=300, blank=True)

    class Meta:
        ordering = ["due", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        """Open or invited (not yet done)."""
        return self.status in OPEN_STATUSES

    @property
    def invitations_sent(self) -> int:
        """How many invitations were recorded."""
        return self.invitations.count()


class Channel(models.TextChoices):
    """How a patient was invited."""

    SMS = "sms", _("SMS")
    LETTER = "letter", _("brev")
    EMAIL = "email", _("e-post")
    PHONE = "phone", _("telefon")


class Invitation(models.Model):
    """An invitation sent for a recall (first, second, third)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="invitations")
    number = models.PositiveSmallIntegerField()
    channel = models.CharField(_("kanal"), max_length=10, choices=Channel.choices)
    sent_on = models.DateField(_("sendt"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outbox_ref = models.CharField(_("utboks"), max_length=100, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["task", "number"], name="invitation_number_once")
        ]


class ActivityKind(models.TextChoices):
    """Kinds of activity the team logs."""

    NURSE_CONSULTATION = "nurse_consultation", _("sykepleierkonsultasjon")
    PHONE_CONSULTATION = "phone_consultation", _("telefonkonsultasjon")
    HOME_VISIT = "home_visit", _("hjemmebesøk")
    ANNUAL_CHECK = "annual_check", _("årskontroll")
    COORDINATION_MEETING = "coordination_meeting", _("samarbeidsmøte")


class Activity(models.Model):
    """An activity the team did with or for a patient, with a note."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("aktivitet"), max_length=30, choices=ActivityKind.choices)
    date = models.DateField(_("dato"))
    partner = models.CharField(
        _("samarbeidspartner"), max_length=20, blank=True, choices=Partner.choices
    )
    condition = models.CharField(
        _("tilstand"), max_length=40, blank=True, choices=ConditionChoice.choices
    )
    note = models.TextField(_("notat"), blank=True)
    participants = models.JSONField(_("deltakere"), default=list, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-at"]


class CheckSource(models.TextChoices):
    """Where a recorded annual check comes from."""

    APP = "app", _("registrert i appen")
    REGISTRY = "registry", _("registerdata")


class AnnualCheck(models.Model):
    """A structured annual check of one condition, with its values (items from reference data,
    :mod:`pht.app.care.checks`)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="checks")
    condition = models.CharField(_("tilstand"), max_length=40, choices=ConditionChoice.choices)
    date = models.DateField(_("dato"))
    values = models.JSONField(_("verdier"), default=dict)
    source = models.CharField(max_length=10, choices=CheckSource.choices, default=CheckSource.APP)
    activity = models.OneToOneField(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="annual_check"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-at"]
        indexes = [models.Index(fields=["patient", "condition", "-date"])]


class PlanReview(models.Model):
    """A review of a follow-up plan: what went well, the new goal."""

    plan = models.ForeignKey("FollowUpPlan", on_delete=models.CASCADE, related_name="reviews")
    date = models.DateField(_("dato"))
    went_well = models.TextField(_("hva gikk bra"))
    new_goal = models.TextField(_("nytt mål"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-at"]


class PlanEventKind(models.TextChoices):
    """What happened to a plan (its history)."""

    CREATED = "created", _("opprettet")
    CHANGED = "changed", _("endret")
    CONTACT = "contact", _("kontakt gjennomført")
    REVIEWED = "reviewed", _("evaluert")
    ENDED = "ended", _("avsluttet")
    REOPENED = "reopened", _("gjenåpnet")


class PlanEvent(models.Model):
    """One entry of a plan's history, with the plan as it was after the change."""

    plan = models.ForeignKey("FollowUpPlan", on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=20, choices=PlanEventKind.choices)
    on = models.DateField()
    snapshot = models.JSONField(default=dict)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]


class ThreadStatus(models.TextChoices):
    """Where a coordination thread is."""

    DRAFT = "draft", _("ikke sendt")
    SENT = "sent", _("sendt")
    ANSWERED = "answered", _("besvart")
    CLOSED = "closed", _("avsluttet")


class CoordinationThread(models.Model):
    """A message thread about one patient with one partner (home nursing, hospital, …)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="threads")
    partner = models.CharField(_("samarbeidspartner"), max_length=20, choices=Partner.choices)
    subject = models.CharField(_("emne"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=ThreadStatus.choices, default=ThreadStatus.SENT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]


class MessageDirection(models.TextChoices):
    """Sent by the team or received from the partner."""

    OUT = "out", _("sendt")
    IN = "in", _("mottatt")


class CoordinationMessage(models.Model):
    """One message of a coordination thread."""

    thread = models.ForeignKey(
        CoordinationThread, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=MessageDirection.choices)
    text = models.TextField(_("melding"))
    on = models.DateField(_("dato"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel_ref = models.CharField(max_length=100, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]


class LoadRun(models.Model):
    """One load of analytic results into the app."""

    at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=300)
    as_of = models.DateField()
    patients = models.IntegerField()
    flagged = models.IntegerField()
    recalls_closed = models.IntegerField()

    class Meta:
        ordering = ["-at"]
