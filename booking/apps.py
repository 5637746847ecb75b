"""App configuration for booking."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    """Clinical layer: calendars, bookings and what they start (reminders, waiting lists).

    Registers a source of care relations (a booking relates its department to the patient) with
    the access gate, the Appointments tab, an overview panel and a timeline source, and its two
    kinds of messages to patients (reminders, offers of freed times) with the outbox.

    The map of all apps: docs/architecture.md.
    """

    name = "booking"
    verbose_name = _("Booking")

    def ready(self):
        from booking import (
            relations,  # noqa: F401  (registers the booking relation source)
            selectors,
        )
        from booking.services.external import external_appointment_file
        from patients.registry import (
            InboundHandler,
            OverviewPanel,
            PatientTab,
            TimelineSource,
            inbound_handlers,
            overview_panels,
            patient_tabs,
            timeline_sources,
        )

        inbound_handlers.register(InboundHandler("SIU", external_appointment_file))
        from booking.services.reminders import register_reminders
        from booking.services.waiting import register_freed_times, register_offer_messages

        register_reminders()
        register_offer_messages()
        register_freed_times()
        patient_tabs.register(
            PatientTab("bookings", _("Appointments"), "booking:patient", order=46)
        )
        overview_panels.register(
            OverviewPanel("bookings", _("Appointments"), selectors.panel_bookings, order=60)
        )
        timeline_sources.register(
            TimelineSource("booking", _("Appointments"), selectors.timeline_bookings)
        )
