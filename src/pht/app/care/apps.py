"""Django app config for care."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    """Patients, follow-up plans, tasks and activities."""

    name = "pht.app.care"
    label = "care"
    verbose_name = _("Oppfølging")

    def ready(self) -> None:
        """Keep the worklist cache fresh (see :mod:`pht.app.care.freshness`)."""
        from pht.app.care import freshness

        freshness.connect()
