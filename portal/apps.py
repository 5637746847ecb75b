"""App configuration for portal."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Composition layer: will own Min Sundhedsplatform (coming); registers nothing yet.

    The map of all apps: docs/architecture.md.
    """

    name = "portal"
