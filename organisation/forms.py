"""The bodies of the organisation's POSTs."""

from django import forms
from django.utils.translation import gettext_lazy as _


class SwitchDepartmentForm(forms.Form):
    """The department to work in, and where to go on (a path of this site)."""

    department = forms.UUIDField(label=_("Department"))
    next = forms.CharField(required=False)
