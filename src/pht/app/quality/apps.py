"""Django app config for quality-improvement cycles."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    """Quality-improvement cycles."""

    name = "pht.app.quality"
    label = "quality"
    verbose_name = _("Kvalitetsforbedring")
