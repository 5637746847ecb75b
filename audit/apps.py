"""App configuration for audit."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    """Layer audit: owns the append-only access log and record of rights changes; after every
    migrate it installs the history functions without subtransactions (audit/history.py).

    The map of all apps: docs/architecture.md.
    """

    name = "audit"

    def ready(self):
        from audit.history import history_functions_install

        post_migrate.connect(history_functions_install, sender=self)
