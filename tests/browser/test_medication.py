"""The medication flow in the browser, against fmksim and a real worker: a patient is admitted
(the card is read), the doctor reconciles (continue two, withdraw one, change a dose, add a drug
whose interaction warning is overridden with a reason), a nurse gives a dose, the doctor
discharges, and fmksim's card carries the changes in a new version."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from medicinkort.models import Administration, CardRead, Drug, Reconciliation
from medicinkort.services import OrderData, order_create
from patients.access import access_decide
from patients.models import CareCourse
from patients.services import care_course_create
from tests.conftest import browser_sign_in as sign_in
from tests.medicinkort.conftest import card_with_lines, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admit_reconcile_give_and_discharge(
    live_server, page, cast, fmksim, celery_worker, settings
):
    settings.SUNDHED_FMK_READ_ON_ADMISSION = True
    patient = cast.stranger
    before = card_with_lines(fmksim, patient.cpr, 4)
    course = care_course_create(
        patient=patient, department=cast.cardiology, kind=CareCourse.Kind.ADMISSION,
        title="Atrieflimren", started_at=timezone.now(), responsible=cast.treating_doctor.staff,
    )  # fmt: skip
    wait_for(lambda: CardRead.objects.filter(patient=patient, status="done").exists(),
             what="the card read on admission")  # fmt: skip
    access = access_decide(user=cast.treating_doctor, patient=patient, data_kind="medication")
    order_create(  # the ward has started warfarin
        access=access, course=course,
        data=OrderData.from_drug(Drug.objects.filter(atc_code="B01AA03").first(),
                                 dose_text="1 tablet aften", times=["18:00"]),
    )  # fmt: skip

    sign_in(page, live_server, "treating_doctor", cast.PASSWORD)
    page.goto(f"{live_server.url}/medication/{patient.public_id}/")
    lines = page.locator("[data-testid=fmk-line]")
    expect(lines).to_have_count(len([d for d in before["drug_medications"] if not d["withdrawn"]]))

    page.click("[data-testid=reconcile-admission]")
    rows = page.locator("[data-testid=reconcile-line]")
    third, fourth = rows.nth(2), rows.nth(3)
    third.locator("[data-testid=decision-withdraw]").click()
    third.locator("[data-testid=reason]").fill("Bivirkning: svimmelhed")
    fourth.locator("[data-testid=decision-change]").click()
    fourth.locator("[data-testid=dose]").fill("1 tablet dagligt")
    withdrawn_name = third.get_attribute("data-drug")
    changed_name = fourth.get_attribute("data-drug")
    brufen = Drug.objects.filter(name="Brufen").order_by("strength").first()
    # The drug is found by typing (a type-ahead, not a list of 639), and its checks appear as
    # it is picked, before anything is confirmed.
    page.locator("[data-testid=drug-search]").first.fill("brufen")
    page.locator(f"[data-drug-pick='{brufen.public_id}']").click()
    expect(page.locator("[data-testid=drug-search]").first).to_have_value(
        f"{brufen.name} {brufen.strength} {brufen.form_text}"
    )
    picked = page.locator("#new-drug-1-checks [data-testid=check-warning]")
    expect(picked.filter(has_text="Marevan").first).to_be_visible()
    for reason in page.locator("#new-drug-1-checks [data-testid=override-reason]").all():
        reason.fill("Kortvarigt, med PPI og tæt INR-kontrol")
    page.locator("[data-testid=new-dose]").first.fill("1 tablet efter behov")
    # A second new drug given 'x 3', with its indication: three doses a day on the round.
    pamol = Drug.objects.filter(name="Pamol", strength="500 mg").first()
    page.locator("#new-drug-2-search").fill("pamol 500")
    page.locator(f"[data-drug-pick='{pamol.public_id}']").click()
    expect(page.locator("#new-drug-2-search")).to_have_value(
        f"{pamol.name} {pamol.strength} {pamol.form_text}"
    )
    page.wait_for_load_state("networkidle")
    for reason in page.locator("#new-drug-2-checks [data-testid=override-reason]").all():
        reason.fill("Vurderet, kortvarigt")
    page.locator("[data-testid=new-dose]").nth(1).fill("1 tablet x 3")
    page.locator("#new-reason-2").fill("Feber")
    page.click("[data-testid=reconcile-confirm]")
    # The changed line is checked when confirming (its reasons, if the random card needs any).
    answered = page.locator("[data-testid=reconciliation-status], [data-testid=check-warnings]")
    expect(answered.first).to_be_visible()
    if page.locator("[data-testid=check-warnings]").count():
        for reason in page.locator(
            "[data-testid=check-warnings] [data-testid=override-reason]"
        ).all():
            reason.fill("Kortvarigt, med PPI og tæt INR-kontrol")
        page.click("[data-testid=reconcile-confirm]")
    expect(page.locator("[data-testid=reconciliation-status]")).to_be_visible()
    reconciliation = Reconciliation.objects.get(patient=patient, kind="admission")
    wait_for(lambda: Reconciliation.objects.get(pk=reconciliation.pk).status == "updated",
             what="FMK updated after the admission reconciliation")  # fmt: skip

    sign_in(page, live_server, "nurse", cast.PASSWORD)
    # The stay on the round: 'x 3' is three doses every day (tomorrow's, planned, counted).
    page.goto(f"{live_server.url}/medication/mar/?view=stay&patient={patient.public_id}")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    doses = page.locator(f"[data-testid=mar-row][data-drug='Pamol'][data-due^='{tomorrow}']")
    expect(doses).to_have_count(3)
    page.goto(f"{live_server.url}/medication/mar/")
    pn = page.locator("[data-testid=pn-row]", has_text="Brufen")
    pn.locator("input[name=reason]").fill("Smerter i knæet")
    pn.locator("button[type=submit]").click()
    expect(page.locator(".alert-success, .alert", has_text="Brufen").first).to_be_visible()
    assert Administration.objects.filter(patient=patient, order__drug_name="Brufen").count() == 1

    sign_in(page, live_server, "treating_doctor", cast.PASSWORD)
    page.goto(f"{live_server.url}/medication/{patient.public_id}/")
    page.click("[data-testid=reconcile-discharge]")
    page.click("[data-testid=reconcile-confirm]")
    expect(page.locator("[data-testid=reconciliation-status]")).to_be_visible()
    discharge = Reconciliation.objects.get(patient=patient, kind="discharge")
    wait_for(lambda: Reconciliation.objects.get(pk=discharge.pk).status == "updated",
             what="the discharge complete")  # fmt: skip
    course.refresh_from_db()
    assert course.ended_at is not None

    after = fmksim.card(patient.cpr)
    assert after["version"] != before["version"] and after["reviewed"]
    by_name = {}
    for line in after["drug_medications"]:
        by_name.setdefault(line["name"], []).append(line)
    assert all(line["withdrawn"] for line in by_name[withdrawn_name])
    assert any(line["dosage"] == "1 tablet dagligt" for line in by_name[changed_name])
    assert [line["dosage"] for line in by_name["Brufen"]] == ["1 tablet efter behov"]
    # What was typed is on FMK's card as typed: the dose text and the indication.
    assert [(line["dosage"], line["indication"]) for line in by_name["Pamol"]] == [
        ("1 tablet x 3", "Feber")
    ]
