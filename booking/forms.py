"""The bodies of booking's POSTs, each a form: a field that is wrong is named, nothing typed is
cut (a note or reason longer than the booking keeps is an error)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from booking import selectors
from booking.models import BookingStatus

NOTE_LENGTH = 300


class _TypeChosen(forms.Form):
    """A form that names an appointment type by its public id: of the clinician's department,
    or (`region`) of any department of the region."""

    type = forms.CharField(label=_("Appointment type"))

    def __init__(self, *args, access, **kwargs):
        super().__init__(*args, **kwargs)
        self.access = access

    def clean_type(self):
        return self._type(self.cleaned_data["type"], region=False)

    def _type(self, raw: str, *, region: bool):
        chosen = selectors.appointment_type_chosen(self.access, raw, region=region)
        if chosen is None:
            raise ValidationError(_("Choose an appointment type of your department."))
        return chosen


class BookForm(_TypeChosen):
    """Book a free time of the chosen type (or, found across the region, of `slot_type`)."""

    slot_type = forms.CharField(label=_("Appointment type"), required=False)
    starts_at = forms.DateTimeField(label=_("Time"))
    note = forms.CharField(label=_("Note"), max_length=NOTE_LENGTH, required=False)

    def clean_slot_type(self):
        raw = self.cleaned_data["slot_type"]
        return self._type(raw, region=True) if raw else None


class TimeForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("Time"))


class CancelForm(forms.Form):
    """Who cancels and why: whether both are given is the service's to say, in its words."""

    by = forms.CharField(label=_("Cancelled by"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=BookingStatus.choices)
    next = forms.ChoiceField(
        choices=[("", ""), ("calendar", "calendar"), ("worklist", "worklist")], required=False
    )


class FeedForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Calendar address"),
        choices=[("make", "make"), ("revoke", "revoke")],
        required=False,
    )


class WaitingForm(_TypeChosen):
    note = forms.CharField(label=_("Note"), max_length=NOTE_LENGTH, required=False)


class OfferAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("Answer"), choices=[("accept", _("Accept")), ("decline", _("Decline"))]
    )
