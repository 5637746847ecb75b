"""Acknowledging results where the clinician reads them: on the patient's results tab, and an
inbox that reads patient by patient with analysis names and units."""

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from labresults.models import InboxItem
from labresults.services import inbound_message_process, inbound_message_receive

pytestmark = pytest.mark.django_db

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||{cpr}^^^CPR^CPR\r"
    "OBR|1||F{control_id}|PAKKE^Nyre|||20261124093000|||||||||||||||20261124101000|||F\r"
    "OBX|1|NM|DNK35302^DNK35302^NPU||51.9|||L|||F\r"
    "OBX|2|NM|NPU01459^P-Carbamid^NPU||{urea}|mmol/L|||||F\r"
)


def arrive(control_id, cpr, urea="5.0"):
    raw = ORU.format(control_id=control_id, cpr=cpr, urea=urea).encode()
    receipt = inbound_message_receive(raw=raw, transport="mllp")
    return inbound_message_process(message_id=receipt.message.pk)


def results_url(cast, name="labresults:results"):
    return reverse(name, kwargs={"patient_id": cast.patient.public_id})


def test_the_results_tab_lists_new_reports_and_acknowledges_them_with_one_event(cast, client):
    arrive("R1", cast.patient.cpr)
    arrive("R2", cast.patient.cpr, urea="53.1")
    client.force_login(cast.treating_doctor)
    page = client.get(results_url(cast)).content.decode()
    assert page.count('data-testid="acknowledge-row"') == 2
    # Names and units from the catalogue, not the laboratory's bare code.
    assert "eGFR" in page and "mL/min" in page
    before = AccessEvent.objects.count()
    ticked = [item.public_id for item in InboxItem.objects.all()]
    response = client.post(results_url(cast, "labresults:results_acknowledge"), {"item": ticked})
    assert response.status_code == 302
    assert AccessEvent.objects.count() == before + 1
    event = AccessEvent.objects.latest("id")
    assert (event.patient_id, event.action) == (cast.patient.pk, "update")
    items = InboxItem.objects.all()
    assert {i.acknowledged_by_id for i in items} == {cast.treating_doctor.staff.pk}
    assert 'data-testid="acknowledge-row"' not in client.get(results_url(cast)).content.decode()


def test_only_the_ticked_reports_are_acknowledged(cast, client):
    arrive("T1", cast.patient.cpr)
    arrive("T2", cast.patient.cpr)
    first = InboxItem.objects.get(report__filler_order_number="FT1")
    client.force_login(cast.treating_doctor)
    client.post(results_url(cast, "labresults:results_acknowledge"), {"item": [first.public_id]})
    assert list(InboxItem.objects.filter(acknowledged_at__isnull=False)) == [first]


def test_another_departments_reports_are_neither_shown_nor_acknowledged_here(cast, client):
    arrive("O1", cast.patient.cpr)
    InboxItem.objects.update(department=cast.orthopaedics)
    client.force_login(cast.treating_doctor)
    page = client.get(results_url(cast))
    assert page.status_code == 200
    assert 'data-testid="acknowledge-row"' not in page.content.decode()
    item = InboxItem.objects.get()
    client.post(results_url(cast, "labresults:results_acknowledge"), {"item": [item.public_id]})
    assert not InboxItem.objects.filter(acknowledged_at__isnull=False).exists()


def test_nothing_ticked_acknowledges_nothing(cast, client):
    arrive("N1", cast.patient.cpr)
    client.force_login(cast.treating_doctor)
    response = client.post(results_url(cast, "labresults:results_acknowledge"), follow=True)
    assert "Sæt hak" in response.content.decode()
    assert not InboxItem.objects.filter(acknowledged_at__isnull=False).exists()


def test_an_item_that_is_no_id_is_a_400_naming_it(cast, client):
    client.force_login(cast.treating_doctor)
    response = client.post(results_url(cast, "labresults:results_acknowledge"), {"item": "x"})
    assert response.status_code == 400
    assert "item" in response.content.decode()


def test_the_inbox_reads_patient_by_patient_with_names_and_units(cast, client):
    arrive("I1", cast.patient.cpr)
    arrive("I2", cast.patient.cpr, urea="53.1")
    client.force_login(cast.treating_doctor)
    response = client.get(reverse("labresults:inbox"))
    page = response.content.decode()
    assert page.count('data-testid="inbox-patient"') == 1
    assert page.count('data-testid="inbox-row"') == 2
    assert "eGFR 51,9 mL/min" in page and "DNK35302" not in page
    (group,) = response.context["groups"]
    assert group.critical == 1 and len(group.open) == 2
