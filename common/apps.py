"""Common: BaseModel and small shared helpers, no domain."""

from django.apps import AppConfig


class CommonConfig(AppConfig):
    """The bottom layer."""

    name = "common"
