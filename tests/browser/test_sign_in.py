"""A person signs in through the browser and lands on the start page, in Danish."""

import pytest
from playwright.sync_api import expect

from sundhed.demo.seed import DEMO_PASSWORD, seed_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_administrator_signs_in_and_sees_the_danish_start_page(live_server, page, settings):
    settings.SUNDHED_MFA_OPTIONAL = True
    seed_demo(patients=20)
    page.goto(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    page.fill("input[name=login]", "admin")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Velkommen")
    expect(page.locator("#patient-search")).to_be_visible()
