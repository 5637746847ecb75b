"""Admin for the organisation: regions, hospitals, departments, staff and memberships."""

from django.contrib import admin

from organisation.models import Department, Hospital, Membership, Region, StaffMember


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
    """A staff member's departments."""

    model = Membership
    extra = 0
    autocomplete_fields = ("department",)


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


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Employments of staff members in departments."""

    list_display = ("staff", "department", "valid_from", "valid_to")
    list_filter = ("department",)
    search_fields = ("staff__user__username", "staff__user__last_name")
    autocomplete_fields = ("staff", "department")
    list_select_related = ("staff__user", "department__hospital")
