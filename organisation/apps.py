"""App configuration for organisation."""

from django.apps import AppConfig


class OrganisationConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "organisation"
