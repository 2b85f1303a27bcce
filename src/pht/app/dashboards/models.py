"""Figures prepared at load for the leaders' pages: both financing models per practice and year
(with the what-if coefficients) and the project funds per practice and year."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from pht.app.accounts.models import Practice


class FinancingSnapshot(models.Model):
    """One practice's year under both models (``pht.financing.snapshot``), as loaded."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="financing")
    year = models.PositiveSmallIntegerField(_("år"))
    data: Any = models.JSONField(_("tall"))
    loaded_at = models.DateTimeField(_("lastet"), auto_now=True)

    class Meta:
        ordering = ["practice", "year"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "year"], name="financing_once_a_year")
        ]

    def __str__(self) -> str:
        return f"{self.practice_id} {self.year}"


class ProjectFundsYear(models.Model):
    """Project funds of one practice in one year: to the practice and to its municipality."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="funds")
    year = models.PositiveSmallIntegerField(_("år"))
    gp_months = models.PositiveIntegerField(_("fastlegemåneder"))
    to_practice = models.DecimalField(_("til legekontoret"), max_digits=14, decimal_places=2)
    to_municipality = models.DecimalField(_("til kommunen"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["practice", "year"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "year"], name="funds_once_a_year")
        ]

    def __str__(self) -> str:
        return f"{self.practice_id} {self.year}"
