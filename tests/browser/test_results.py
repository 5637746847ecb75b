"""A doctor reads a patient's results: a critical value is red in the cumulative table (as the
legend says), and the new reports are acknowledged from the results tab."""

import pytest
from playwright.sync_api import expect

from labresults.models import InboxItem
from labresults.services import inbound_message_process, inbound_message_receive

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|BR1|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR\r"
    "OBR|1||FBR1|PAKKE^Nyre|||20261124093000|||||||||||||||20261124101000|||F\r"
    "OBX|1|NM|NPU01459^P-Carbamid^NPU||53.1|mmol/L|||||F\r"
    "OBX|2|NM|NPU03429^P-Natrium^NPU||141|mmol/L|||||F\r"
)


def test_a_critical_value_is_red_and_is_acknowledged_from_the_results_tab(live_server, page, cast):
    receipt = inbound_message_receive(raw=ORU.encode(), transport="mllp")
    assert inbound_message_process(message_id=receipt.message.pk).status == "processed"

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "treating_doctor")
    page.fill("input[name=password]", cast.PASSWORD)
    page.click("button[type=submit]")
    page.locator("[data-testid=worklist-row] a", has_text="Karen Jensen").click()
    page.click("#patient-banner a[href$='/results/']")

    urea = page.locator("[data-testid=cumulative-row][data-code=NPU01459] td.result-critical")
    expect(urea).to_contain_text("53,1")  # the Danish decimal comma
    colour, background = urea.evaluate(
        "cell => [getComputedStyle(cell).color, getComputedStyle(cell).backgroundColor]"
    )
    # Bootstrap's table paints cells by its own variables; the critical cell must still be red.
    # (The background is Bootstrap's inset shadow when it sets --bs-table-bg-state.)
    shadow = urea.evaluate("cell => getComputedStyle(cell).boxShadow")
    assert colour == "rgb(176, 42, 55)", colour
    assert "rgb(248, 215, 218)" in (background + shadow), (background, shadow)
    sodium = page.locator("[data-testid=cumulative-row][data-code=NPU03429] td").nth(1)
    assert sodium.evaluate("cell => getComputedStyle(cell).color") != "rgb(176, 42, 55)"

    expect(page.locator("[data-testid=acknowledge-row]")).to_have_count(1)
    page.click("[data-testid=acknowledge-results]")
    expect(page.locator("[data-testid=acknowledge-row]")).to_have_count(0)
    assert InboxItem.objects.get().acknowledged_by == cast.treating_doctor.staff
