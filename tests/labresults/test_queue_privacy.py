"""The queues show only what needs a person; reading a raw message is logged to its patient."""

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from labresults.services import inbound_message_process, inbound_message_receive
from tests.labresults.test_nul_bytes import oru

pytestmark = pytest.mark.django_db


def test_processed_messages_are_not_browsable_from_the_queues(cast, client, lab_scientist):
    receipt = inbound_message_receive(raw=oru("Q1"), transport="mllp")
    inbound_message_process(message_id=receipt.message.pk)
    client.force_login(lab_scientist)
    assert client.get(reverse("labresults:queues") + "?status=processed").status_code == 400
    url = reverse("labresults:queue_message", kwargs={"message_id": receipt.message.public_id})
    response = client.get(url)
    assert response.status_code == 404
    assert "0707614048" not in response.content.decode()


def test_reading_a_failed_message_of_a_known_patient_is_logged_to_that_patient(
    cast, client, lab_scientist
):
    receipt = inbound_message_receive(raw=oru("Q2", value="14\x001"), transport="mllp")
    message = inbound_message_process(message_id=receipt.message.pk)
    assert message.status == "failed"
    client.force_login(lab_scientist)
    url = reverse("labresults:queue_message", kwargs={"message_id": message.public_id})
    assert client.get(url).status_code == 200
    event = AccessEvent.objects.get(patient_id=cast.patient.pk, data_kind="lab_queue")
    assert (event.user_id, event.action) == (lab_scientist.pk, "view")
    # And the patient's own "who has looked" shows it.
    client.force_login(cast.treating_doctor)
    log = client.get(reverse("patients:access_log", kwargs={"patient_id": cast.patient.public_id}))
    assert "bioanalytiker" in log.content.decode() or lab_scientist.username in log.content.decode()


def test_clinicians_do_not_see_the_queues(cast, client):
    client.force_login(cast.treating_doctor)
    assert client.get(reverse("labresults:queues")).status_code == 403
