"""A secretary's morning in the browser: find a free time, book it, move it, cancel it; then the
doctor books a follow-up in two clicks from the overview."""

import pytest
from playwright.sync_api import expect

from booking.models import Booking
from tests.conftest import browser_sign_in as sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_find_book_move_cancel_and_follow_up(live_server, page, cast, clinic):
    sign_in(page, live_server, "treating_doctor", cast.PASSWORD)
    page.locator("[data-testid=worklist-row] a", has_text="Karen Jensen").first.click()
    page.click("#patient-banner a[href*='/booking/']")
    page.select_option("#id_type", label="Kontrol efter atrieflimren (20 min)")
    page.fill("#id_from", clinic.day.isoformat())
    page.fill("#id_after", "09:00")
    page.click("#slot-finder button[type=submit]")
    first = page.locator("[data-testid=free-slot]").first
    expect(first).to_contain_text("09:00")
    first.click()
    expect(page.locator(".alert-success")).to_contain_text("Booket")
    expect(page.locator("[data-testid=booking-row]")).to_have_count(1)

    # Move it to the next free time.
    page.click("[data-testid=move-booking]")
    page.locator("[data-testid=free-slot]").nth(1).click()
    expect(page.locator(".alert-success")).to_contain_text("Flyttet")
    rows = page.locator("[data-testid=booking-row]")
    expect(rows).to_have_count(1)
    expect(rows.first).not_to_contain_text(" 09:00")

    # Cancel it: the reason is asked for only when the row's cancel is opened.
    rows.first.locator("summary").click()
    rows.first.locator("input[name=reason]").fill("Patienten er indlagt andetsteds")
    rows.first.locator("[data-testid=cancel-booking]").click()
    expect(page.locator(".alert-success")).to_contain_text("aflyst")
    expect(page.locator("[data-testid=booking-row]")).to_have_count(0)
    assert sorted(Booking.objects.values_list("status", flat=True)) == ["cancelled", "rescheduled"]

    # A seen visit, then the follow-up: the overview's link and one click on a time.
    from django.utils import timezone

    from booking import services
    from patients.access import access_decide

    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="booking")
    slot_start = timezone.make_aware(
        timezone.datetime.combine(clinic.day, timezone.datetime.min.time())
    ) + timezone.timedelta(hours=11)
    seen = services.booking_create(
        access=access, appointment_type=clinic.control, starts_at=slot_start
    )
    Booking.objects.filter(pk=seen.pk).update(status="seen")
    page.click("#patient-banner a[href^='/chart/']")
    page.click("[data-testid=panel-follow-up]")
    page.locator("[data-testid=free-slot]").first.click()
    expect(page.locator(".alert-success")).to_contain_text("Booket")
    follow = Booking.objects.get(status="booked")
    # Four weeks on from today, with the same doctor.
    in_four_weeks = timezone.localdate() + timezone.timedelta(weeks=4)
    assert timezone.localdate(follow.starts_at) >= in_four_weeks
    assert follow.allocations.filter(resource=clinic.doctor).exists()


def test_a_freed_time_is_offered_to_the_first_on_the_waiting_list_who_accepts_by_the_link(
    live_server, page, cast, clinic, outbound
):
    from datetime import datetime, time

    from django.utils import timezone

    from booking import services
    from booking.models import SlotOffer, WaitingListEntry
    from booking.services.waiting import offer_next
    from patients.access import access_decide
    from tests.booking.conftest import send_messages

    # The stranger (referred, with a phone) waits for an earlier control; Karen's is cancelled.
    cast.stranger.phone = "+4520304099"
    cast.stranger.save(update_fields=["phone"])
    from patients.services import care_course_create

    care_course_create(
        patient=cast.stranger, department=cast.cardiology, kind="referral", title="Henvisning",
        started_at=timezone.now() - timezone.timedelta(days=1),
    )  # fmt: skip
    sign_in(page, live_server, "treating_doctor", cast.PASSWORD)
    page.goto(
        f"{live_server.url}/booking/{cast.stranger.public_id}/?type={clinic.control.public_id}"
    )
    page.click("[data-testid=waiting-add]")
    expect(page.locator("[data-testid=waiting-entry]")).to_have_count(1)
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="booking")
    start = timezone.make_aware(datetime.combine(clinic.day, time(10)))
    booking = services.booking_create(
        access=access, appointment_type=clinic.control, starts_at=start
    )
    page.goto(f"{live_server.url}/booking/{cast.patient.public_id}/")
    page.locator("[data-testid=booking-row] summary").first.click()
    page.locator("[data-testid=booking-row] select[name=by]").select_option("hospital")
    page.locator("[data-testid=booking-row] input[name=reason]").fill("Lægen er syg")
    page.click("[data-testid=cancel-booking]")
    expect(page.locator(".alert-success")).to_contain_text("aflyst")
    # The worker's task offers the freed time and sends it; run here in the test's process too
    # (a session worker may have done it first: one offer either way).
    offer = offer_next(
        appointment_type_id=clinic.control.pk, starts_at=booking.starts_at
    ) or SlotOffer.objects.get(entry__patient=cast.stranger)
    send_messages()
    sms = [m for m in outbound.sms() if m["to"] == "+4520304099"]
    link = sms[-1]["text"].rsplit(" ", 1)[1]
    assert offer.token in link
    page.context.clear_cookies()  # the patient, on their phone, not signed in
    from urllib.parse import urlparse

    page.goto(live_server.url + urlparse(link).path)
    expect(page.locator("[data-testid=offer-time]")).to_contain_text("10:00")
    page.click("[data-testid=offer-accept]")
    expect(page.locator(".alert-success")).to_contain_text("booket")
    assert WaitingListEntry.objects.get(patient=cast.stranger).status == "booked"
