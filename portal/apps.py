"""App configuration for portal."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """See DESIGN.md for this app's place in the layers."""

    name = "portal"
