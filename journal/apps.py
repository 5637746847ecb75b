"""App configuration for journal."""

from django.apps import AppConfig


class JournalConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "journal"
