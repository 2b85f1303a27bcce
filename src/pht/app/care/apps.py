"""Django app config for care."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    """Patients, follow-up plans, tasks and activities."""

    name = "pht.app.care"
    label = "care"
    verbose_name = _("Oppfølging")

    def ready(self) -> None:
        """Keep the worklist cache fresh (see :mod:`pht.app.care.freshness`); read the data's
        date once per request (:mod:`pht.app.care.clock`)."""
        from django.core import signals

        from pht.app.care import clock, freshness

        freshness.connect()
        signals.request_started.connect(clock.request_started, dispatch_uid="pht-clock-start")
        signals.request_finished.connect(clock.request_finished, dispatch_uid="pht-clock-end")
