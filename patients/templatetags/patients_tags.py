"""Template tags for patient pages."""

from django import template
from django.urls import reverse

from patients.registry import patient_tabs as registered_tabs

register = template.Library()


@register.simple_tag
def patient_tabs(patient):
    """The registered tabs of a patient page, with their addresses."""
    return [
        {
            "label": tab.label,
            "url_name": tab.url_name,
            "url": reverse(tab.url_name, kwargs={"patient_id": patient.public_id}),
        }
        for tab in registered_tabs.all()
    ]
