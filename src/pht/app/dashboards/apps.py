"""Django app config for dashboards."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    """Practice dashboards."""

    name = "pht.app.dashboards"
    label = "dashboards"
    verbose_name = _("Oversikter")
