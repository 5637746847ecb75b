"""iCal feeds (RFC 5545) of a clinician's calendar and of a patient's appointments.

Calendar programs fetch these unattended, wherever they run: an event says where and when, in
generic words ("Aftale på Rigshospitalet"), never which patient, which appointment type (a type
can name a disease) or a diagnosis.
"""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from booking.models import ACTIVE_STATUSES, Booking, CalendarFeed

PAST, AHEAD = timedelta(days=30), timedelta(days=180)


def feed_bookings(feed: CalendarFeed):
    now = timezone.now()
    rows = Booking.objects.filter(
        status__in=ACTIVE_STATUSES, starts_at__gte=now - PAST, starts_at__lte=now + AHEAD
    ).select_related("department__hospital")
    if feed.kind == CalendarFeed.Kind.CLINICIAN:
        rows = rows.filter(
            allocations__resource__staff_id=feed.staff_id, allocations__active=True
        ).distinct()
    else:
        rows = rows.filter(patient=feed.patient)
    return list(rows.order_by("starts_at"))


def feed_calendar(feed: CalendarFeed, bookings) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Sundhed//Aftaler//DA")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _("Appointments") if feed.kind == "patient" else _("My calendar"))
    for booking in bookings:
        event = Event()
        event.add("uid", f"{booking.public_id}@sundhed")
        event.add("dtstamp", booking.updated_at)
        event.add("dtstart", booking.starts_at)
        event.add("dtend", booking.ends_at)
        hospital = booking.department.hospital.name
        event.add("summary", _("Appointment at %(hospital)s") % {"hospital": hospital})
        event.add("location", f"{booking.department.name}, {hospital}")
        calendar.add_component(event)
    return calendar.to_ical()
