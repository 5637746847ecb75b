"""App configuration for outbox."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    """Durable work, below the clinical apps: claim, finish while the claim is mine, retry,
    sweep, hand to a worker; and the e-mail and SMS channels to patients.

    The clinical apps register their kinds of work in their own `ready()`.
    The map of all apps: docs/architecture.md.
    """

    name = "outbox"
    verbose_name = _("Durable work")
