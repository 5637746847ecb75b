"""Admin for users."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class SundhedUserAdmin(UserAdmin):
    """The stock user admin, with the public id shown."""

    readonly_fields = ("public_id", "last_login", "date_joined")
