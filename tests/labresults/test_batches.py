"""Throughput by design: the receiver stores what arrives on all connections in one transaction
(group commit) and still answers each message only after its commit; a task files a batch of
waiting messages together, in rounds when two share a report key, and message by message when
the batch fails."""

import socket
import threading

import pytest
from django.db import connection
from django.utils import timezone

from labresults.hl7.mllp import Deframer, frame
from labresults.hl7.parser import parse
from labresults.models import InboundMessage, InboxItem, LabReport, LabResult
from labresults.services import (
    Incoming,
    inbound_message_process,
    inbound_messages_process,
    inbound_messages_receive,
)

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||{cpr}^^^CPR^CPR\r"
    "OBR|1||{filler}|NPU03429^P-Natrium|||20261124093000|||||||||||||||20261124101000|||{status}\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||{sodium}|mmol/L|137-145||||{status}\r"
    "OBX|2|NM|NPU03230^P-Kalium^NPU||{potassium}|mmol/L|3.5-4.4||||{status}\r"
)


def oru(control_id, *, cpr="0707614048", filler=None, status="F", sodium="141", potassium="4.1"):
    return ORU.format(
        control_id=control_id,
        cpr=cpr,
        filler=filler or f"F{control_id}",
        status=status,
        sodium=sodium,
        potassium=potassium,
    ).encode()


def store(*messages: bytes) -> list[int]:
    receipts = inbound_messages_receive(messages=[Incoming(m, "mllp") for m in messages])
    return [r.message.pk for r in receipts if r.message is not None]


@pytest.mark.django_db
def test_a_group_is_stored_at_once_and_a_duplicate_inside_it_is_acknowledged_once(cast):
    receipts = inbound_messages_receive(
        messages=[Incoming(oru(c), "mllp") for c in ("G1", "G2", "G1", "G3")]
        + [Incoming(b"not hl7", "mllp")]
    )
    assert [r.code for r in receipts] == ["AA", "AA", "AA", "AA", "AR"]
    assert [r.duplicate for r in receipts] == [False, False, True, False, False]
    assert InboundMessage.objects.filter(status="received").count() == 3
    assert InboundMessage.objects.filter(status="failed").count() == 1
    # A later group with a message already stored: acknowledged as the duplicate it is.
    (again,) = inbound_messages_receive(messages=[Incoming(oru("G2"), "mllp")])
    assert again.duplicate and again.code == "AA"


@pytest.mark.django_db
def test_a_batch_files_many_messages_in_a_few_statements(cast, django_assert_max_num_queries):
    ids = store(*(oru(f"B{n}") for n in range(20)))
    # Savepoints and the catalogue (read once a minute) included; one at a time it was 13 each.
    with django_assert_max_num_queries(18):
        done = inbound_messages_process(message_ids=ids[:1], fill_to=50)
    assert len(done) == 20 and {m.status for m in done} == {"processed"}
    assert LabResult.objects.count() == 40
    assert LabResult.pgh_event_model.objects.filter(pgh_label="insert").count() == 40
    assert InboxItem.objects.count() == 20
    from audit.models import AccessEvent

    events = AccessEvent.objects.filter(patient_id=cast.patient.pk, legal_basis="system")
    assert events.count() == 20
    # Their own tasks come later and find nothing left to do.
    assert inbound_message_process(message_id=ids[5]) is None


@pytest.mark.django_db
def test_a_preliminary_and_its_final_in_one_batch_are_filed_in_the_order_they_came(cast):
    store(
        oru("P1", filler="ONE", status="P", sodium="139"),
        oru("P2", filler="ONE", status="F", sodium="141"),
    )
    done = inbound_messages_process(message_ids=[], fill_to=10)
    assert [m.status for m in done] == ["processed", "processed"]
    sodium = LabResult.objects.get(code="NPU03429")
    assert (sodium.value_text, sodium.status) == ("141", "final")
    history = LabResult.pgh_event_model.objects.filter(pgh_obj_id=sodium.pk).order_by("pgh_id")
    assert [e.value_text for e in history] == ["139", "141"]
    assert LabReport.objects.count() == 1


@pytest.mark.django_db
def test_one_bad_message_in_a_batch_fails_alone_and_the_others_are_filed(cast):
    good = store(oru("OK1"), oru("OK2"))
    bad = store(oru("NUL1", potassium="4\x001"))
    unknown = store(oru("NOBODY", cpr="0101010000"))
    done = {m.control_id: m for m in inbound_messages_process(message_ids=good, fill_to=10)}
    assert done["OK1"].status == done["OK2"].status == "processed"
    assert done["NUL1"].status == "failed" and "cannot store" in done["NUL1"].reason
    assert done["NOBODY"].status == "unmatched"
    assert InboundMessage.objects.get(pk=bad[0]).attempts == 1
    assert InboundMessage.objects.get(pk=unknown[0]).status == "unmatched"
    assert LabResult.objects.count() == 4


@pytest.mark.django_db
def test_a_report_number_of_another_patient_is_a_conflict_inside_a_batch_too(cast):
    store(oru("A1", filler="SHARED"))
    inbound_messages_process(message_ids=[], fill_to=10)
    store(oru("B1", filler="SHARED", cpr=cast.stranger.cpr), oru("A2"))
    done = {m.control_id: m for m in inbound_messages_process(message_ids=[], fill_to=10)}
    assert done["B1"].status == "conflict" and done["A2"].status == "processed"
    assert LabReport.objects.get(filler_order_number="SHARED").patient == cast.patient


@pytest.mark.django_db(transaction=True)
def test_messages_on_many_connections_at_once_are_each_acknowledged_after_their_commit(
    cast, mllp_receiver
):
    acks: dict[str, str] = {}

    def laboratory(number: int) -> None:
        deframer = Deframer()
        try:
            with socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10) as conn:
                for n in range(10):
                    control_id = f"C{number}-{n}"
                    conn.sendall(frame(oru(control_id)))
                    answers: list = []
                    while not answers:
                        answers = deframer.feed(conn.recv(65536))
                    msa = parse(answers[0]).first("MSA")
                    # Committed before the ACK left: this thread's own connection sees it.
                    stored = InboundMessage.objects.filter(control_id=control_id).exists()
                    acks[control_id] = msa.get(1) if stored else "not stored"
        finally:
            connection.close()

    threads = [threading.Thread(target=laboratory, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(acks) == 60 and set(acks.values()) == {"AA"}
    assert InboundMessage.objects.count() == 60


def two_orders(control_id, first, second, *, status="F", sodium="141", note=""):
    """A message with two OBR groups (report keys `first` and `second`)."""
    head = ORU.split("OBR")[0].format(control_id=control_id, cpr="0707614048")
    groups = []
    for filler in (first, second):
        groups.append(
            f"OBR|1||{filler}|NPU03429^P-Natrium|||20261124093000|||||||||||||||"
            f"20261124101000|||{status}\r"
            f"OBX|1|NM|NPU03429^P-Natrium^NPU||{sodium}|mmol/L|137-145||||{status}\r"
            + (f"NTE|1||{note}\r" if note else "")
        )
    return (head + "".join(groups)).encode()


@pytest.mark.django_db
def test_a_message_waiting_for_a_later_round_holds_back_what_shares_its_other_key(cast):
    """X{k1}, Y{k1,k2}, Z{k2}: Z must not overtake Y on k2."""
    store(oru("X", filler="K1", sodium="139"))
    store(two_orders("Y", "K1", "K2", status="P", sodium="140"))
    store(oru("Z", filler="K2", sodium="142"))
    inbound_messages_process(message_ids=[], fill_to=10)
    k2 = LabResult.objects.get(report__filler_order_number="K2", code="NPU03429")
    assert (k2.value_text, k2.status) == ("142", "final")


@pytest.mark.django_db
def test_messages_topped_up_are_filed_in_arrival_order_with_the_one_sent_for(cast):
    older = store(oru("OLD", filler="ONE", status="P", sodium="139"))
    newer = store(oru("NEW", filler="ONE", status="F", sodium="141"))
    assert older[0] < newer[0]
    inbound_messages_process(message_ids=newer, fill_to=10)
    sodium = LabResult.objects.get(code="NPU03429")
    assert (sodium.value_text, sodium.status) == ("141", "final")


@pytest.mark.django_db
def test_two_orders_with_one_report_number_in_a_message_make_one_report_and_one_item(cast):
    (message_id,) = store(two_orders("TWO", "SAME", "SAME"))
    (message,) = inbound_messages_process(message_ids=[message_id])
    assert message.status == "processed", message.reason
    assert LabReport.objects.filter(filler_order_number="SAME").count() == 1
    assert InboxItem.objects.count() == 1


@pytest.mark.django_db
def test_a_report_changed_at_order_level_asks_again_for_acknowledgement(cast):
    store(oru("FIRST", filler="NOTE"))
    inbound_messages_process(message_ids=[], fill_to=10)
    InboxItem.objects.update(
        acknowledged_at=timezone.now(), acknowledged_by=cast.treating_doctor.staff
    )
    store(
        oru("SECOND", filler="NOTE").replace(
            b"||||F\rOBX|2", b"||||F\rNTE|1||Haemolytisk prove\rOBX|2", 1
        )
    )
    (message,) = inbound_messages_process(message_ids=[], fill_to=10)
    assert message.status == "processed"
    assert LabReport.objects.get(filler_order_number="NOTE").notes == "Haemolytisk prove"
    assert InboxItem.objects.get().acknowledged_at is None


@pytest.mark.django_db
def test_a_nul_byte_in_a_header_is_still_stored_and_answered(cast):
    raw = b"MSH|^~\\&|LAB\x00SYS|KBA|SUNDHED|RH|20261124||ADT\x00^A01|N1|P|2.5\rPID|1\r"
    (receipt,) = inbound_messages_receive(messages=[Incoming(raw, "mllp")])
    assert receipt.code == "AR" and receipt.message.status == "failed"
    assert "\x00" not in str(InboundMessage.objects.get(pk=receipt.message.pk).reason_params)
