"""A doctor signs in with a second factor, finds patients, and breaks the glass for one."""

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_sign_in_find_a_patient_and_break_the_glass(live_server, page, cast, settings):
    settings.SUNDHED_MFA_OPTIONAL = False
    TOTP.activate(cast.treating_doctor, SECRET)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "treating_doctor")
    page.fill("input[name=password]", cast.PASSWORD)
    page.click("button[type=submit]")
    page.fill("input[name=code]", format_hotp_value(hotp_value(SECRET, int(time.time()) // 30)))
    page.click("button[type=submit]")
    expect(page.locator("#patient-search")).to_be_visible()

    # Her own patient, by CPR in the top bar: the banner shows CAVE.
    page.fill("#patient-search", "070761-4048")
    page.press("#patient-search", "Enter")
    page.locator("[data-testid=search-result]").first.click()
    expect(page.locator("#patient-banner")).to_contain_text("Karen Jensen")
    expect(page.locator("[data-testid=cave]")).to_contain_text("Penicillin")

    # A patient without care relation: refused, then the glass is broken with a reason.
    page.fill("#patient-search", "1502808059")
    page.press("#patient-search", "Enter")
    page.locator("[data-testid=search-result]").first.click()
    expect(page.locator("[data-testid=access-refused]")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Holm")
    page.click("[data-testid=break-glass-link]")
    page.fill("textarea[name=reason]", "Akut indlagt bevidstløs, skal se tidligere journal")
    page.click("[data-testid=break-glass-submit]")
    expect(page.locator("#patient-banner")).to_contain_text("Lars Holm")
    expect(page.locator("[data-testid=break-glass-marker]")).to_be_visible()

    page.click("#patient-banner a[href$='/access-log/']")
    flagged = page.locator("#access-log tr.table-danger")
    expect(flagged.first).to_contain_text(re.compile("værdispring", re.IGNORECASE))
    expect(flagged.first).to_contain_text("Akut indlagt bevidstløs")
