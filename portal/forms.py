"""The citizen's forms in the portal."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from common.forms import ManyFilesField, choice_field
from patients.cpr import parse_cpr
from patients.forms import BlockingForm


class CitizenBlockingForm(BlockingForm):
    """The citizen blocks one of their courses or a department; no request letter is needed:
    the request is the citizen's own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["requested_by_patient"]
        self.fields["target"].label = _("What to block")
        self.fields["note"].help_text = _("Optional: a note for your own overview.")

    def blocking_arguments(self, courses, departments) -> dict:
        self.cleaned_data["requested_by_patient"] = True
        return super().blocking_arguments(courses, departments)


class MessageForm(forms.Form):
    """A new thread to a department that treats the citizen (`departments`), or, without
    departments, a reply in a thread. The text's limits are the service's: an error, not a cut."""

    department = forms.ChoiceField(label=_("Department"))
    subject = forms.CharField(label=_("Subject"))
    text = forms.CharField(label=_("Message"))
    attachments = ManyFilesField(label=_("Attachments"))

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.departments = departments
        if departments is None:
            del self.fields["department"], self.fields["subject"]
        else:
            choice_field(self, "department").choices = [
                (str(d.public_id), d.name) for d in departments
            ]
            self.fields["department"].error_messages["invalid_choice"] = _(
                "Choose a department that treats you."
            )

    def department_chosen(self):
        chosen = self.cleaned_data["department"]
        return next(d for d in self.departments if str(d.public_id) == chosen)


class ActForForm(forms.Form):
    """Whom the citizen acts for: a patient's public id, or "self"."""

    patient = forms.CharField()


class ProxyGiveForm(forms.Form):
    """A power of attorney to the adult with this CPR number and surname."""

    cpr = forms.CharField(label=_("CPR number"))
    family_name = forms.CharField(
        label=_("Surname"), error_messages={"required": _("Write the person's surname.")}
    )

    def clean_cpr(self) -> str:
        try:
            return parse_cpr(self.cleaned_data["cpr"]).value
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class ProxyWithdrawForm(forms.Form):
    withdraw = forms.UUIDField(error_messages={"invalid": _("No such power of attorney.")})


class CalendarAddressForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Calendar address"),
        choices=[("make", "make"), ("close", "close")],
        initial="make",
    )
