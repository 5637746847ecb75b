"""App configuration for chart."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChartConfig(AppConfig):
    """Composition layer: owns the work list, overview and timeline, composed from the registries;
    registers nothing.

    The map of all apps: docs/architecture.md.
    """

    name = "chart"
    verbose_name = _("Chart")

    def ready(self):
        from patients.registry import PatientTab, patient_tabs

        patient_tabs.register(PatientTab("overview", _("Overview"), "chart:overview", order=10))
        patient_tabs.register(PatientTab("timeline", _("Timeline"), "chart:timeline", order=20))
