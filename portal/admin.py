"""Admin of the portal: the release rules of results and notes. allauth's configuration of the
MitID app lives in settings (SOCIALACCOUNT_PROVIDERS), so its SocialApp and token admins are
taken away: a second app entered in admin would make the sign-in ambiguous."""

from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin

from portal.models import NoteReleaseRule, ResultReleaseRule

for model in (SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(ResultReleaseRule)
class ResultReleaseRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "section", "delay_days", "inpatient_at_discharge")
    list_editable = ("delay_days", "inpatient_at_discharge")
    search_fields = ("name", "section")


@admin.register(NoteReleaseRule)
class NoteReleaseRuleAdmin(admin.ModelAdmin):
    list_display = ("note_type", "released", "delay_days")
    list_editable = ("released", "delay_days")
