"""Demo data for `make run`: it sits in the project layer because it fills every app."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Management commands seed_demo and demo_logins."""

    name = "sundhed.demo"
    label = "demo"
