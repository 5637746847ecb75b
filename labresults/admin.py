"""Admin for the laboratory inbox: read-only; the raw message is never edited."""

from django.contrib import admin

from labresults.models import InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Inbound messages with their status and reason."""

    list_display = ("received_at", "sender", "control_id", "message_type", "status", "attempts")
    list_filter = ("status", "transport", "message_type")
    search_fields = ("=control_id", "sender")
    readonly_fields = [f.name for f in InboundMessage._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
