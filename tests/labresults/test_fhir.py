"""FHIR R4 bundles: posted to the HTTP receiver, and pulled from a laboratory's FHIR endpoint
(the labsim process, over a real socket). Official R4 examples are handled as they are."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

from labresults.models import FhirSource, InboundMessage, LabOrderMessage, LabResult
from labresults.services import fhir_source_pull, inbound_message_process, system_client_create
from sundhed.devstack import ROOT

URL = "/lab/api/messages/"
CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"


def danish_bundle(cpr="0707614048", value=131.0, status="final", bundle_id="b-1"):
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:report-1",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "id": "r1",
                    "identifier": [{"system": "urn:lab", "value": "KBA-FHIR-1"}],
                    "basedOn": [{"identifier": {"value": "SREQ42"}}],
                    "status": status,
                    "code": {"text": "Væsketal"},
                    "subject": {"reference": "urn:uuid:patient-1"},
                    "effectiveDateTime": "2026-11-24T08:30:00+01:00",
                    "result": [{"reference": "urn:uuid:obs-1"}],
                },
            },
            {
                "fullUrl": "urn:uuid:obs-1",
                "resource": {
                    "resourceType": "Observation",
                    "id": "o1",
                    "status": status,
                    "code": {
                        "coding": [
                            {"system": "http://loinc.org", "code": "2951-2"},
                            {
                                "system": "urn:oid:1.2.208.176.2.1",
                                "code": "NPU03429",
                                "display": "P-Natrium",
                            },
                        ]
                    },
                    "valueQuantity": {"value": value, "unit": "mmol/L"},
                    "effectiveDateTime": "2026-11-24T08:30:00+01:00",
                },
            },
            {
                "fullUrl": "urn:uuid:patient-1",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": CPR_SYSTEM, "value": cpr}],
                },
            },
        ],
    }


@pytest.fixture
def token(db):
    return system_client_create(name="KBA FHIR")[1]


def post(client, body: bytes, token):
    return client.generic(
        "POST",
        URL,
        body,
        content_type="application/fhir+json",
        headers={"Authorization": f"Token {token}"},
    )


@pytest.mark.django_db
def test_a_posted_bundle_becomes_results_for_the_cpr_patient(cast, client, token):
    response = post(client, json.dumps(danish_bundle()).encode(), token)
    assert response.status_code == 201, response.json()
    message = InboundMessage.objects.get()
    assert (message.message_type, message.sender, message.control_id) == (
        "FHIR Bundle",
        "KBA FHIR",
        "b-1",
    )
    assert inbound_message_process(message_id=message.pk).status == "processed"
    sodium = LabResult.objects.get()
    assert (sodium.patient, sodium.code, sodium.value_numeric, sodium.flag) == (
        cast.patient,
        "NPU03429",
        131,
        "L",  # computed from the catalogue: the bundle has no interpretation
    )
    assert sodium.report.placer_order_number == "SREQ42"
    assert post(client, json.dumps(danish_bundle()).encode(), token).status_code == 200


@pytest.mark.django_db
def test_a_corrected_bundle_replaces_the_value_and_keeps_the_old_in_history(cast, client, token):
    post(client, json.dumps(danish_bundle()).encode(), token)
    body = danish_bundle(value=139.0, status="corrected", bundle_id="b-2")
    post(client, json.dumps(body).encode(), token)
    for message in InboundMessage.objects.order_by("id"):
        inbound_message_process(message_id=message.pk)
    sodium = LabResult.objects.get()
    assert (sodium.value_numeric, sodium.status) == (139, "corrected")
    history = LabResult.pgh_event_model.objects.filter(pgh_obj_id=sodium.pk)
    assert sorted(e.value_numeric for e in history) == [131, 139]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, reason",
    [
        (b'{"resourceType": "Bundle", "type": "collection", "entry": [', "Not a valid FHIR"),
        (b'{"resourceType": "Patient", "id": "p1"}', "Not a valid FHIR"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": []}', "no DiagnosticReport"),
    ],
)
def test_a_bad_bundle_is_refused_with_the_reason_and_kept(client, token, body, reason):
    response = post(client, body, token)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert InboundMessage.objects.get().status == "failed"


REFERENCE = ["Bundle-lipids.json", "Bundle-report.json", "Bundle-micro.json", "Bundle-f001.json"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", REFERENCE)
def test_the_official_r4_example_bundles_are_taken_and_queued_without_a_cpr(
    reference_data, client, token, name
):
    raw = (reference_data / "fhir" / "r4-examples" / name).read_bytes()
    response = post(client, raw, token)
    assert response.status_code == 201, response.json()
    message = inbound_message_process(message_id=InboundMessage.objects.get().pk)
    # The examples are not Danish patients: they wait in the unmatched queue, with the reason.
    assert message.status == "unmatched"
    assert "no CPR number" in message.reason


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def labsim_fhir(cast, tmp_path):
    cprs = tmp_path / "cprs.txt"
    cprs.write_text(f"{cast.patient.cpr}\n")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.labsim",
            "--port",
            "0",
            "--fhir-port",
            str(port),
            "--fhir-every",
            "0.2",
            "--cprs-file",
            str(cprs),
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    base = f"http://127.0.0.1:{port}/fhir"
    # Wait until labsim has made a few reports, however fast or slow the machine is.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/DiagnosticReport", timeout=5) as answer:  # noqa: S310
            if json.load(answer).get("total", 0) >= 2:
                break
        time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.django_db
def test_the_pull_source_asks_since_the_last_pull_and_stores_reports(cast, labsim_fhir):
    source = FhirSource.objects.create(name="KBA FHIR (labsim)", base_url=labsim_fhir)
    first = fhir_source_pull(source=source)
    assert first is not None and first.message is not None
    source.refresh_from_db()
    assert source.pulled_until is not None and source.last_error == ""
    assert inbound_message_process(message_id=first.message.pk).status == "processed"
    reports = cast.patient.lab_reports.count()
    assert reports >= 2
    # Pull again until labsim has made a new report (a deadline, not a fixed wait).
    deadline, second = time.monotonic() + 20, None
    while time.monotonic() < deadline and cast.patient.lab_reports.count() <= reports:
        second = fhir_source_pull(source=source) or second
        if second is not None and second.message is not None:
            inbound_message_process(message_id=second.message.pk)
        time.sleep(0.1)
    # Only reports made since the first pull (plus the small overlap) came the second time.
    assert cast.patient.lab_reports.count() > reports
    assert b'"total"' in bytes(second.message.raw)


@pytest.mark.django_db
def test_an_unreachable_source_records_the_error_and_keeps_its_place(db):
    source = FhirSource.objects.create(name="Down", base_url=f"http://127.0.0.1:{free_port()}/fhir")
    assert fhir_source_pull(source=source, timeout=2) is None
    source.refresh_from_db()
    assert source.pulled_until is None and "refused" in source.last_error.lower()


def test_reference_folder_layout_is_expected(reference_data):
    assert (Path(reference_data) / "fhir" / "r4-examples" / "Bundle-lipids.json").exists()


@pytest.mark.django_db(transaction=True)
def test_an_order_goes_to_the_laboratory_and_its_results_come_back(
    cast, client, mllp_receiver, settings, tmp_path
):
    from labresults.models import Analysis, InboundMessage, LabOrder
    from labresults.services import lab_order_send

    cprs = tmp_path / "cprs.txt"
    cprs.write_text(f"{cast.patient.cpr}\n")
    order_port = free_port()
    settings.SUNDHED_LAB_ORDER_ENDPOINT = f"127.0.0.1:{order_port}"
    labsim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.labsim",
            "--port",
            str(mllp_receiver),
            "--order-port",
            str(order_port),
            "--rate",
            "10",
            "--cprs-file",
            str(cprs),
        ],
        cwd=ROOT,
    )
    try:
        client.force_login(cast.treating_doctor)
        codes = ["NPU03429", "NPU03230", "NPU27357"]  # labsim does not know troponin
        response = client.post(
            f"/lab/{cast.patient.public_id}/orders/",
            {
                "analyses": list(
                    Analysis.objects.filter(code__in=codes).values_list("pk", flat=True)
                ),
                "priority": "routine",
            },
        )
        assert LabOrder.objects.exists(), [str(m) for m in response.wsgi_request._messages]
        order = LabOrder.objects.get()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if lab_order_send(order_id=order.pk):
                break
            # labsim is still starting: the message waits for its backoff; the pause is over.
            LabOrderMessage.objects.filter(order=order).update(due_at=timezone.now())
            time.sleep(0.2)
        order.refresh_from_db()
        assert order.sent_at is not None
        deadline = time.monotonic() + 30
        found = None
        while time.monotonic() < deadline and found is None:
            for message in InboundMessage.objects.filter(status="received"):
                inbound_message_process(message_id=message.pk)
            found = cast.patient.lab_reports.filter(placer_order_number=order.placer_number).first()
            time.sleep(0.2)
        assert found is not None
        assert set(found.results.values_list("code", flat=True)) == set(codes)
        page = client.get(f"/lab/{cast.patient.public_id}/results/")
        assert page.context["orders"][0]["progress"] == "complete"
    finally:
        labsim.terminate()
        labsim.wait(timeout=10)
