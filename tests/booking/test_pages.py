"""The Appointments tab, booking and the follow-up in two clicks, moving and cancelling, and a
department's calendar that names only the patients the viewer may see."""

from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from booking.models import Booking


def tab(cast):
    return reverse("booking:patient", kwargs={"patient_id": cast.patient.public_id})


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def test_find_a_time_and_book_it(cast, client, clinic):
    client.force_login(cast.treating_doctor)
    before = AccessEvent.objects.count()
    page = client.get(
        tab(cast),
        {
            "type": str(clinic.control.public_id),
            "from": clinic.day.isoformat(),
            "until": clinic.day.isoformat(),
            "after": "10:00",
        },
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert page.status_code == 200
    assert AccessEvent.objects.count() == before + 1  # the tab is one disclosure
    slots = page.context["slots"]
    assert len(slots) == 6 and timezone.localtime(slots[0].starts_at).hour == 10
    assert "Medbring din medicinliste." in page.content.decode()
    booked = client.post(
        reverse("booking:book", kwargs={"patient_id": cast.patient.public_id}),
        {"type": str(clinic.control.public_id), "starts_at": slots[0].starts_at.isoformat()},
        follow=True, HTTP_ACCEPT_LANGUAGE="da",
    )  # fmt: skip
    assert "Booket: Kontrol efter atrieflimren" in booked.content.decode()
    booking = Booking.objects.get(patient=cast.patient)
    assert booking.starts_at == slots[0].starts_at
    # The same time again is refused in words, with a 409 and the finder still there.
    again = client.post(
        reverse("booking:book", kwargs={"patient_id": cast.stranger.public_id}),
        {"type": str(clinic.control.public_id), "starts_at": slots[0].starts_at.isoformat()},
        HTTP_ACCEPT_LANGUAGE="da",
    )
    # The stranger has no relation with cardiology: the gate refuses before any booking.
    assert again.status_code == 403
    from patients.services import care_course_create

    care_course_create(
        patient=cast.stranger, department=cast.cardiology, kind="referral", title="Henvisning",
        started_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    taken = client.post(
        reverse("booking:book", kwargs={"patient_id": cast.stranger.public_id}),
        {"type": str(clinic.control.public_id), "starts_at": slots[0].starts_at.isoformat()},
        HTTP_ACCEPT_LANGUAGE="da",
    )
    assert taken.status_code == 409
    assert "Tiden er netop blevet booket af en anden" in taken.content.decode()
    assert Booking.objects.count() == 1


def test_bad_parameters_are_400_not_500(cast, client, clinic):
    client.force_login(cast.treating_doctor)
    kind = str(clinic.control.public_id)
    for query in ({"type": "nonsense"}, {"type": kind, "from": "31.12"},
                  {"type": kind, "weeks": "99"}, {"type": kind, "move": "x"},
                  {"type": kind, "from": "9999-12-31"}):  # fmt: skip
        assert client.get(tab(cast), query).status_code == 400, query
    for day in ("0001-01-01", "9999-12-31"):
        assert client.get(reverse("booking:calendar"), {"day": day}).status_code == 400
    book = reverse("booking:book", kwargs={"patient_id": cast.patient.public_id})
    response = client.post(book, {"type": str(clinic.control.public_id), "starts_at": "soon"})
    assert response.status_code == 400


def test_a_follow_up_is_the_same_type_and_clinician_n_weeks_on(cast, client, clinic):
    from booking.models import Resource, ScheduleRule

    # A second doctor in the clinic: the follow-up still offers the first one's times first.
    second = Resource.objects.create(
        department=cast.cardiology, kind="clinician", name="Aase Andenlæge",
        staff=cast.junior_doctor.staff,
    )  # fmt: skip
    rule = ScheduleRule.objects.create(
        resource=second, weekdays=[1, 2, 3, 4, 5], start_time=time(8), end_time=time(12),
        valid_from=clinic.day - timedelta(days=7),
    )  # fmt: skip
    rule.appointment_types.add(clinic.control)
    client.force_login(cast.treating_doctor)
    book = reverse("booking:book", kwargs={"patient_id": cast.patient.public_id})
    client.post(
        book, {"type": str(clinic.control.public_id), "starts_at": at(clinic.day, 8).isoformat()}
    )
    first = Booking.objects.get()
    [seen_by] = [a.resource for a in first.allocations.all() if a.resource.kind == "clinician"]
    Booking.objects.update(status="seen")
    page = client.get(reverse("booking:follow_up", kwargs={"patient_id": cast.patient.public_id}),
                      {"in": "6"})  # fmt: skip
    slots = page.context["slots"]
    assert slots and all(seen_by in s.resources for s in slots)
    assert timezone.localdate(slots[0].starts_at) >= timezone.localdate() + timedelta(weeks=6)
    # One click on the first time books it.
    client.post(
        book, {"type": str(clinic.control.public_id), "starts_at": slots[0].starts_at.isoformat()}
    )
    assert Booking.objects.filter(patient=cast.patient, status="booked").count() == 1


def test_move_and_cancel_from_the_tab(cast, client, clinic):
    client.force_login(cast.treating_doctor)
    book = reverse("booking:book", kwargs={"patient_id": cast.patient.public_id})
    client.post(
        book, {"type": str(clinic.control.public_id), "starts_at": at(clinic.day, 8).isoformat()}
    )
    booking = Booking.objects.get()
    move = reverse("booking:move", kwargs={"booking_id": booking.public_id})
    client.post(move, {"starts_at": at(clinic.day, 9).isoformat()})
    booking.refresh_from_db()
    moved = Booking.objects.get(status="booked")
    assert booking.status == "rescheduled" and moved.rescheduled_from_id == booking.pk
    cancel = reverse("booking:cancel", kwargs={"booking_id": moved.public_id})
    refused = client.post(cancel, {"by": "hospital", "reason": ""}, follow=True)
    assert "Skriv, hvorfor" in refused.content.decode() or "Write why" in refused.content.decode()
    # The field is named in the reader's language, not by the service's key.
    assert "Cancel reason" not in refused.content.decode()
    client.post(cancel, {"by": "hospital", "reason": "Lægen er syg"})
    moved.refresh_from_db()
    assert (moved.status, moved.cancelled_by, moved.cancel_reason) == (
        "cancelled", "hospital", "Lægen er syg",
    )  # fmt: skip


def test_the_department_calendar_names_only_patients_the_viewer_may_see(cast, client, clinic):
    from booking import services
    from patients.access import access_decide
    from patients.services import care_course_create, patient_create

    visitor = patient_create(cpr="0505504321", given_names="Hemmelig", family_name="Gæst")
    course = care_course_create(
        patient=visitor, department=cast.cardiology, kind="referral", title="Henvisning",
        started_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    access = access_decide(user=cast.treating_doctor, patient=visitor, data_kind="booking")
    services.booking_create(
        access=access, appointment_type=clinic.control, starts_at=at(clinic.day, 8)
    )
    client.force_login(cast.treating_doctor)
    url = reverse("booking:calendar")
    page = client.get(url, {"scope": "department", "day": clinic.day.isoformat()}).content.decode()
    assert "Hemmelig Gæst" in page
    # Without a relation (the referral gone, the booking not yet made at this moment), the
    # same calendar says only "optaget".
    course.delete()
    Booking.objects.update(created_at=timezone.now() + timedelta(days=1))
    page = client.get(url, {"scope": "department", "day": clinic.day.isoformat()}).content.decode()
    assert "Hemmelig Gæst" not in page and 'data-testid="calendar-busy"' in page
    assert client.get(url, {"scope": "everyone"}).status_code == 400


def test_the_overviews_contacts_show_appointments_at_a_fixed_cost(
    cast, client, clinic, django_assert_max_num_queries
):
    from booking import services
    from patients.access import access_decide

    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="booking")
    for hour in (8, 9, 10):
        services.booking_create(
            access=access, appointment_type=clinic.control, starts_at=at(clinic.day, hour)
        )
    client.force_login(cast.treating_doctor)
    overview = reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id})
    with django_assert_max_num_queries(17):
        page = client.get(overview).content.decode()
    panel = page.split('data-testid="panel-appointments"')[1].split("</div>")[0]
    assert panel.count("Kontrol efter atrieflimren") == 3


def test_the_work_list_shows_todays_appointments_and_marks_arrival(cast, client, clinic):
    from booking.models import Allocation

    start = timezone.now() + timedelta(hours=1)
    booking = Booking.objects.create(
        patient=cast.stranger, department=cast.cardiology, appointment_type=clinic.control,
        starts_at=start, ends_at=start + timedelta(minutes=20), booked_by=cast.secretary,
    )  # fmt: skip
    Allocation.objects.create(
        booking=booking, resource=clinic.doctor, period=(start, start + timedelta(minutes=20))
    )
    client.force_login(cast.nurse)
    before = AccessEvent.objects.filter(patient_id=cast.stranger.pk).count()
    page = client.get(reverse("chart:worklist"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-testid="appointment-today"' in page and "Lars Holm" in page
    # Shown is disclosed: one event for the booked patient.
    assert AccessEvent.objects.filter(patient_id=cast.stranger.pk).count() == before + 1
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="worklist-arrived"' in home
    client.post(
        reverse("booking:status", kwargs={"booking_id": booking.public_id}),
        {"status": "arrived", "next": "worklist"},
    )
    booking.refresh_from_db()
    assert booking.status == "arrived"


def test_the_finder_searches_the_region_and_books_in_another_department(cast, client, clinic):
    from booking.models import AppointmentType, Resource, ScheduleRule

    # The orthopaedic clinic offers the same control, earlier in the day than cardiology.
    ortho = AppointmentType.objects.create(
        department=cast.orthopaedics, code="kontrol", name="Kontrol", duration_minutes=20,
        resource_kinds=["clinician"],
    )  # fmt: skip
    surgeon = Resource.objects.create(
        department=cast.orthopaedics, kind="clinician", name="Ole Knoglelæge",
        staff=cast.other_doctor.staff,
    )  # fmt: skip
    rule = ScheduleRule.objects.create(
        resource=surgeon, weekdays=[1, 2, 3, 4, 5], start_time=time(7), end_time=time(8),
        valid_from=clinic.day - timedelta(days=1),
    )  # fmt: skip
    rule.appointment_types.add(ortho)
    client.force_login(cast.treating_doctor)
    query = {"type": str(clinic.control.public_id), "from": clinic.day.isoformat(),
             "until": clinic.day.isoformat(), "region": "1"}  # fmt: skip
    page = client.get(tab(cast), query)
    slots = page.context["slots"]
    assert slots[0].appointment_type == ortho and timezone.localtime(slots[0].starts_at).hour == 7
    assert {s.appointment_type.department_id for s in slots} == {
        cast.orthopaedics.pk, cast.cardiology.pk,
    }  # fmt: skip
    # A chosen set: only cardiology, though orthopaedics offers it too.
    only = client.get(tab(cast), {**query, "department": str(cast.cardiology.public_id)})
    assert {s.appointment_type.pk for s in only.context["slots"]} == {clinic.control.pk}
    assert client.get(tab(cast), {**query, "department": "x"}).status_code == 400
    client.post(
        reverse("booking:book", kwargs={"patient_id": cast.patient.public_id}),
        {"type": str(clinic.control.public_id), "slot_type": str(ortho.public_id),
         "starts_at": slots[0].starts_at.isoformat()},
    )  # fmt: skip
    booking = Booking.objects.get(patient=cast.patient)
    assert booking.department_id == cast.orthopaedics.pk


def test_a_double_click_books_once_and_arrival_waits_for_the_day(cast, client, clinic):
    from booking.models import Resource, ScheduleRule

    # A second doctor and room: the same time is free twice over, but not for the same patient.
    for kind, name, staff in (("clinician", "Aase Andenlæge", cast.junior_doctor.staff),
                              ("room", "Ambulatorium, rum 2", None)):  # fmt: skip
        resource = Resource.objects.create(
            department=cast.cardiology, kind=kind, name=name, staff=staff
        )
        rule = ScheduleRule.objects.create(
            resource=resource, weekdays=[1, 2, 3, 4, 5], start_time=time(8), end_time=time(12),
            valid_from=clinic.day - timedelta(days=1),
        )  # fmt: skip
        rule.appointment_types.add(clinic.control)
    client.force_login(cast.treating_doctor)
    book = reverse("booking:book", kwargs={"patient_id": cast.patient.public_id})
    form = {"type": str(clinic.control.public_id), "starts_at": at(clinic.day, 9).isoformat()}
    client.post(book, form)
    second = client.post(book, form, follow=True, HTTP_ACCEPT_LANGUAGE="da")
    assert Booking.objects.filter(patient=cast.patient).count() == 1
    assert "har allerede en aftale" in second.content.decode()
    booking = Booking.objects.get()
    refused = client.post(
        reverse("booking:status", kwargs={"booking_id": booking.public_id}),
        {"status": "arrived"}, follow=True, HTTP_ACCEPT_LANGUAGE="da",
    )  # fmt: skip
    booking.refresh_from_db()
    assert booking.status == "booked" and "på dagen" in refused.content.decode()


def test_an_absence_without_an_end_closes_the_calendar_from_its_start(cast, client, clinic):
    from booking.models import ScheduleException
    from booking.slots import free_slots

    ScheduleException.objects.create(
        resource=clinic.doctor, period=(at(clinic.day, 10), None), reason="Orlov"
    )
    slots = free_slots(
        appointment_types=[clinic.control], start_date=clinic.day,
        end_date=clinic.day + timedelta(days=7), limit=50,
    )  # fmt: skip
    assert slots and all(s.starts_at < at(clinic.day, 10) for s in slots)
