"""App configuration for audit."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Layer audit: owns the append-only access log and record of rights changes; registers nothing.

    The map of all apps: docs/architecture.md.
    """

    name = "audit"
