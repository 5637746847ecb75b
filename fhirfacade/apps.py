"""App configuration for fhirfacade, the FHIR R4 facade.

Not named `fhir`: that is the namespace package of fhir.resources, which an app of that name
would shadow.
"""

from django.apps import AppConfig


class FhirConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "fhirfacade"
