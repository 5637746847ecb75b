"""Private iCal addresses: a clinician's calendar and a patient's appointments, in generic
words, closed when revoked."""

from datetime import datetime, time

from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from audit.models import AccessEvent
from booking import services
from booking.models import CalendarFeed
from patients.access import access_decide


def booked(cast, clinic):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="booking")
    start = timezone.make_aware(datetime.combine(clinic.day, time(9)))
    return services.booking_create(access=access, appointment_type=clinic.control, starts_at=start)


def test_a_clinicians_feed_says_where_and_when_and_never_who_or_why(cast, client, clinic):
    booking = booked(cast, clinic)
    client.force_login(cast.treating_doctor)
    client.post(reverse("booking:calendar_feed"))
    feed = CalendarFeed.objects.get(staff=cast.treating_doctor.staff, revoked_at__isnull=True)
    page = client.get(reverse("booking:calendar")).content.decode()
    assert feed.token in page
    client.logout()  # a calendar program has no session
    response = client.get(reverse("booking:ical", kwargs={"token": feed.token}))
    assert response.status_code == 200 and response["Content-Type"] == "text/calendar"
    calendar = Calendar.from_ical(response.content)
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == booking.starts_at
    text = response.content.decode()
    assert "Karen" not in text and "Jensen" not in text and "atrieflimren" not in text.lower()
    assert str(event["summary"]).startswith(("Aftale på", "Appointment at"))
    # A new address closes the old one; closing leaves none.
    client.force_login(cast.treating_doctor)
    client.post(reverse("booking:calendar_feed"))
    client.logout()
    assert client.get(reverse("booking:ical", kwargs={"token": feed.token})).status_code == 404
    client.force_login(cast.treating_doctor)
    client.post(reverse("booking:calendar_feed"), {"action": "revoke"})
    assert not CalendarFeed.objects.filter(revoked_at__isnull=True).exists()


def test_a_patients_feed_is_on_their_access_log(cast, client, clinic):
    booked(cast, clinic)
    feed = services.calendar_feed_create(patient=cast.patient)
    before = AccessEvent.objects.filter(patient_id=cast.patient.pk).count()
    response = client.get(reverse("booking:ical", kwargs={"token": feed.token}))
    assert len(Calendar.from_ical(response.content).walk("VEVENT")) == 1
    events = AccessEvent.objects.filter(patient_id=cast.patient.pk).order_by("-id")
    assert events.count() == before + 1
    # Whoever holds the address fetched it: logged as the calendar feed, not as the patient.
    assert events.first().user_id is None and "Kalenderabonnement" in str(events.first())
    assert client.get(reverse("booking:ical", kwargs={"token": "wrong"})).status_code == 404
