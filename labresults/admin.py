"""Admin for labresults: the catalogue (editable), MLLP senders and HTTP system clients, FHIR
sources, and read-only, audited views of reports and results; inbound messages without their
text (that is read in the queues, logged to its patient).
"""

from django.contrib import admin

from audit.models import DataKind
from labresults.models import (
    Analysis,
    FhirSource,
    InboundMessage,
    LabOrderMessage,
    LabReport,
    LabResult,
    MllpSender,
    Panel,
    ReferenceInterval,
    SystemClient,
)
from patients.admin import AuditedPatientAdmin

# The text of a message and its patient are patient data: admin shows how the integration is
# doing, never what a message says. A waiting message is read in the queues, logged to its
# patient; a processed one lives on in the patient's record.
_MESSAGE_TEXT = {"raw", "fixed_text", "matched_patient"}


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Inbound messages: sender, status and reason, without their text or patient."""

    list_display = ("received_at", "sender", "control_id", "message_type", "status", "attempts")
    list_filter = ("status", "transport", "message_type")
    search_fields = ("=control_id", "sender")
    fields = readonly_fields = [  # type: ignore[assignment]  # names, as admin takes them
        f.name for f in InboundMessage._meta.fields if f.name not in _MESSAGE_TEXT
    ]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LabReport)
class LabReportAdmin(AuditedPatientAdmin):
    """Reports as received; read-only (corrections come from the laboratory)."""

    data_kind = DataKind.LAB_RESULTS
    list_display = ("observed_at", "patient", "service_name", "filler_order_number", "status")
    list_filter = ("status", "sender")
    search_fields = ("=patient__cpr", "=filler_order_number", "=placer_order_number")
    list_select_related = ("patient",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LabResult)
class LabResultAdmin(AuditedPatientAdmin):
    """Results as received; read-only, their history in pghistory."""

    data_kind = DataKind.LAB_RESULTS
    list_display = ("observed_at", "patient", "code", "name", "value_text", "unit", "flag")
    list_filter = ("status", "flag")
    search_fields = ("=patient__cpr", "=code")
    list_select_related = ("patient",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MllpSender)
class MllpSenderAdmin(admin.ModelAdmin):
    """Laboratory systems allowed to send over MLLP, and from where."""

    list_display = ("name", "application", "facility", "certificate_subject", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "application", "facility")


@admin.register(SystemClient)
class SystemClientAdmin(admin.ModelAdmin):
    """Laboratory systems; tokens are made with `manage.py lab_client_create` and shown once."""

    list_display = ("name", "is_active", "created_at")
    readonly_fields = ("token_hash",)


class ReferenceIntervalInline(admin.TabularInline):
    model = ReferenceInterval
    extra = 1
    fields = ["sex", "age_from", "age_to", "low", "high"]


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    """The analysis catalogue: names, units, intervals by sex and age, critical limits."""

    list_display = ("code", "name", "short_name", "unit", "critical_low", "critical_high", "is_key")
    list_filter = ("is_key", "is_active")
    search_fields = ("code", "name", "short_name")
    inlines = [ReferenceIntervalInline]


@admin.register(Panel)
class PanelAdmin(admin.ModelAdmin):
    """Panels ordered with one click."""

    list_display = ("name", "is_active")
    filter_horizontal = ("analyses",)


@admin.register(FhirSource)
class FhirSourceAdmin(admin.ModelAdmin):
    """Laboratories' FHIR endpoints that are pulled for reports."""

    list_display = ("name", "base_url", "is_active", "pulled_until", "last_error")
    readonly_fields = ("pulled_until", "last_error")


@admin.register(LabOrderMessage)
class LabOrderMessageAdmin(admin.ModelAdmin):
    """Order messages to the laboratory: their state and reason, read-only (the order itself,
    with the patient, is on the patient's record)."""

    list_display = ("created_at", "status", "attempts", "finished_at", "reason")
    list_filter = ("status",)
    fields = readonly_fields = ("status", "attempts", "due_at", "claimed_at", "handed_at",
                                "finished_at", "reason")  # fmt: skip
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
