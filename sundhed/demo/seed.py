"""The demo data of `make run`, built once and deterministically."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

DEMO_PASSWORD = "sundhed-demo"  # noqa: S105 - printed by make run; development only


@dataclass(frozen=True)
class DemoLogin:
    """One demo login as printed by make run."""

    username: str
    role: str
    where: str


def demo_logins() -> list[DemoLogin]:
    """The named demo logins, one per role."""
    return [DemoLogin("admin", "administrator (Django admin)", "")]


@transaction.atomic
def seed_demo() -> bool:
    """Build the demo data unless it exists; True when it was built now."""
    user_model = get_user_model()
    if user_model.objects.filter(username="admin").exists():
        return False
    user_model.objects.create_superuser(
        username="admin",
        email="admin@sundhed.invalid",
        password=DEMO_PASSWORD,
        first_name="Demo",
        last_name="Administrator",
    )
    return True
