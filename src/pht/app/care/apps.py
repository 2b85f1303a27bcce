"""Django app config for care."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    """Patients, follow-up plans, tasks and activities."""

    name = "pht.app.care"
    label = "care"
    verbose_name = _("Oppfølging")
