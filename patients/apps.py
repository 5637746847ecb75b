"""App configuration for patients."""

from django.apps import AppConfig


class PatientsConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "patients"
