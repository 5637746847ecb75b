"""A report never moves to another patient: a report number that is another patient's report
changes nothing in either record and waits in the conflict queue, on every road in."""

import http.server
import json
import threading

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from audit.models import AccessEvent
from labresults.models import FhirSource, InboundMessage, LabReport, LabResult
from labresults.services import (
    fhir_source_pull,
    inbound_message_conflict_resolve,
    inbound_message_process,
    inbound_message_receive,
    system_client_create,
)
from tests.labresults.test_fhir import danish_bundle
from tests.labresults.test_fhir import post as post_fhir
from tests.labresults.test_receive_http import post as post_hl7
from tests.labresults.test_receive_mllp import send

KAREN, LARS = "0707614048", "1502808059"  # the cast's patient and the stranger


def oru(cpr, control_id, value, sender=("LABSYS", "KBA RH")) -> bytes:
    return (
        f"MSH|^~\\&|{sender[0]}|{sender[1]}|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
        f"PID|1||{cpr}^^^CPR^CPR||X^Y\r"
        "OBR|1||SAMEFILLER|NPU03429^P-Natrium|||20261124093000\r"
        f"OBX|1|NM|NPU03429^P-Natrium^NPU||{value}|mmol/L|137-145|N|||F\r"
    ).encode()


def snapshot(patient):
    """Everything of the patient's reports and results, field by field."""
    reports = [model_to_dict(r) for r in LabReport.objects.filter(patient=patient).order_by("id")]
    results = [model_to_dict(r) for r in LabResult.objects.filter(patient=patient).order_by("id")]
    return reports, results


def process_all():
    for row in InboundMessage.objects.filter(status="received"):
        inbound_message_process(message_id=row.pk)


def assert_conflict_for_lars(cast, before):
    assert snapshot(cast.patient) == before  # Karen's record byte for byte as it was
    assert not LabReport.objects.filter(patient=cast.stranger).exists()
    conflict = InboundMessage.objects.get(status="conflict")
    assert conflict.matched_patient == cast.stranger and conflict.conflict_patient == cast.patient
    assert "SAMEFILLER" in conflict.reason or "KBA-FHIR-1" in conflict.reason
    return conflict


@pytest.mark.django_db(transaction=True)
def test_over_mllp(cast, mllp_receiver):
    send(mllp_receiver, oru(KAREN, "M1", "141"))
    process_all()
    before = snapshot(cast.patient)
    send(mllp_receiver, oru(LARS, "M2", "150"))
    process_all()
    assert_conflict_for_lars(cast, before)


@pytest.mark.django_db
def test_over_http_hl7(cast, client):
    token = system_client_create(name="KBA")[1]
    post_hl7(client, oru(KAREN, "H1", "141").decode(), token=token)
    process_all()
    before = snapshot(cast.patient)
    post_hl7(client, oru(LARS, "H2", "150").decode(), token=token)
    process_all()
    assert_conflict_for_lars(cast, before)


@pytest.mark.django_db
def test_over_http_fhir(cast, client):
    token = system_client_create(name="KBA FHIR")[1]
    post_fhir(client, json.dumps(danish_bundle(cpr=KAREN, bundle_id="a")).encode(), token)
    process_all()
    before = snapshot(cast.patient)
    post_fhir(client, json.dumps(danish_bundle(cpr=LARS, bundle_id="b")).encode(), token)
    process_all()
    assert_conflict_for_lars(cast, before)


class _Bundles(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - the standard library's name
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args):
        pass


@pytest.mark.django_db
def test_over_the_fhir_pull(cast):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Bundles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = FhirSource.objects.create(
            name="KBA FHIR", base_url=f"http://127.0.0.1:{server.server_port}/fhir"
        )
        _Bundles.body = json.dumps(danish_bundle(cpr=KAREN, bundle_id="p1")).encode()
        fhir_source_pull(source=source)
        process_all()
        before = snapshot(cast.patient)
        assert before[0]
        _Bundles.body = json.dumps(danish_bundle(cpr=LARS, bundle_id="p2")).encode()
        fhir_source_pull(source=source)
        process_all()
        assert_conflict_for_lars(cast, before)
    finally:
        server.shutdown()


@pytest.mark.django_db
def test_staff_file_it_as_a_new_report_or_reject_it_and_it_is_audited(cast, client):
    inbound_message_process(
        message_id=inbound_message_receive(raw=oru(KAREN, "R1", "141"), transport="mllp").message.pk
    )
    before = snapshot(cast.patient)
    second = inbound_message_receive(raw=oru(LARS, "R2", "150"), transport="mllp").message
    inbound_message_process(message_id=second.pk)
    client.force_login(cast.administrator)
    page = client.get(reverse("labresults:queue_message", kwargs={"message_id": second.public_id}))
    body = page.content.decode()
    assert 'data-testid="conflict"' in body and "Karen" in body and "Lars" in body
    # Showing the conflict discloses both patients: one event each.
    assert AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind="lab_queue").exists()
    assert AccessEvent.objects.filter(patient_id=cast.stranger.pk, data_kind="lab_queue").exists()
    client.post(
        reverse("labresults:queue_message", kwargs={"message_id": second.public_id}),
        {"action": "new_report"},
    )
    inbound_message_process(message_id=second.pk)
    assert snapshot(cast.patient) == before
    lars = LabReport.objects.get(patient=cast.stranger)
    assert lars.filler_order_number.startswith("SAMEFILLER~")
    assert LabResult.objects.get(patient=cast.stranger).value_text == "150"
    third = inbound_message_receive(raw=oru(LARS, "R3", "152"), transport="mllp").message
    inbound_message_process(message_id=third.pk)
    rejected = inbound_message_conflict_resolve(
        message=third, user=cast.administrator, action="reject"
    )
    assert rejected.status == "rejected" and rejected.handled_by == cast.administrator
    assert AccessEvent.objects.filter(
        patient_id=cast.stranger.pk, action="update", reason__contains="reject"
    ).exists()
