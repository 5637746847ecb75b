"""Processing: match by CPR, upsert by stable keys, corrections keep history, nothing is lost."""

import time

import pytest

from audit.models import AccessEvent, LegalBasis
from labresults.models import InboundMessage, LabReport, LabResult
from labresults.services import inbound_message_process, inbound_message_receive

pytestmark = pytest.mark.django_db

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||{cpr}^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1|REQ1|LAB777|NPU03429^P-Natrium|||20261124093000|||||||||||||||20261124101000|||{obr}\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||{sodium}|mmol/L|137-145|{flag}|||{obx}\r"
    "OBX|2|NM|NPU03230^P-Kalium^NPU||4.1|mmol/L|3.5-4.4|N|||{obx}\r"
)


def receive(control_id, *, cpr="0707614048", sodium="141", flag="N", obr="F", obx="F"):
    raw = ORU.format(control_id=control_id, cpr=cpr, sodium=sodium, flag=flag, obr=obr, obx=obx)
    receipt = inbound_message_receive(raw=raw.encode(), transport="mllp")
    assert receipt.code == "AA"
    return inbound_message_process(message_id=receipt.message.pk)


def history_count():
    return LabResult.pgh_event_model.objects.count()


def test_a_result_for_a_known_cpr_is_stored_for_that_patient(cast):
    message = receive("P1")
    assert message.status == "processed"
    sodium = LabResult.objects.get(code="NPU03429")
    assert (sodium.patient, sodium.value_numeric, sodium.unit, sodium.status) == (
        cast.patient,
        141,
        "mmol/L",
        "final",
    )
    event = AccessEvent.objects.get(patient_id=cast.patient.pk)
    assert event.legal_basis == LegalBasis.SYSTEM and event.data_kind == "lab_results"


def test_a_resent_message_changes_nothing(cast):
    receive("R1")
    before = (LabReport.objects.count(), LabResult.objects.count(), history_count())
    assert receive("R2").status == "processed"  # same content, new control id
    assert (LabReport.objects.count(), LabResult.objects.count(), history_count()) == before


def test_a_preliminary_result_becomes_final_in_place(cast):
    receive("F1", obr="P", obx="P")
    assert set(LabResult.objects.values_list("status", flat=True)) == {"preliminary"}
    receive("F2")
    assert LabResult.objects.count() == 2
    assert set(LabResult.objects.values_list("status", flat=True)) == {"final"}


def test_a_correction_replaces_the_value_and_history_keeps_the_old_one(cast):
    receive("C1", sodium="125", flag="L")
    receive("C2", sodium="135", flag="L", obr="C", obx="C")
    sodium = LabResult.objects.get(code="NPU03429")
    assert (sodium.value_numeric, sodium.status) == (135, "corrected")
    old_values = set(
        LabResult.pgh_event_model.objects.filter(pgh_obj=sodium).values_list(
            "value_numeric", flat=True
        )
    )
    assert {125, 135} <= {int(v) for v in old_values}


def test_an_unknown_cpr_waits_in_the_unmatched_queue_with_a_reason(cast):
    message = receive("U1", cpr="0101900002")
    assert message.status == "unmatched" and "010190-0002" in message.reason
    assert not LabResult.objects.exists()


def test_processing_twice_does_nothing_the_second_time(cast):
    message = receive("T1")
    assert inbound_message_process(message_id=message.pk) is None
    assert InboundMessage.objects.get(pk=message.pk).attempts == 1


def test_every_reference_result_message_is_processed_or_queued_never_lost(cast, reference_data):
    for path in sorted((reference_data / "hl7v2" / "oru").glob("*.hl7")):
        receipt = inbound_message_receive(raw=path.read_bytes(), transport="mllp")
        if receipt.message is not None and receipt.message.status == "received":
            inbound_message_process(message_id=receipt.message.pk)
    statuses = dict(
        InboundMessage.objects.values_list("control_id", "status").order_by("control_id")
    )
    assert "received" not in statuses.values()
    assert all(row.reason for row in InboundMessage.objects.exclude(status="processed")), (
        "every message that is not processed says why"
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_received_message_is_processed_by_a_real_worker(cast, celery_worker):
    raw = ORU.format(control_id="W1", cpr="0707614048", sodium="141", flag="N", obr="F", obx="F")
    receipt = inbound_message_receive(raw=raw.encode(), transport="mllp")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        receipt.message.refresh_from_db()
        if receipt.message.status != "received":
            break
        time.sleep(0.2)
    assert receipt.message.status == "processed", celery_worker.output()[-2000:]
    assert LabResult.objects.filter(patient=cast.patient).count() == 2
