"""App configuration for medicinkort."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedicinkortConfig(AppConfig):
    """Clinical layer: owns the drug catalogue, hospital orders, the MAR, reconciliations, what is
    read of and written to FMK (snapshots, reads, the outbox) and the FMK client;
    registers the Medication tab, the overview panel "Current medication", `.med`, a timeline
    source, the work list marker "FMK not updated" and the admission hook that reads the card.

    The map of all apps: docs/architecture.md.
    """

    name = "medicinkort"
    verbose_name = _("Medication")

    def ready(self):
        from medicinkort import selectors, services, views
        from patients.registry import (
            CourseHook,
            OverviewPanel,
            PatientTab,
            TextMacro,
            TimelineSource,
            WorklistMarker,
            course_hooks,
            overview_panels,
            patient_tabs,
            text_macros,
            timeline_sources,
            worklist_markers,
        )

        patient_tabs.register(
            PatientTab("medication", _("Medication"), "medicinkort:medication", order=44)
        )
        overview_panels.register(
            OverviewPanel("medication", _("Current medication"), views.panel_medication, order=30)
        )
        course_hooks.register(CourseHook("fmk_read_on_admission", services.card_read_on_admission))
        from medicinkort.services.outbox import register_fmk_writes
        from medicinkort.services.reads import register_card_reads

        register_fmk_writes()
        register_card_reads()
        # FMK's breaker is probed while it fails; when FMK answers again, the writes waiting
        # leave at once (the engine) and the reads that could not reach it are asked again.
        from medicinkort.fmk.transport import probe
        from medicinkort.services.reads import card_reads_again
        from outbox.breaker import probe_register, recovery_register

        probe_register("fmk", probe)
        recovery_register(card_reads_again)
        text_macros.register(TextMacro("med", _("Current medication"), selectors.medication_text))
        timeline_sources.register(
            TimelineSource("medication", _("Medication"), selectors.timeline_medication)
        )
        worklist_markers.register(
            WorklistMarker("fmk_not_updated", selectors.fmk_not_updated_markers)
        )
