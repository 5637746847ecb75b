"""The queues: laboratory staff match a patient by hand or fix a message, and it processes."""

from django.urls import reverse

from audit.models import AccessEvent
from labresults.models import InboundMessage, LabResult
from labresults.services import inbound_message_process, inbound_message_receive

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||{pid}||Jensen^Karen\r"
    "OBR|1|REQ1|LAB{control_id}|NPU03429^P-Natrium|||20261124093000\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||141|mmol/L|137-145|N|||F\r"
)


def stored(control_id, pid="H123456^^^HOSP^MR"):
    receipt = inbound_message_receive(
        raw=ORU.format(control_id=control_id, pid=pid).encode(), transport="mllp"
    )
    return inbound_message_process(message_id=receipt.message.pk) or receipt.message


def test_an_unmatched_message_is_matched_by_hand_and_processed(cast, client, lab_scientist):
    message = stored("Q1")
    assert message.status == "unmatched"
    client.force_login(lab_scientist)
    page = client.get(reverse("labresults:queues"))
    assert page.status_code == 200 and "Q1" in page.content.decode()
    url = reverse("labresults:queue_message", kwargs={"message_id": message.public_id})
    assert "NPU03429" in client.get(url).content.decode()
    response = client.post(url, {"cpr": "070761-4048"})
    assert response.status_code == 302
    assert inbound_message_process(message_id=message.pk).status == "processed"
    assert LabResult.objects.get().patient == cast.patient
    assert AccessEvent.objects.filter(
        patient_id=cast.patient.pk, user=lab_scientist, data_kind="lab_results"
    ).exists()
    message.refresh_from_db()
    assert bytes(message.raw) == ORU.format(control_id="Q1", pid="H123456^^^HOSP^MR").encode()


def test_a_failed_message_is_fixed_and_processed_while_the_original_is_kept(
    cast, client, lab_scientist
):
    broken = ORU.format(control_id="Q2", pid="0707614048^^^CPR").replace("OBR|1|REQ1", "OBX|9|X")
    receipt = inbound_message_receive(raw=broken.encode(), transport="mllp")
    assert receipt.message.status == "failed"
    client.force_login(lab_scientist)
    url = reverse("labresults:queue_message", kwargs={"message_id": receipt.message.public_id})
    fixed = ORU.format(control_id="Q2", pid="0707614048^^^CPR")
    assert client.post(url, {"fixed_text": fixed}).status_code == 302
    assert inbound_message_process(message_id=receipt.message.pk).status == "processed"
    receipt.message.refresh_from_db()
    assert bytes(receipt.message.raw) == broken.encode()


def test_an_unknown_cpr_in_the_match_form_names_the_problem(cast, client, lab_scientist):
    message = stored("Q3")
    client.force_login(lab_scientist)
    url = reverse("labresults:queue_message", kwargs={"message_id": message.public_id})
    response = client.post(url, {"cpr": "010190-0002"})
    assert response.status_code == 400
    assert InboundMessage.objects.get(pk=message.pk).status == "unmatched"


def test_clinicians_do_not_see_the_raw_queues(cast, client):
    message = stored("Q4")
    client.force_login(cast.treating_doctor)
    assert client.get(reverse("labresults:queues")).status_code == 403
    url = reverse("labresults:queue_message", kwargs={"message_id": message.public_id})
    assert client.get(url).status_code == 403
