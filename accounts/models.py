"""The user model: one row per person who signs in (staff or patient)."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in; staff details live in organisation, patients in patients."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("e-mail address"), blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Giving rights is its own right: change_user alone edits names and e-mail addresses.
        permissions = [("administer_access", _("Administer users' rights, roles and departments"))]
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_unique_ci",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username
