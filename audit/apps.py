"""App configuration for audit."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "audit"
