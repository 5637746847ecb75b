"""App configuration for chart."""

from django.apps import AppConfig


class ChartConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "chart"
