"""The queues say why in the reader's language: reasons are stored as a template and its values
(the ACK to the laboratory keeps the English text)."""

import pytest
from django.urls import reverse
from django.utils import translation

from labresults.models import InboundMessage
from labresults.services import inbound_message_process, inbound_message_receive

pytestmark = pytest.mark.django_db

NOBODY = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|Q1|P|2.5\r"
    "PID|1||0101010000^^^CPR^CPR\r"
    "OBR|1||FQ1|NPU03429^P-Natrium|||20261124093000\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||141|mmol/L|||||F\r"
)


def test_a_reason_is_danish_on_the_queue_page_and_english_in_the_ack(cast, client, lab_scientist):
    refused = inbound_message_receive(raw=b"MSH|^~\\&|X|Y|Z\rOBX|1", transport="mllp")
    assert "MSH-9 (message type) is empty." in refused.ack.decode()
    unmatched = inbound_message_receive(raw=NOBODY.encode(), transport="mllp")
    inbound_message_process(message_id=unmatched.message.pk)
    client.force_login(lab_scientist)
    failed_page = client.get(reverse("labresults:queues") + "?status=failed").content.decode()
    assert "MSH-9 (meddelelsestype) er tom." in failed_page
    unmatched_page = client.get(reverse("labresults:queues") + "?status=unmatched")
    assert "Ingen patient med CPR-nummer 010101-0000." in unmatched_page.content.decode()


def test_the_same_reason_reads_in_english_for_an_english_reader(cast):
    receipt = inbound_message_receive(raw=b"MSH|^~\\&|X|Y|Z\rOBX|1", transport="mllp")
    message = InboundMessage.objects.get(pk=receipt.message.pk)
    with translation.override("en"):
        assert message.reason_shown == "MSH-9 (message type) is empty."
    with translation.override("da"):
        assert message.reason_shown == "MSH-9 (meddelelsestype) er tom."
    assert message.reason == "MSH-9 (message type) is empty."
