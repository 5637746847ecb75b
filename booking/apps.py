"""App configuration for booking."""

from django.apps import AppConfig


class BookingConfig(AppConfig):
    """Clinical layer: will own calendars and bookings (coming); registers nothing yet.

    The map of all apps: docs/architecture.md.
    """

    name = "booking"
