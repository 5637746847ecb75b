"""App configuration for labresults."""

from django.apps import AppConfig


class LabresultsConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "labresults"
