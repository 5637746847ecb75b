"""Min Sundhedsplatform in the browser: the citizen signs in through the MitID simulator, sees
their overview, and sees a doctor's break the glass with its reason in "who has looked"; every
portal page passes axe (no serious or critical finding) and fits a phone."""

import pytest
from playwright.sync_api import expect

from patients.services import break_glass_create
from tests.browser.test_every_page import PHONE, check_page, check_phone
from tests.portal.conftest import add_citizens

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "Bevidstløs ved ankomst, ingen pårørende"


def test_a_citizen_signs_in_with_mitid_and_sees_who_has_looked(live_server, page, cast, mitid):
    add_citizens(mitid, [{"cpr": cast.patient.cpr, "name": "Karen Jensen"}])
    problems = {"sign-in": check_page(page, f"{live_server.url}/portal/log-paa/")}
    page.click("[data-testid=mitid-signin]")
    # The broker's own page: choose the citizen and the level of assurance.
    page.check(f"input[name=cpr][value='{cast.patient.cpr}']")
    page.select_option("select[name=loa]", "Substantial")
    page.click("button[value=approve]")
    expect(page.locator("[data-testid=portal-user]")).to_contain_text("Karen Jensen")
    assert page.url.endswith("/portal/")

    # A doctor without a care relation breaks the glass; the citizen sees it at once.
    break_glass_create(user=cast.other_doctor, patient=cast.patient, reason=REASON)
    page.click("text=Hvem har set min journal")
    row = page.locator("[data-testid=access-row][data-break-glass='1']").first
    expect(row).to_contain_text(REASON)
    expect(row).to_contain_text("Ortopædkirurgisk afdeling")

    for name, path in (
        ("overview", "/portal/"),
        ("access log", "/portal/hvem-har-set-min-journal/"),
    ):
        problems[name] = check_page(page, f"{live_server.url}{path}")
    page.set_viewport_size(PHONE)
    for name, path in (
        ("overview", "/portal/"),
        ("access log", "/portal/hvem-har-set-min-journal/"),
    ):
        problems[f"{name} (phone)"] = check_phone(page, f"{live_server.url}{path}")
    assert not any(problems.values()), problems
