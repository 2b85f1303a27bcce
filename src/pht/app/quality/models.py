"""A practice's quality goals, its plan–do–study–act notes, quarterly measurements and whether
other practices may see it by name."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pht.app.accounts.models import Practice


class QualityGoal(models.Model):
    """A goal on one catalogue indicator: a target share within a period."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="quality_goals")
    indicator = models.CharField(_("indikator"), max_length=40)
    target = models.DecimalField(_("mål (andel)"), max_digits=4, decimal_places=3)
    period_start = models.DateField(_("fra"))
    period_end = models.DateField(_("til"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["practice", "period_start", "indicator"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "indicator", "period_start"], name="goal_once_per_period"
            ),
            models.CheckConstraint(
                condition=models.Q(target__gt=0) & models.Q(target__lte=1), name="target_share"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gt=models.F("period_start")), name="goal_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practice_id} {self.indicator} ≥ {self.target}"


class PdsaStage(models.TextChoices):
    """The stages of a plan–do–study–act cycle."""

    PLAN = "plan", _("planlegge")
    DO = "do", _("utføre")
    STUDY = "study", _("studere")
    ACT = "act", _("handle")


class PdsaNote(models.Model):
    """A note on one stage of a cycle towards a goal."""

    goal = models.ForeignKey(QualityGoal, on_delete=models.CASCADE, related_name="notes")
    stage = models.CharField(_("fase"), max_length=10, choices=PdsaStage.choices)
    date = models.DateField(_("dato"))
    text = models.TextField(_("notat"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["goal", "date", "at"]


class Measurement(models.Model):
    """A quarter's count of a catalogue indicator the practice counted in its own records."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="measurements")
    indicator = models.CharField(_("indikator"), max_length=40)
    quarter = models.CharField(_("kvartal"), max_length=6)  # "2023Q1"
    numerator = models.PositiveIntegerField(_("teller"))
    denominator = models.PositiveIntegerField(_("nevner"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["practice", "indicator", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "indicator", "quarter"], name="measurement_once_a_quarter"
            ),
            models.CheckConstraint(
                condition=models.Q(numerator__lte=models.F("denominator")),
                name="numerator_within_denominator",
            ),
        ]


class PeerConsent(models.Model):
    """Whether other team practices may see this practice's figures by name."""

    practice = models.OneToOneField(Practice, on_delete=models.CASCADE, related_name="peer_consent")
    share_name = models.BooleanField(_("vis navnet vårt for andre team"), default=False)
    changed_at = models.DateTimeField(auto_now=True)
