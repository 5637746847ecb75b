"""App configuration for patients."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    """Layer patients: owns patients, courses, CAVE, blockings, the access gate and registries;
    registers tabs and a timeline source.

    The map of all apps: docs/architecture.md.
    """

    name = "patients"
    verbose_name = _("Patients")

    def ready(self):
        from patients.registry import (
            PatientTab,
            TimelineSource,
            WorklistMarker,
            patient_tabs,
            timeline_sources,
            worklist_markers,
        )
        from patients.selectors import cave_worklist_markers, timeline_courses

        patient_tabs.register(PatientTab("patient", _("Patient"), "patients:detail", order=90))
        patient_tabs.register(
            PatientTab("access_log", _("Who has looked"), "patients:access_log", order=95)
        )
        patient_tabs.register(
            PatientTab("blockings", _("Blockings"), "patients:blockings", order=96)
        )
        timeline_sources.register(TimelineSource("course", _("Care courses"), timeline_courses))
        worklist_markers.register(WorklistMarker("cave", cave_worklist_markers))
