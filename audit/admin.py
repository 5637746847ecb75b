"""The read-only audit browser: filter and read the access log, never change it."""

from django.contrib import admin

from audit.models import AccessEvent, RightsChange


class AppendOnlyAdmin(admin.ModelAdmin):
    """An append-only log: read in admin, never added to, changed or deleted there."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessEvent)
class AccessEventAdmin(AppendOnlyAdmin):
    """Access events, read-only, with the filters an access reviewer needs."""

    list_display = (
        "occurred_at",
        "user_display",
        "role",
        "department_name",
        "patient_id",
        "action",
        "data_kind",
        "legal_basis",
        "flagged",
    )
    list_filter = ("legal_basis", "action", "flagged", "role", "data_kind", "department_name")
    date_hierarchy = "occurred_at"
    search_fields = ("user_display", "=patient_id", "=request_id", "reason")
    ordering = ("-occurred_at", "-id")
    show_full_result_count = False  # counting millions of rows makes the page slow


@admin.register(RightsChange)
class RightsChangeAdmin(AppendOnlyAdmin):
    """Who changed whose rights, roles and departments: read-only."""

    list_display = (
        "occurred_at",
        "changed_by_display",
        "target_display",
        "what",
        "before",
        "after",
    )
    list_filter = ("what",)
    search_fields = ("changed_by_display", "target_display", "=request_id")
    ordering = ("-occurred_at", "-id")
