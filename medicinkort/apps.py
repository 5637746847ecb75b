"""App configuration for medicinkort."""

from django.apps import AppConfig


class MedicinkortConfig(AppConfig):
    """Clinical layer: will own medication and FMK (coming); registers nothing yet.

    The map of all apps: docs/architecture.md.
    """

    name = "medicinkort"
