"""Django app config for accounts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Users, roles, practices and municipalities."""

    name = "pht.app.accounts"
    label = "accounts"
    verbose_name = _("Brukere og roller")
