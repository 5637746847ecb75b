"""Any byte sequence is stored, then processed or failed with the reason; nothing loops."""

import pytest
from django.utils import timezone

from labresults.models import InboundMessage
from labresults.services import (
    MAX_ATTEMPTS,
    inbound_message_process,
    inbound_message_receive,
    system_client_create,
)
from tests.labresults.test_receive_http import post
from tests.labresults.test_receive_mllp import send

ORU = (
    "MSH|^~\\&|{app}|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1|REQ1|LAB{control_id}|NPU03429^P-Natrium|||20261124093000\r"
    "OBX|1|ST|NPU03429^P-Natrium^NPU||{value}|mmol/L|137-145|N|||F\r"
)


def oru(control_id, *, app="LABSYS", value="141") -> bytes:
    return ORU.format(control_id=control_id, app=app, value=value).encode()


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_the_sender_over_mllp_is_stored_and_acknowledged(mllp_receiver):
    (ack,) = send(mllp_receiver, oru("N1", app="LAB\x00SYS"))
    assert ack.first("MSA").get(1) == "AA"
    row = InboundMessage.objects.get()
    assert b"LAB\x00SYS" in bytes(row.raw)
    assert row.sender == "LAB\ufffdSYS@KBA RH"


@pytest.mark.django_db
def test_a_nul_in_the_sender_over_http_is_not_a_500(client):
    token = system_client_create(name="KBA")[1]
    response = post(client, oru("N2", app="LAB\x00SYS").decode(), token=token)
    assert response.status_code < 500
    assert InboundMessage.objects.filter(control_id="N2").exists()


@pytest.mark.django_db
def test_a_nul_in_a_value_fails_with_the_reason_and_does_not_stay_received(cast):
    receipt = inbound_message_receive(raw=oru("N3", value="14\x001"), transport="mllp")
    message = inbound_message_process(message_id=receipt.message.pk)
    assert message.status == "failed"
    assert "cannot store" in message.reason
    assert message.attempts == 1
    # The sweeper's next try finds nothing to do: it is in the failed queue, not looping.
    assert inbound_message_process(message_id=message.pk) is None


@pytest.mark.django_db
def test_a_message_whose_processing_keeps_raising_is_failed_after_the_limit(cast, monkeypatch):
    import labresults.services.processing as processing

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in processing")

    monkeypatch.setattr(processing, "_file_round", broken)
    receipt = inbound_message_receive(raw=oru("N4"), transport="mllp")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        message = inbound_message_process(message_id=receipt.message.pk)
        assert message.attempts == attempt
        assert "a bug in processing" in message.reason
        if attempt < MAX_ATTEMPTS:  # it waits a while before it is tried again
            assert message.status == "received" and message.due_at > timezone.now()
            assert inbound_message_process(message_id=receipt.message.pk) is None
            InboundMessage.objects.filter(pk=message.pk).update(due_at=timezone.now())
    assert message.status == "failed"
    assert inbound_message_process(message_id=receipt.message.pk) is None
