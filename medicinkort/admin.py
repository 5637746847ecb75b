"""Admin for medicinkort: the drug catalogue and the interaction table (editable), and
read-only, audited views of the FMK outbox and reads (integration staff follow them there)."""

from django.contrib import admin

from audit.models import DataKind
from medicinkort.models import CardRead, Drug, FmkWrite, Interaction, MedicationOrder
from patients.admin import AuditedPatientAdmin


@admin.register(Drug)
class DrugAdmin(admin.ModelAdmin):
    """The drug catalogue: bundled, loaded with `load_drugs`, edited here."""

    list_display = ("name", "strength", "form_text", "atc_code", "route_text", "is_active")
    list_filter = ("is_active", "route_code", "form_code")
    search_fields = ("name", "substance", "=atc_code")


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    """The interaction table (in the shape of the Danish interaction database)."""

    list_display = ("substance_a", "atc_a", "substance_b", "atc_b", "severity")
    list_filter = ("severity",)
    search_fields = ("substance_a", "substance_b", "atc_a", "atc_b")


class _ReadOnly(AuditedPatientAdmin):
    data_kind = DataKind.MEDICATION
    list_select_related = ("patient",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FmkWrite)
class FmkWriteAdmin(_ReadOnly):
    """The outbox: what waits for FMK, what was refused and why."""

    list_display = ("created_at", "patient", "sequence", "operation", "status", "attempts",
                    "reason")  # fmt: skip
    list_filter = ("status", "operation")
    search_fields = ("=patient__cpr", "=message_id")


@admin.register(CardRead)
class CardReadAdmin(_ReadOnly):
    """Reads of FMK cards and how they went."""

    data_kind = DataKind.FMK_CARD
    list_display = ("created_at", "patient", "occasion", "status", "reason")
    list_filter = ("status", "occasion")
    search_fields = ("=patient__cpr",)


@admin.register(MedicationOrder)
class MedicationOrderAdmin(_ReadOnly):
    """Orders, read-only: they are changed on the medication tab, with history."""

    list_display = ("starts_at", "patient", "drug_name", "dose_text", "status", "prescriber")
    list_filter = ("status", "schedule")
    search_fields = ("=patient__cpr", "drug_name", "=atc_code")
