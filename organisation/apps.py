"""App configuration for organisation."""

from django.apps import AppConfig


class OrganisationConfig(AppConfig):
    """Layer organisation: owns regions, hospitals, departments, staff, rights; registers nothing.

    The map of all apps: docs/architecture.md.
    """

    name = "organisation"
