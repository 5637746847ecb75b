"""Admin for patients and their records: audited, and never deleting a clinical record."""

from django.contrib import admin

from audit.models import Action, LegalBasis
from audit.services import access_event_record, access_events_record_many
from patients.access import actor_for
from patients.models import Blocking, BreakGlass, CareCourse, CaveEntry, Patient


class AuditedPatientAdmin(admin.ModelAdmin):
    """Every page of a patient's data in admin writes access events (legal basis administration).

    Deleting is refused: clinical records are corrected or marked, never removed (DESIGN.md).
    """

    data_kind = "admin"

    def _patient_id(self, obj):
        return obj.pk if isinstance(obj, Patient) else obj.patient_id

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}) or {}
        result = changelist.get("cl")
        if response.status_code == 200 and result is not None:
            rows = list(result.result_list)
            access_events_record_many(
                actor=actor_for(request.user),
                patient_ids=sorted({self._patient_id(obj) for obj in rows}) or [None],
                data_kind=self.data_kind,
                action=Action.LIST,
                legal_basis=LegalBasis.ADMINISTRATION,
                path=request.path,
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = (getattr(response, "context_data", {}) or {}).get("original")
        if obj is not None and response.status_code == 200:
            access_event_record(
                actor=actor_for(request.user),
                patient_id=self._patient_id(obj),
                data_kind=self.data_kind,
                action=Action.VIEW,
                legal_basis=LegalBasis.ADMINISTRATION,
                object_type=obj._meta.label_lower,
                object_id=str(obj.public_id),
                path=request.path,
            )
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        access_event_record(
            actor=actor_for(request.user),
            patient_id=self._patient_id(obj),
            data_kind=self.data_kind,
            action=Action.UPDATE if change else Action.CREATE,
            legal_basis=LegalBasis.ADMINISTRATION,
            object_type=obj._meta.label_lower,
            object_id=str(obj.public_id),
            path=request.path,
        )


@admin.register(Patient)
class PatientAdmin(AuditedPatientAdmin):
    """Patients: identity and contact details."""

    data_kind = "demographics"
    list_display = ("cpr", "family_name", "given_names", "birth_date", "sex", "deceased_date")
    search_fields = ("=cpr", "family_name", "given_names")
    list_filter = ("sex", "is_replacement_cpr", "protected_address")
    readonly_fields = ("public_id", "created_at", "updated_at")
    autocomplete_fields = ("user",)
    show_full_result_count = False


@admin.register(CareCourse)
class CareCourseAdmin(AuditedPatientAdmin):
    """Care courses (forløb)."""

    data_kind = "care_course"
    list_display = ("title", "patient", "department", "kind", "started_at", "ended_at")
    list_filter = ("kind", "department")
    search_fields = ("=patient__cpr", "title")
    autocomplete_fields = ("patient", "department", "responsible")
    list_select_related = ("patient", "department__hospital")


@admin.register(CaveEntry)
class CaveEntryAdmin(AuditedPatientAdmin):
    """CAVE entries; wrong ones are marked entered in error, with who and why."""

    data_kind = "cave"
    list_display = ("substance", "patient", "severity", "status", "source")
    list_filter = ("status", "severity", "kind", "source")
    search_fields = ("=patient__cpr", "substance", "atc_code")
    autocomplete_fields = ("patient",)
    readonly_fields = ("recorded_by", "error_by", "error_at")
    list_select_related = ("patient",)


@admin.register(Blocking)
class BlockingAdmin(AuditedPatientAdmin):
    """The patients' blockings (spærringer)."""

    data_kind = "blocking"
    list_display = ("patient", "care_course", "department", "requested_by_patient", "revoked_at")
    list_filter = ("requested_by_patient",)
    search_fields = ("=patient__cpr",)
    autocomplete_fields = ("patient", "care_course", "department")
    readonly_fields = ("created_by", "revoked_by")
    list_select_related = ("patient", "care_course", "department")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(BreakGlass)
class BreakGlassAdmin(AuditedPatientAdmin):
    """Break-the-glass grants: read-only here; reviewed in the review queue."""

    data_kind = "break_glass"
    list_display = ("started_at", "user", "patient", "department", "expires_at", "reviewed_at")
    list_filter = ("reviewed_at", "department")
    search_fields = ("=patient__cpr", "user__username", "reason")
    list_select_related = ("patient", "user", "department")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
