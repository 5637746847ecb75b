"""A secretary's morning in the browser: find a free time, book it, move it, cancel it; then the
doctor books a follow-up in two clicks from the overview."""

import pytest
from playwright.sync_api import expect

from booking.models import Booking

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username, password):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


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
