"""App configuration for booking."""

from django.apps import AppConfig


class BookingConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "booking"
