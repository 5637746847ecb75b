"""Common: BaseModel and small shared helpers, no domain."""

from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Bottom layer: owns BaseModel, the request id context and small helpers; registers nothing.

    The map of all apps: docs/architecture.md.
    """

    name = "common"
