"""A booking gives its department a care relation with the patient, from the moment it is made
until a configurable number of days after the appointment (docs/architecture.md: the access
gate)."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from booking.models import ACTIVE_STATUSES, Booking
from patients.access import relation_source_register


@relation_source_register
def booking_relation(department_ids, at) -> Q:
    """A Q on Patient: an active booking in one of the departments that relates them now."""
    after = timedelta(days=settings.SUNDHED_BOOKING_RELATION_DAYS)
    bookings = Booking.objects.filter(
        patient=OuterRef("pk"),
        department_id__in=department_ids,
        status__in=ACTIVE_STATUSES,
        created_at__lte=at,
        ends_at__gte=at - after,
    )
    return Q(Exists(bookings))
