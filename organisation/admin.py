"""Admin for the organisation: regions, hospitals, departments, staff, memberships and users.

Rights are their own right (`accounts.administer_access`): only holders change someone's
superuser, admin access, permissions, role or departments; only a superuser makes a superuser;
nobody changes their own. Every such change is written to `audit.RightsChange`.
"""

from typing import Any

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from accounts.admin import SundhedUserAdmin
from accounts.models import User
from audit.services import rights_change_record
from organisation.models import Department, Hospital, Membership, Region, StaffMember

RIGHTS_PERMISSION = "accounts.administer_access"
USER_RIGHTS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")
STAFF_RIGHTS = ("user", "role", "is_access_reviewer", "requires_cosign")


def may_administer_access(request, target_user=None) -> bool:
    """Whether this admin user may change the rights of `target_user` (never their own)."""
    if target_user is not None and target_user.pk == request.user.pk:
        return False
    return request.user.is_superuser or request.user.has_perm(RIGHTS_PERMISSION)


def _memberships(staff) -> set:
    return {
        f"{m.department} ({m.valid_from:%Y-%m-%d}–{m.valid_to or ''})"
        for m in staff.memberships.select_related("department")
    }


def _departments_recorded(request, staff, before: set) -> None:
    """Record the change of a staff member's departments (nothing if none)."""
    rights_change_record(
        changed_by=request.user,
        target=staff.user,
        what="staff.departments",
        before=before,
        after=_memberships(staff),
    )


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """Regions."""

    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    """Hospitals with their SOR codes."""

    list_display = ("name", "short_name", "sor_code", "region")
    list_filter = ("region",)
    search_fields = ("name", "short_name", "sor_code")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    """Departments with their SOR codes."""

    list_display = ("name", "short_name", "sor_code", "hospital", "kind", "is_active")
    list_filter = ("hospital", "kind", "is_active")
    search_fields = ("name", "short_name", "sor_code")


class MembershipInline(admin.TabularInline):
    """A staff member's departments: changed only by those who administer rights."""

    model = Membership
    extra = 0
    autocomplete_fields = ("department",)

    def _allowed(self, request, obj):
        return may_administer_access(request, obj.user if obj is not None else None)

    def has_add_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_delete_permission(request, obj)


class StaffMemberForm(forms.ModelForm):
    request_user: Any = None  # who is changing it (set by the admin's get_form)
    """A staff member; nobody makes a staff member of their own user."""

    class Meta:
        model = StaffMember
        fields = [
            "user",
            "role",
            "title",
            "authorisation_id",
            "requires_cosign",
            "is_access_reviewer",
            "active_department",
        ]

    def clean_user(self):
        user = self.cleaned_data["user"]
        if user is not None and user.pk == self.request_user.pk:
            raise forms.ValidationError(_("Nobody changes their own rights."))
        return user


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    """Staff members: role, authorisation id, departments."""

    list_display = (
        "__str__",
        "role",
        "title",
        "authorisation_id",
        "active_department",
        "is_access_reviewer",
    )
    list_filter = ("role", "is_access_reviewer", "requires_cosign", "departments")
    search_fields = ("user__username", "user__first_name", "user__last_name", "authorisation_id")
    autocomplete_fields = ("user", "active_department")
    inlines = [MembershipInline]
    list_select_related = ("user", "active_department")
    form = StaffMemberForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        form: Any = super().get_form(request, obj, change, **kwargs)
        form.request_user = request.user
        return form

    def has_add_permission(self, request):
        return may_administer_access(request) and super().has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not may_administer_access(request, obj.user):
            return STAFF_RIGHTS
        return ()

    def save_model(self, request, obj, form, change):
        before = StaffMember.objects.filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        for field in ("role", "is_access_reviewer", "requires_cosign"):
            rights_change_record(
                changed_by=request.user,
                target=obj.user,
                what=f"staff.{field}",
                before=getattr(before, field) if before else None,
                after=getattr(obj, field),
            )

    def save_related(self, request, form, formsets, change):
        staff = form.instance
        before = _memberships(staff) if change else set()
        super().save_related(request, form, formsets, change)
        _departments_recorded(request, staff, before)


class MembershipForm(forms.ModelForm):
    """A membership; nobody employs themselves."""

    request_user: Any = None  # who is changing it (set by the admin's get_form)

    class Meta:
        model = Membership
        fields = ["staff", "department", "valid_from", "valid_to"]

    def clean_staff(self):
        staff = self.cleaned_data["staff"]
        if staff.user_id == self.request_user.pk:
            raise forms.ValidationError(_("Nobody changes their own departments."))
        return staff


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Employments of staff members in departments."""

    form = MembershipForm
    list_display = ("staff", "department", "valid_from", "valid_to")
    list_filter = ("department",)
    search_fields = ("staff__user__username", "staff__user__last_name")
    autocomplete_fields = ("staff", "department")
    list_select_related = ("staff__user", "department__hospital")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form: Any = super().get_form(request, obj, change, **kwargs)
        form.request_user = request.user
        return form

    def _allowed(self, request, obj):
        return may_administer_access(request, obj.staff.user if obj is not None else None)

    def has_add_permission(self, request):
        return may_administer_access(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        before = _memberships(obj.staff) if obj.staff_id else set()
        super().save_model(request, obj, form, change)
        _departments_recorded(request, obj.staff, before)

    def delete_model(self, request, obj):
        staff, before = obj.staff, _memberships(obj.staff)
        super().delete_model(request, obj)
        _departments_recorded(request, staff, before)


admin.site.unregister(User)


@admin.register(User)
class UserRightsAdmin(SundhedUserAdmin):
    """Users; their rights change only by holders of `administer_access`, and never their own.

    A superuser or a holder of `administer_access` is changed (password, e-mail) only by a
    superuser: otherwise `change_user` alone would take over the accounts that hold the keys.
    """

    def has_change_permission(self, request, obj=None):
        if (
            obj is not None
            and not request.user.is_superuser
            and obj.pk != request.user.pk
            and (obj.is_superuser or obj.has_perm(RIGHTS_PERMISSION))
        ):
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        if not may_administer_access(request, obj):
            return fields + USER_RIGHTS
        if not request.user.is_superuser:
            return (*fields, "is_superuser")
        return fields

    def save_model(self, request, obj, form, change):
        before = User.objects.filter(pk=obj.pk).first() if change else None
        if before is not None and obj.pk == request.user.pk:
            for field in ("is_active", "is_staff", "is_superuser"):
                if getattr(before, field) != getattr(obj, field):
                    raise PermissionDenied(_("Nobody changes their own rights."))
        super().save_model(request, obj, form, change)
        for field in ("is_active", "is_staff", "is_superuser"):
            rights_change_record(
                changed_by=request.user,
                target=obj,
                what=f"user.{field}",
                before=getattr(before, field) if before else None,
                after=getattr(obj, field),
            )

    def save_related(self, request, form, formsets, change):
        user = form.instance
        before = {
            "groups": {str(g) for g in user.groups.all()},
            "user_permissions": {p.codename for p in user.user_permissions.all()},
        }
        super().save_related(request, form, formsets, change)
        after = {
            "groups": {str(g) for g in user.groups.all()},
            "user_permissions": {p.codename for p in user.user_permissions.all()},
        }
        for what in before:
            rights_change_record(
                changed_by=request.user,
                target=user,
                what=f"user.{what}",
                before=before[what],
                after=after[what],
            )


admin.site.unregister(Group)


@admin.register(Group)
class GroupRightsAdmin(GroupAdmin):
    """Groups carry permissions: the same rule as a user's rights, and never one's own group."""

    def _allowed(self, request, obj=None) -> bool:
        if obj is not None and request.user.groups.filter(pk=obj.pk).exists():
            return False
        return may_administer_access(request)

    def has_add_permission(self, request):
        return self._allowed(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_delete_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        group = form.instance
        before = {p.codename for p in group.permissions.all()} if change else set()
        super().save_related(request, form, formsets, change)
        for member in group.user_set.all():
            rights_change_record(
                changed_by=request.user,
                target=member,
                what=f"group.{group.name}",
                before=before,
                after={p.codename for p in group.permissions.all()},
            )


if Authenticator in admin.site._registry:
    admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    """Second factors: seen and removed only by superusers (removing one opens the account to a
    password alone until its owner sets up a new one)."""

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    raw_id_fields = ("user",)
    readonly_fields = ("data",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
