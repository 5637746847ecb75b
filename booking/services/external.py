"""Appointments from external scheduling systems (HL7 SIU), filed as the results pipeline
hands them over: S12/S13/S14 create or change, S15/S17 cancel, S26 records a no-show."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import Action, DataKind
from booking.models import ExternalAppointment
from patients.access import access_patient_as_system

ENDING = {"S15": "cancelled", "S17": "cancelled", "S26": "no_show"}


def external_appointment_file(*, message_id: int, sender: str, patient, content: dict) -> None:
    """Create, change or end the appointment the message is about; an appointment number of
    another patient is refused (the message fails with the reason, nothing is changed)."""
    key = content["key"]
    starts = content["starts_at"]
    ends = content["ends_at"]
    if isinstance(starts, str):
        starts, ends = datetime.fromisoformat(starts), datetime.fromisoformat(ends)
    with transaction.atomic():
        found = (
            ExternalAppointment.objects.select_for_update().filter(sender=sender, key=key).first()
        )
        if found is not None and found.patient_id != patient.pk:
            raise ValidationError(
                _("Appointment %(key)s from %(sender)s belongs to another patient.")
                % {"key": key, "sender": sender}
            )
        if found is None:
            found = ExternalAppointment(patient=patient, sender=sender, key=key)
            action = Action.CREATE
        else:
            action = Action.UPDATE
        found.starts_at, found.ends_at = starts, ends
        found.service_code = content.get("service_code", "")
        found.service_text = content.get("service_text", "")
        found.location = content.get("location", "")
        found.status = ENDING.get(content["event"], ExternalAppointment.Status.BOOKED)
        found.message_id = message_id
        found.full_clean()
        found.save()
        access_patient_as_system(
            patient=patient, data_kind=DataKind.BOOKING, action=action, system=sender,
            object_type="booking.externalappointment", object_id=str(found.public_id),
        )  # fmt: skip
