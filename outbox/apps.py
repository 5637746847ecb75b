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

    def ready(self) -> None:
        from outbox import engine
        from outbox.breaker import recovery_register

        # A breaker closing after failures makes its kinds' waiting work due at once.
        recovery_register(engine.breaker_recovered)
