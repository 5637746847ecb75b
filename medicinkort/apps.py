"""App configuration for medicinkort."""

from django.apps import AppConfig


class MedicinkortConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "medicinkort"
