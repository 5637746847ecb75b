"""Forms for patient pages; errors name the field in the user's language."""

from django import forms
from django.utils.translation import gettext_lazy as _

from common.forms import choice_field
from patients.models import CaveEntry


class BreakGlassForm(forms.Form):
    """The reason for værdispring, in words."""

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why you need the record now. It is reviewed and shown to the patient."),
    )
    # The page to open afterwards (kept only if it is one of ours).
    next = forms.CharField(required=False)


class LocationForm(forms.Form):
    location = forms.CharField(label=_("Room and bed"), required=False)


class BlockingRevokeForm(forms.Form):
    requested_by_patient = forms.BooleanField(label=_("The patient asked"), required=False)


class CaveEntryForm(forms.ModelForm):
    """A new CAVE entry."""

    class Meta:
        model = CaveEntry
        fields = ["kind", "substance", "atc_code", "reaction", "severity", "source"]


class CaveErrorForm(forms.Form):
    """Why a CAVE entry was wrong."""

    error_reason = forms.CharField(label=_("Why is the entry wrong?"), max_length=500)


class BlockingForm(forms.Form):
    """What the patient asked to block: one of their courses, or a department."""

    target = forms.ChoiceField(label=_("Block"))
    requested_by_patient = forms.BooleanField(
        label=_("The patient's written request is received"),
        required=True,
        error_messages={
            "required": _("Administration acts only on the patient's written request.")
        },
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        help_text=_("For example the date and reference of the patient's request."),
    )

    def __init__(self, *args, courses=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(f"course:{c.public_id}", f"{c.title} ({c.department})") for c in courses]
        choices += [(f"department:{d.public_id}", str(d)) for d in departments]
        choice_field(self, "target").choices = choices

    def blocking_arguments(self, courses, departments) -> dict:
        """The service's arguments: the chosen course or department, the request and the note."""
        kind, public_id = self.cleaned_data["target"].split(":", 1)
        chosen = (
            {"care_course": courses.get(public_id=public_id)}
            if kind == "course"
            else {"department": departments.get(public_id=public_id)}
        )
        return {
            **chosen,
            "requested_by_patient": self.cleaned_data["requested_by_patient"],
            "note": self.cleaned_data["note"],
        }


class ReviewForm(forms.Form):
    """A reviewer's verdict on a break-the-glass event."""

    grant = forms.UUIDField(label=_("Break the glass"))
    note = forms.CharField(label=_("Review note"), required=False, max_length=1000)
