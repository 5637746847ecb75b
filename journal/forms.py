"""Forms of the journal; errors name the field in the user's language."""

from django import forms
from django.utils.translation import gettext_lazy as _

from common.forms import ManyFilesField, choice_field
from journal.models import Diagnosis, NoteType, SksCode, VitalSigns
from patients.models import CareCourse


def _template_label(template) -> str:
    """ "Epikrise", not "Epikrise (Epikrise)": the type only when the name does not say it."""
    kind = str(template.get_note_type_display())
    return template.name if template.name.lower() == kind.lower() else f"{template.name} ({kind})"


class NoteNewForm(forms.Form):
    """Start a note with one choice that carries the type and the template together (a template
    is of a type; "without template" entries carry the type alone), and the course.

    Templates and courses come in as lists the view already has, so the form costs no queries.
    """

    template = forms.ChoiceField(label=_("New note"), required=False)
    care_course = forms.ChoiceField(label=_("Care course"), required=False)
    # Kept for callers that still send the type on its own; the choice above decides.
    note_type = forms.ChoiceField(
        choices=NoteType.choices, required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, templates, courses, **kwargs):
        super().__init__(*args, **kwargs)
        self._templates = {str(t.public_id): t for t in templates}
        self._courses = {str(c.public_id): c for c in courses}
        choice_field(self, "template").choices = [
            (key, _template_label(t)) for key, t in self._templates.items()
        ] + [
            (f"type:{value}", _("%(type)s, without template") % {"type": label})
            for value, label in NoteType.choices
        ]
        choice_field(self, "care_course").choices = [("", _("No course"))] + [
            (key, f"{c.department.short_name}: {c.title} ({c.started_at:%d.%m.%Y})")
            for key, c in self._courses.items()
        ]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        chosen = cleaned.get("template") or ""
        if chosen.startswith("type:"):
            cleaned["note_type"], cleaned["template"] = chosen[5:], None
        else:
            template = self._templates.get(chosen)
            cleaned["template"] = template
            if template is not None:
                cleaned["note_type"] = template.note_type
        if not cleaned.get("note_type"):
            self.add_error("template", _("Choose what kind of note to write."))
        return cleaned

    def clean_care_course(self):
        return self._courses.get(self.cleaned_data["care_course"])


class NoteEditForm(forms.Form):
    """The title and text of a draft."""

    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 18}), required=False
    )


class AutosaveForm(forms.Form):
    """A draft's title and text as typed (the title kept as it was when none is sent)."""

    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    text = forms.CharField(label=_("Text"), required=False, strip=False)


class CourseForm(forms.Form):
    care_course = forms.CharField(label=_("Care course"))


class ReplyForm(forms.Form):
    """A message in a thread, with its attachments."""

    text = forms.CharField(label=_("Message"))
    attachments = ManyFilesField(label=_("Attachments"))


class DiagnosisForm(forms.Form):
    """Code a diagnosis on a course: the SKS code is typed or picked from the search."""

    care_course = forms.ModelChoiceField(
        label=_("Care course"), queryset=CareCourse.objects.none(), to_field_name="public_id"
    )
    code = forms.CharField(label=_("SKS code"), max_length=300)
    kind = forms.ChoiceField(label=_("Kind"), choices=Diagnosis.Kind.choices)
    note = forms.CharField(label=_("Remark"), max_length=300, required=False)

    def __init__(self, *args, courses, **kwargs):
        super().__init__(*args, **kwargs)
        choice_field(self, "care_course").queryset = courses

    def clean_code(self):
        value = self.cleaned_data["code"].strip().upper().replace(".", "").split(" ")[0]
        if value and not value.startswith("D"):
            value = "D" + value
        try:
            return SksCode.objects.get(code=value, is_active=True)
        except SksCode.DoesNotExist:
            raise forms.ValidationError(
                _("%(code)s is not a code in the SKS catalogue."), params={"code": value}
            ) from None


class VitalSignsForm(forms.ModelForm):
    """One set of vital signs; the score is computed, not typed."""

    class Meta:
        model = VitalSigns
        fields = [
            "respiration_rate",
            "spo2",
            "on_oxygen",
            "systolic",
            "diastolic",
            "pulse",
            "consciousness",
            "temperature",
        ]
        # A Danish browser and a Danish nurse write 38,6: the decimal comma is read as such.
        localized_fields = ["temperature"]
        widgets = {
            "temperature": forms.TextInput(attrs={"inputmode": "decimal"}),
            # One click for the usual "Alert": radio buttons, not a drop-down.
            "consciousness": forms.RadioSelect(attrs={"class": "acvpu"}),
        }

    # The round's values are often entered after the round: when they were measured.
    measured_at = forms.DateTimeField(
        label=_("Measured"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"],
        help_text=_("Leave empty for now."),
    )

    def clean_measured_at(self):
        from datetime import timedelta

        from django.utils import timezone

        value = self.cleaned_data.get("measured_at")
        if value is None:
            return None
        now = timezone.now()
        if value > now + timedelta(minutes=5):
            raise forms.ValidationError(_("The time cannot be in the future."))
        if value < now - timedelta(hours=24):
            raise forms.ValidationError(_("Values older than a day are entered as a note."))
        return value

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not every parameter is always measured; a partial set is kept and its NEWS2 marked
        # incomplete. Consciousness starts as "not assessed": "Alert" is chosen, never assumed.
        choice_field(self, "consciousness").choices = [("", _("Not assessed"))] + [
            c for c in choice_field(self, "consciousness").choices if c[0]
        ]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        systolic, diastolic = cleaned.get("systolic"), cleaned.get("diastolic")
        if systolic is not None and diastolic is not None and diastolic >= systolic:
            self.add_error("diastolic", _("The diastolic pressure must be below the systolic."))
        elif (
            (systolic is None) != (diastolic is None)
            and not self.has_error("systolic")
            and not self.has_error("diastolic")
        ):
            self.add_error(
                "diastolic" if diastolic is None else "systolic",
                _("The blood pressure needs both the systolic and diastolic value."),
            )
        measured = [
            name
            for name in self._meta.fields or ()
            if name != "on_oxygen" and cleaned.get(name) not in (None, "")
        ]
        if not measured and not self.errors:
            raise forms.ValidationError(_("Enter at least one measured value."))
        return cleaned
