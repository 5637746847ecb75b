"""Forms of medicinkort: an order (ordination) and an administration."""

from django import forms
from django.utils.translation import gettext_lazy as _

from medicinkort.models import Administration, Drug, MedicationOrder


class OrderForm(forms.Form):
    """Order a drug from the catalogue."""

    drug = forms.ModelChoiceField(
        queryset=Drug.objects.filter(is_active=True), label=_("Drug"), to_field_name="public_id"
    )
    dose_text = forms.CharField(label=_("Dosage"), max_length=500)
    schedule = forms.ChoiceField(
        label=_("Schedule"), choices=MedicationOrder.Schedule.choices,
        initial=MedicationOrder.Schedule.FIXED,
    )  # fmt: skip
    times = forms.CharField(
        label=_("Times"), required=False, help_text=_("HH:MM, separated by spaces"),
        initial="08:00",
    )  # fmt: skip
    pn_max_per_day = forms.IntegerField(
        label=_("At most a day (PN)"), required=False, min_value=1, max_value=24
    )
    indication = forms.CharField(label=_("Indication"), max_length=300, required=False)

    def clean_times(self) -> list[str]:
        return self.cleaned_data["times"].replace(",", " ").split()


class AdministrationForm(forms.Form):
    """Record one administration."""

    status = forms.ChoiceField(label=_("Status"), choices=Administration.Status.choices)
    due_at = forms.DateTimeField(label=_("Due"), required=False)
    dose_given = forms.DecimalField(
        label=_("Dose given"), required=False, min_value=0, max_digits=10, decimal_places=3,
        localize=True, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )  # fmt: skip
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
