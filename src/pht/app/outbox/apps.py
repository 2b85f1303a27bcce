"""Django app config for the outbox."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    """Messages to patients, queued and sent by channel."""

    name = "pht.app.outbox"
    label = "outbox"
    verbose_name = _("Utboks")
