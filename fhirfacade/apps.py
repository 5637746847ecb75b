"""App configuration for fhirfacade, the FHIR R4 facade.

Not named `fhir`: that is the namespace package of fhir.resources, which an app of that name
would shadow.
"""

from django.apps import AppConfig


class FhirConfig(AppConfig):
    """Composition layer: will own the FHIR R4 facade (coming); registers nothing yet.

    The map of all apps: docs/architecture.md.
    """

    name = "fhirfacade"
