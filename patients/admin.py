"""Admin for patients and their records: audited, and never deleting a clinical record."""

import pghistory.models
from django.contrib import admin

from audit.models import Action, DataKind, LegalBasis
from patients.access import access_events_for_list, response_discloses
from patients.models import Blocking, BreakGlass, CareCourse, CaveEntry, Patient, Proxy


class AuditedPatientAdmin(admin.ModelAdmin):
    """Every admin page that shows a patient's data writes its access events (administration).

    The list and the autocomplete (`audit_listed`), the change page (also when a form comes back
    with errors), the history page with the row's change history from pghistory, and a save.
    Deleting is refused: clinical records are corrected or marked, never removed
    (docs/architecture.md, rule 2).
    """

    data_kind = DataKind.ADMIN
    object_history_template = "admin/audited_object_history.html"

    def _patient_id(self, obj):
        return obj.pk if isinstance(obj, Patient) else obj.patient_id

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def audit_listed(self, request, objs) -> None:
        """These rows were shown in a list or an autocomplete answer: one event per patient."""
        ids = sorted({pid for pid in (self._patient_id(obj) for obj in objs) if pid})
        access_events_for_list(
            user=request.user,
            patients=ids,
            data_kind=self.data_kind,
            action=Action.LIST,
            legal_basis=LegalBasis.ADMINISTRATION,
            path=request.path,
        )

    def _audit_object(self, request, obj, action=Action.VIEW) -> None:
        patient_id = self._patient_id(obj)
        if patient_id:
            access_events_for_list(
                user=request.user,
                patients=[patient_id],
                data_kind=self.data_kind,
                action=action,
                legal_basis=LegalBasis.ADMINISTRATION,
                path=request.path,
                obj=obj,
            )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}) or {}
        result = changelist.get("cl")
        if result is not None and response_discloses(request, response):
            self.audit_listed(request, list(result.result_list))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        obj = (getattr(response, "context_data", {}) or {}).get("original")
        if obj is not None and response_discloses(request, response):
            self._audit_object(request, obj)
        return response

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, admin.utils.unquote(object_id))
        events = []
        if obj is not None and self.has_view_or_change_permission(request, obj):
            events = list(
                pghistory.models.Events.objects.tracks(obj).order_by("-pgh_created_at")[:200]
            )
        response = super().history_view(
            request, object_id, {**(extra_context or {}), "change_history": events}
        )
        if obj is not None and response_discloses(request, response):
            self._audit_object(request, obj)
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._audit_object(request, obj, Action.UPDATE if change else Action.CREATE)


@admin.register(Patient)
class PatientAdmin(AuditedPatientAdmin):
    """Patients: identity and contact details."""

    data_kind = DataKind.DEMOGRAPHICS
    list_display = ("cpr", "family_name", "given_names", "birth_date", "sex", "deceased_date")
    search_fields = ("=cpr", "family_name", "given_names")
    list_filter = ("sex", "is_replacement_cpr", "protected_address")
    readonly_fields = ("public_id", "created_at", "updated_at")
    autocomplete_fields = ("user",)
    show_full_result_count = False


@admin.register(CareCourse)
class CareCourseAdmin(AuditedPatientAdmin):
    """Care courses (forløb)."""

    data_kind = DataKind.CARE_COURSE
    list_display = ("title", "patient", "department", "kind", "started_at", "ended_at")
    list_filter = ("kind", "department")
    search_fields = ("=patient__cpr", "title")
    autocomplete_fields = ("patient", "department", "responsible")
    list_select_related = ("patient", "department__hospital")


@admin.register(CaveEntry)
class CaveEntryAdmin(AuditedPatientAdmin):
    """CAVE entries; wrong ones are marked entered in error, with who and why."""

    data_kind = DataKind.CAVE
    list_display = ("substance", "patient", "severity", "status", "source")
    list_filter = ("status", "severity", "kind", "source")
    search_fields = ("=patient__cpr", "substance", "atc_code")
    autocomplete_fields = ("patient",)
    readonly_fields = ("recorded_by", "error_by", "error_at")
    list_select_related = ("patient",)


@admin.register(Blocking)
class BlockingAdmin(AuditedPatientAdmin):
    """The patients' blockings (spærringer)."""

    data_kind = DataKind.BLOCKING
    list_display = ("patient", "care_course", "department", "requested_by_patient", "revoked_at")
    list_filter = ("requested_by_patient",)
    search_fields = ("=patient__cpr",)
    autocomplete_fields = ("patient", "care_course", "department")
    list_select_related = ("patient", "care_course", "department")

    # A blocking is the patient's: set and lifted on the patient's blockings page (by the
    # patient, or administration on the patient's written request), never edited here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Proxy)
class ProxyAdmin(AuditedPatientAdmin):
    """Parents of children under 15 (from the CPR register) are entered here; a power of
    attorney is given and withdrawn by the patient in the portal, so it is only read here."""

    data_kind = DataKind.PROXY
    list_display = ("subject", "holder", "kind", "valid_from", "valid_until", "withdrawn_at")
    list_filter = ("kind",)
    search_fields = ("=subject__cpr", "=holder__cpr")
    autocomplete_fields = ("subject", "holder")
    list_select_related = ("subject", "holder")
    fields = ("subject", "holder", "kind", "valid_from", "valid_until", "withdrawn_at")

    def _patient_id(self, obj):
        return obj.subject_id

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.kind == Proxy.Kind.POWER_OF_ATTORNEY:
            return self.fields
        return ("kind",) if obj is not None else ()

    def get_changeform_initial_data(self, request):
        from django.utils import timezone

        return {"kind": Proxy.Kind.PARENT, "valid_from": timezone.now()}

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
            obj.kind = Proxy.Kind.PARENT
        super().save_model(request, obj, form, change)


@admin.register(BreakGlass)
class BreakGlassAdmin(AuditedPatientAdmin):
    """Break-the-glass grants: read-only here; reviewed in the review queue."""

    data_kind = DataKind.BREAK_GLASS
    list_display = ("started_at", "user", "patient", "department", "expires_at", "reviewed_at")
    list_filter = ("reviewed_at", "department")
    search_fields = ("=patient__cpr", "user__username", "reason")
    list_select_related = ("patient", "user", "department")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
