"""App configuration for booking."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    """Clinical layer: calendars, bookings and what they start (reminders, waiting lists).

    Registers a source of care relations (a booking relates its department to the patient) with
    the access gate. The map of all apps: docs/architecture.md.
    """

    name = "booking"
    verbose_name = _("Booking")

    def ready(self):
        from booking import relations  # noqa: F401  (registers the booking relation source)
