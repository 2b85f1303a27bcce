"""Django app config for the audit log."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """Audit log."""

    name = "pht.app.audit"
    label = "audit"
    verbose_name = _("Logg")
