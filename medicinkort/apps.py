"""App configuration for medicinkort."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedicinkortConfig(AppConfig):
    """Clinical layer: owns what is read of the FMK card (snapshots, reads) and the FMK client;
    registers the Medication tab and the overview panel "Current medication".

    The map of all apps: docs/architecture.md.
    """

    name = "medicinkort"
    verbose_name = _("Medication")

    def ready(self):
        from medicinkort import services, views
        from patients.registry import (
            CourseHook,
            OverviewPanel,
            PatientTab,
            course_hooks,
            overview_panels,
            patient_tabs,
        )

        patient_tabs.register(
            PatientTab("medication", _("Medication"), "medicinkort:medication", order=44)
        )
        overview_panels.register(
            OverviewPanel("medication", _("Current medication"), views.panel_medication, order=30)
        )
        course_hooks.register(CourseHook("fmk_read_on_admission", services.card_read_on_admission))
