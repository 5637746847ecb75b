"""Admin for calendars: resources with their weekly rules and exceptions, appointment types.
Bookings hold patient data and are kept out of admin: they are read through the gate."""

from django.contrib import admin

from booking.models import AppointmentType, Resource, ScheduleException, ScheduleRule


class ScheduleRuleInline(admin.TabularInline):
    model = ScheduleRule
    extra = 0
    filter_horizontal = ["appointment_types"]


class ScheduleExceptionInline(admin.TabularInline):
    model = ScheduleException
    extra = 0


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "department", "is_active"]
    list_filter = ["kind", "department", "is_active"]
    search_fields = ["name"]
    autocomplete_fields = ["staff"]
    inlines = [ScheduleRuleInline, ScheduleExceptionInline]


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "duration_minutes", "patient_may_book", "is_video"]
    list_filter = ["department", "patient_may_book", "is_video", "is_active"]
    search_fields = ["name", "code"]
