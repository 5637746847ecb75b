"""Forms of labresults; errors name the field in the user's language."""

from django import forms
from django.utils.translation import gettext_lazy as _

from common.forms import UUIDListField
from labresults.models import Analysis, LabOrder, Panel


class ConflictForm(forms.Form):
    """How staff resolve a conflict (the service names the choices)."""

    action = forms.CharField(label=_("Action"), required=False)


class AcknowledgeForm(forms.Form):
    """The reports ticked on the results tab."""

    item = UUIDListField(label=_("Results"))


class LabOrderForm(forms.Form):
    """A rekvisition: panels and single analyses, a priority and a comment to the laboratory."""

    panels = forms.ModelMultipleChoiceField(
        label=_("Panels"),
        queryset=Panel.objects.filter(is_active=True).prefetch_related("analyses"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    analyses = forms.ModelMultipleChoiceField(
        label=_("Single analyses"),
        queryset=Analysis.objects.filter(is_active=True),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=LabOrder.Priority.choices, initial=LabOrder.Priority.ROUTINE
    )
    comment = forms.CharField(label=_("Comment to the laboratory"), max_length=300, required=False)

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        chosen = {a.pk: a for a in cleaned.get("analyses") or []}
        for panel in cleaned.pop("panels", None) or []:
            chosen.update({a.pk: a for a in panel.analyses.all()})
        if not chosen:
            raise forms.ValidationError(_("Choose at least one analysis or panel."))
        cleaned["analyses"] = list(chosen.values())
        return cleaned


class QueueMessageForm(forms.Form):
    """A person's fix of a waiting message: the patient by CPR number, and/or corrected text."""

    cpr = forms.CharField(label=_("Match to the patient with CPR number"), required=False)
    fixed_text = forms.CharField(
        label=_("Corrected message (leave empty to keep it as received)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
