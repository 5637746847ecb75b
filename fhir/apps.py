"""App configuration for fhir."""

from django.apps import AppConfig


class FhirConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "fhir"
