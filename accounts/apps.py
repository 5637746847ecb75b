"""Accounts: the user model and sign-in."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Layer accounts: owns the User, sign-in (allauth) and the second factor; registers nothing.

    The map of all apps: docs/architecture.md.
    """

    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from accounts import signals  # noqa: F401
