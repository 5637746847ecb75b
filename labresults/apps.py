"""App configuration for labresults."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LabresultsConfig(AppConfig):
    """Clinical layer: owns inbound messages, results, orders, the inbox and imaging;
    registers tabs, a panel, a timeline source and .labs.

    The map of all apps: docs/architecture.md.
    """

    name = "labresults"
    verbose_name = _("Laboratory results")

    def ready(self):
        from labresults import selectors, views
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

        patient_tabs.register(PatientTab("results", _("Results"), "labresults:results", order=45))
        patient_tabs.register(PatientTab("imaging", _("Imaging"), "labresults:imaging", order=46))
        overview_panels.register(
            OverviewPanel("results", _("Latest key results"), views.panel_results, order=40)
        )
        timeline_sources.register(
            TimelineSource("lab", _("Laboratory results"), selectors.timeline_reports)
        )
        text_macros.register(TextMacro("labs", _("Latest key results"), selectors.labs_text))
        worklist_markers.register(WorklistMarker("labresults", selectors.worklist_markers))
        from labresults.services.imaging import register_dicom_objects
        from labresults.services.orders import register_order_messages
        from labresults.services.processing import register_inbound_messages

        register_inbound_messages()
        register_order_messages()
        register_dicom_objects()
