"""The MLLP receiver stores each message and commits before it acknowledges it."""

import socket

import pytest

from labresults.hl7.mllp import Deframer, frame
from labresults.hl7.parser import parse
from labresults.models import InboundMessage

pytestmark = pytest.mark.django_db(transaction=True)

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1|REQ1|LAB{control_id}|NPU03429^P-Natrium|||20261124093000\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||141|mmol/L|137-145|N|||F\r"
)


def send(port, *messages: bytes) -> list:
    """Send framed messages on one connection; return the parsed ACKs."""
    acks, deframer = [], Deframer()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"".join(frame(m) for m in messages))
        while len(acks) < len(messages):
            acks += deframer.feed(conn.recv(65536))
    return [parse(a) for a in acks]


def test_a_result_is_stored_before_it_is_acknowledged(mllp_receiver):
    (ack,) = send(mllp_receiver, ORU.format(control_id="A1").encode())
    assert ack.first("MSA").get(1) == "AA" and ack.first("MSA").get(2) == "A1"
    row = InboundMessage.objects.get()
    assert (row.status, row.sender, row.control_id, row.message_type) == (
        "received",
        "LABSYS@KBA RH",
        "A1",
        "ORU^R01",
    )
    assert bytes(row.raw) == ORU.format(control_id="A1").encode()


def test_a_resent_message_is_acknowledged_and_not_stored_twice(mllp_receiver):
    message = ORU.format(control_id="DUP1").encode()
    acks = send(mllp_receiver, message, message)
    assert [a.first("MSA").get(1) for a in acks] == ["AA", "AA"]
    assert InboundMessage.objects.count() == 1


def test_what_cannot_be_taken_is_refused_with_a_reason_and_kept(mllp_receiver):
    garbage = b"this is not hl7"
    adt = b"MSH|^~\\&|ADT|RH|SUNDHED|RH|20261124||ADT^A01|X9|P|2.5\rPID|1\r"
    refused, not_result = send(mllp_receiver, garbage, adt)
    assert refused.first("MSA").get(1) == "AR" and "MSH" in refused.first("MSA").get(3)
    assert not_result.first("MSA").get(1) == "AR"
    assert "not a result message" in not_result.first("MSA").get(3)
    failed = InboundMessage.objects.filter(status="failed")
    assert failed.count() == 2 and all(row.reason for row in failed)


def test_many_messages_on_one_connection_are_answered_in_order(mllp_receiver):
    messages = [ORU.format(control_id=f"M{n}").encode() for n in range(50)]
    acks = send(mllp_receiver, *messages)
    assert [a.first("MSA").get(2) for a in acks] == [f"M{n}" for n in range(50)]
    assert InboundMessage.objects.count() == 50
