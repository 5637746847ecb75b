"""Django admin for the journal's catalogues: note templates and SKS codes.

Notes, diagnoses and vital signs are patient data and are not in admin: they are reached only
through the access gate in the clinician's pages.
"""

from django.contrib import admin

from journal.models import NoteTemplate, NoteTemplateSection, SksCode


class NoteTemplateSectionInline(admin.TabularInline):
    model = NoteTemplateSection
    extra = 1
    fields = ["position", "heading", "prompt", "required"]


@admin.register(NoteTemplate)
class NoteTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "note_type", "department", "is_active"]
    list_filter = ["note_type", "is_active", "department"]
    search_fields = ["name"]
    inlines = [NoteTemplateSectionInline]


@admin.register(SksCode)
class SksCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "text", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "text"]
    ordering = ["code"]
