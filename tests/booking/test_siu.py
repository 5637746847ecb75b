"""Appointments from external scheduling systems (HL7 v2 SIU) through the same inbound pipeline
as the results: stored first, then processed; an unknown patient waits in the same queue."""

from pathlib import Path

import pytest
from django.urls import reverse

from audit.models import AccessEvent
from booking.models import ExternalAppointment
from labresults.models import InboundMessage
from labresults.services import inbound_message_process, inbound_message_receive

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference-data" / "hl7v2" / "siu"


def siu(event, control, *, start="20270115093000", end="20270115095000", cpr="0707614048",
        key="A-1001", room="Amb. 3"):  # fmt: skip
    return (
        f"MSH|^~\\&|BOOKSYS|HVH|SUNDHED|RH|20261201120000||SIU^{event}^SIU_{event}|{control}|P|2.5\r"
        f"SCH|P-{key}|{key}||||||^Kontrol|20|min\r"
        f"TQ1|||||||{start}|{end}\r"
        f"PID|1||{cpr}^^^CPR^CPR||Jensen^Karen\r"
        "RGS|1\r"
        "AIS|1||KONTROL^Kontrol i hjerteambulatoriet|\r"
        f"AIL|1||^^^{room}\r"
    ).encode()


def receive(raw):
    receipt = inbound_message_receive(raw=raw, transport="mllp")
    return inbound_message_process(message_id=receipt.message.pk) or receipt.message


def test_an_appointment_is_created_moved_and_cancelled_by_the_other_system(cast, client):
    first = receive(siu("S12", "M1"))
    assert first.status == "processed", first.reason
    appointment = ExternalAppointment.objects.get(patient=cast.patient)
    assert (appointment.key, appointment.status, appointment.sender) == (
        "A-1001",
        "booked",
        "BOOKSYS@HVH",
    )
    assert appointment.location == "Amb. 3" and appointment.service_text.startswith("Kontrol")
    receive(siu("S14", "M2", start="20270116100000", end="20270116102000"))
    appointment.refresh_from_db()
    assert appointment.starts_at.day == 16 and appointment.status == "booked"
    receive(siu("S15", "M3", start="20270116100000", end="20270116102000"))
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert ExternalAppointment.objects.count() == 1
    # Each filing is on the patient's access log, by the sending system.
    events = AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind="booking")
    assert events.count() == 3 and all(e.user_id is None for e in events)
    client.force_login(cast.treating_doctor)
    page = client.get(
        reverse("booking:patient", kwargs={"patient_id": cast.patient.public_id})
    ).content.decode()
    assert 'data-testid="external-appointment"' in page and "Amb. 3" in page


def test_an_unknown_patient_waits_in_the_queue_and_a_broken_message_says_why(cast):
    unknown = receive(siu("S12", "U1", cpr="0101010000", key="B-1"))
    assert unknown.status == "unmatched"
    broken = receive(siu("S12", "U2").replace(b"TQ1|||||||20270115093000|20270115095000\r", b"")
                     .replace(b"|20|min", b"||"))  # fmt: skip
    assert broken.status == "failed"
    assert "start time" in broken.reason
    assert not ExternalAppointment.objects.exists()
    assert InboundMessage.objects.count() == 2  # both kept, nothing lost


def test_another_patients_appointment_number_is_refused(cast):
    receive(siu("S12", "X1"))
    other = receive(siu("S14", "X2", cpr="1502808059"))
    assert other.status == "failed" and "A-1001" in other.reason  # kept with why, not filed
    assert ExternalAppointment.objects.get().patient_id == cast.patient.pk


@pytest.mark.skipif(
    not SHARED.exists(), reason=f"reference data not found at {SHARED} (set SUNDHED_REFERENCE_DATA)"
)
@pytest.mark.parametrize(
    "name",
    [
        "fhirconv-SIU-S12-01.hl7",
        "fhirconv-SIU-S14-01.hl7",
        "fhirconv-SIU-S15-01.hl7",
        "corepoint-siu-example.hl7",
    ],
)
def test_real_siu_messages_are_read_and_wait_for_their_patient(cast, name):
    """Real SIU from vendors and HL7's own samples: read, acknowledged and, with no Danish CPR
    number, kept in the queue of unmatched messages."""
    raw = (SHARED / name).read_bytes()
    receipt = inbound_message_receive(raw=raw, transport="mllp")
    assert b"MSA|AA" in receipt.ack, receipt.ack
    message = inbound_message_process(message_id=receipt.message.pk)
    assert message.status == "unmatched", message.reason
