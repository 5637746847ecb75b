"""Forms for patient pages; errors name the field in the user's language."""

from django import forms
from django.utils.translation import gettext_lazy as _

from patients.models import CaveEntry


class BreakGlassForm(forms.Form):
    """The reason for værdispring, in words."""

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why you need the record now. It is reviewed and shown to the patient."),
    )


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
        label=_("The patient asked for this"), required=False, initial=True
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def __init__(self, *args, courses=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(f"course:{c.public_id}", f"{c.title} ({c.department})") for c in courses]
        choices += [(f"department:{d.public_id}", str(d)) for d in departments]
        self.fields["target"].choices = choices


class ReviewForm(forms.Form):
    """A reviewer's verdict on a break-the-glass event."""

    note = forms.CharField(label=_("Review note"), required=False, max_length=1000)
