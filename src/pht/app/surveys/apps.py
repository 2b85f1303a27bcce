"""Django app config for patient surveys."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    """Survey invitations, the patient's page, answers in the team's work and the evaluation."""

    name = "pht.app.surveys"
    label = "surveys"
    verbose_name = _("Spørreskjema")

    def ready(self) -> None:
        """Register the outbox hooks that make each invitation's single-use link at send time."""
        from pht.app.surveys import links

        links.register_hooks()
