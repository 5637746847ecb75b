"""App configuration for portal."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Composition layer: Min Sundhedsplatform, the citizen's own record (sign-in with MitID,
    overview, who has looked).

    The map of all apps: docs/architecture.md.
    """

    name = "portal"

    def ready(self) -> None:
        from portal import signin

        signin.connect_signals()
