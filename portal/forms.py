"""The citizen's forms in the portal."""

from django.utils.translation import gettext_lazy as _

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
