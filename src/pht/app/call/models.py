"""The call's case file, stored as the domain's own JSON (``pht.call.CallCase``).

One row per call. The domain objects are the source of truth for the rules (validation,
selection, four eyes); the database only keeps them, and which municipality owns which
application (so a municipality sees and edits only its own).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from pht.call.case import CallCase


class CallCaseRecord(models.Model):
    """The case file of one call."""

    call_id = models.CharField(_("utlysning"), max_length=40, primary_key=True)
    data = models.JSONField(_("saksmappe"))
    owners = models.JSONField(_("eiere"), default=dict)  # application id → kommunenummer
    updated_at = models.DateTimeField(_("endret"), auto_now=True)

    class Meta:
        verbose_name = _("saksmappe for utlysning")
        verbose_name_plural = _("saksmapper for utlysninger")

    def __str__(self) -> str:
        return self.call_id

    @property
    def case(self) -> CallCase:
        """The case file as domain objects."""
        return CallCase.model_validate(self.data)

    def store(self, case: CallCase, **extra: Any) -> None:
        """Keep *case* (and any other changed fields)."""
        self.data = case.model_dump(mode="json")
        for key, value in extra.items():
            setattr(self, key, value)
        self.save()
