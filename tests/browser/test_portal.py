"""Min Sundhedsplatform in the browser. The citizen signs in through the MitID simulator, sees
a released result and not an unreleased one, writes to the department and reads the doctor's
answer, sees a break the glass with its reason in "who has looked", and blocks a course, which
a doctor of another department then sees as blocked. Every portal page passes axe (no serious
or critical finding) and fits a phone."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from patients.services import break_glass_create, care_course_create
from tests.browser.test_every_page import PHONE, check_page, check_phone
from tests.conftest import browser_sign_in
from tests.portal.conftest import add_citizens
from tests.portal.test_release import report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Bevidstløs ved ankomst, ingen pårørende"
PORTAL_PAGES = [
    "/portal/", "/portal/svar/", "/portal/svar/NPU01370/", "/portal/notater/", "/portal/aftaler/",
    "/portal/medicin/", "/portal/beskeder/", "/portal/fuldmagt/", "/portal/spaerringer/",
    "/portal/hvem-har-set-min-journal/",
]  # fmt: skip


def mitid_browser_sign_in(page, live_server, cpr: str) -> None:
    page.goto(f"{live_server.url}/portal/log-paa/")
    page.click("[data-testid=mitid-signin]")
    # The broker's own page: the citizen and the level of assurance.
    page.check(f"input[name=cpr][value='{cpr}']")
    page.select_option("select[name=loa]", "Substantial")
    page.click("button[value=approve]")
    expect(page.locator("[data-testid=portal-user]")).to_be_visible()


def test_a_citizens_day_in_the_portal(live_server, page, browser, cast, mitid):
    add_citizens(mitid, [{"cpr": cast.patient.cpr, "name": "Karen Jensen"}])
    report(cast, number="R1", days_ago=4, value="123.4", flag="")
    report(cast, number="R2", days_ago=1, value="987.65")
    knee = care_course_create(
        patient=cast.patient, department=cast.orthopaedics, kind="outpatient",
        title="Knæsmerter", started_at=timezone.now() - timezone.timedelta(days=2),
    )  # fmt: skip
    problems = {"sign-in": check_page(page, f"{live_server.url}/portal/log-paa/")}
    mitid_browser_sign_in(page, live_server, cast.patient.cpr)
    assert page.url.endswith("/portal/")

    # A released result, and the unreleased one only as "on its way".
    page.click(".portal-nav a[href='/portal/svar/']")
    expect(page.locator("[data-testid=released-result]").first).to_contain_text("123,4")
    expect(page.locator("[data-testid=pending-result]")).to_contain_text("Prøve R2")
    assert "987,65" not in page.content()

    # A message to cardiology; the doctor answers from the chart.
    page.click(".portal-nav a[href='/portal/beskeder/']")
    page.select_option("#id_department", label=f"{cast.cardiology.name}, Testhospitalet "
                       "(svarer normalt inden for 3 hverdage)")  # fmt: skip
    page.fill("#id_subject", "Svimmelhed")
    page.fill("#id_text", "Jeg bliver svimmel om morgenen.")
    page.click("[data-testid=send-message]")
    expect(page.locator("[data-testid=portal-message]")).to_have_count(1)
    doctor = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen").new_page()
    browser_sign_in(doctor, live_server, "treating_doctor", cast.PASSWORD)
    doctor.click("[data-testid=dashboard-messages]")
    doctor.click("#message-inbox a:has-text('Svimmelhed')")
    doctor.fill("#id_text", "Mål dit blodtryk og ring, hvis det fortsætter.")
    doctor.click("[data-testid=send-answer]")
    expect(doctor.locator(".alert-success")).to_be_visible()
    page.reload()
    expect(page.locator("[data-testid=portal-message]")).to_have_count(2)
    expect(page.locator("[data-testid=portal-message]").nth(1)).to_contain_text("blodtryk")

    # A doctor of the emergency department, without a care relation, breaks the glass: at once
    # in "who has looked".
    from sundhed.testing.factories import DepartmentFactory, StaffMemberFactory

    emergency = DepartmentFactory(hospital=cast.cardiology.hospital, name="Akutmodtagelsen")
    emergency_doctor = StaffMemberFactory(department=emergency)
    break_glass_create(user=emergency_doctor.user, patient=cast.patient, reason=REASON)
    page.click(".portal-nav a[href='/portal/hvem-har-set-min-journal/']")
    expect(page.locator("[data-testid=access-row][data-break-glass='1']").first).to_contain_text(
        REASON
    )

    # The citizen blocks the cardiology course; orthopaedics then sees only that it is blocked.
    page.click(".portal-nav a[href='/portal/spaerringer/']")
    page.check(f"input[name=target][value='course:{cast.course.public_id}']")
    page.click("[data-testid=add-blocking]")
    expect(page.locator("[data-testid=portal-blocking]")).to_contain_text("Atrieflimren")
    orthopaedist = browser.new_context(locale="da-DK").new_page()
    browser_sign_in(orthopaedist, live_server, "other_doctor", cast.PASSWORD)
    orthopaedist.goto(f"{live_server.url}/patients/{cast.patient.public_id}/")
    expect(orthopaedist.locator("[data-testid=blocked-course]")).to_be_visible()
    assert "Atrieflimren" not in orthopaedist.content() and knee.title in orthopaedist.content()
    doctor.context.close()
    orthopaedist.context.close()

    for path in PORTAL_PAGES:
        problems[path] = check_page(page, f"{live_server.url}{path}")
    page.set_viewport_size(PHONE)
    for path in PORTAL_PAGES:
        problems[f"{path} (phone)"] = check_phone(page, f"{live_server.url}{path}")
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}
