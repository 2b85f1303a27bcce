"""Django app configuration of the call."""

from django.apps import AppConfig


class CallConfig(AppConfig):
    """The call (utlysning): applications, assessment, selection, decisions, payments."""

    name = "pht.app.call"
    label = "call"
    verbose_name = "Utlysning"
    default_auto_field = "django.db.models.BigAutoField"
