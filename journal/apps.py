"""App configuration for journal."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JournalConfig(AppConfig):
    """Clinical layer: owns notes, SKS diagnoses and vital signs; registers tabs, overview panels,
    timeline sources and macros.

    The map of all apps: docs/architecture.md.
    """

    name = "journal"
    verbose_name = _("Journal")

    def ready(self):
        from journal import macros, selectors
        from patients.registry import (
            OverviewPanel,
            PatientTab,
            TextMacro,
            TimelineSource,
            WorklistMarker,
            overview_panels,
            patient_tabs,
            text_macros,
            timeline_sources,
            worklist_markers,
        )

        patient_tabs.register(PatientTab("notes", _("Notes"), "journal:notes", order=30))
        worklist_markers.register(WorklistMarker("journal", selectors.worklist_markers))
        patient_tabs.register(
            PatientTab("diagnoses", _("Diagnoses"), "journal:diagnoses", order=40)
        )
        patient_tabs.register(PatientTab("vitals", _("Vital signs"), "journal:vitals", order=50))
        patient_tabs.register(PatientTab("messages", _("Messages"), "journal:messages", order=85))
        overview_panels.register(
            OverviewPanel(
                "diagnoses", _("Active problems and diagnoses"), macros.panel_diagnoses, 10
            )
        )
        overview_panels.register(
            OverviewPanel("vitals", _("Vital signs"), macros.panel_vitals, order=20)
        )
        overview_panels.register(
            OverviewPanel("notes", _("Latest notes"), macros.panel_notes, order=30)
        )
        timeline_sources.register(TimelineSource("note", _("Notes"), selectors.timeline_notes))
        timeline_sources.register(
            TimelineSource("diagnosis", _("Diagnoses"), selectors.timeline_diagnoses)
        )
        timeline_sources.register(
            TimelineSource("vitals", _("Vital signs"), selectors.timeline_vitals)
        )
        text_macros.register(TextMacro("cave", _("CAVE entries"), macros.expand_cave))
        text_macros.register(TextMacro("diag", _("Active diagnoses"), macros.expand_diagnoses))
        text_macros.register(TextMacro("vitale", _("Latest vital signs"), macros.expand_vitals))
