"""Imaging: DICOM files uploaded or dropped in a folder, read with pydicom, a key-image
thumbnail drawn on the server; radiology reports from ORU or FHIR linked to their study.
Every small DICOM file that pydicom ships, good or broken, ends with a thumbnail or a reason."""

import json
from pathlib import Path

import pydicom
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from labresults.models import DicomObject, InboundMessage, LabResult
from labresults.services import (
    dicom_object_process,
    dicom_object_receive,
    inbound_message_process,
    inbound_message_receive,
    system_client_create,
)

pytestmark = pytest.mark.django_db
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
ALL_FILES = sorted(p.name for p in TEST_FILES.glob("*.dcm"))


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def take(name, patient=None):
    row = dicom_object_receive(
        content=ContentFile((TEST_FILES / name).read_bytes()),
        name=name,
        source=DicomObject.Source.UPLOAD,
        patient=patient,
    )
    return dicom_object_process(object_id=row.pk)


def test_a_ct_image_gets_its_metadata_and_a_thumbnail(cast):
    row = take("CT_small.dcm", patient=cast.patient)
    assert row.status == "processed"
    assert (row.modality, row.rows, row.columns) == ("CT", 128, 128)
    assert row.study_uid.startswith("1.3.6.1.4.1.5962")
    assert row.series_uid and row.sop_uid
    with row.thumbnail.open("rb") as handle:
        image = Image.open(handle)
        assert image.format == "PNG" and max(image.size) <= 256


def test_every_pydicom_test_file_ends_with_a_thumbnail_or_a_clear_reason(cast):
    outcomes = {}
    for name in ALL_FILES:
        row = take(name, patient=cast.patient)
        assert row.status in {"processed", "failed"}, name
        if row.status == "failed":
            assert row.reason, name
        else:
            assert row.thumbnail or row.thumbnail_error, name
        outcomes[name] = "thumbnail" if row.thumbnail else row.status
    assert len(ALL_FILES) > 60
    # The plain images draw; the broken and the compressed-without-decoder ones say why.
    assert outcomes["CT_small.dcm"] == outcomes["MR_small.dcm"] == "thumbnail"
    assert outcomes["SC_rgb_small_odd.dcm"] == "thumbnail"
    assert outcomes["MR_truncated.dcm"] in {"failed", "processed"}
    assert sum(1 for o in outcomes.values() if o == "thumbnail") >= 20


def test_a_file_that_is_not_dicom_fails_with_the_reason(cast):
    row = dicom_object_receive(
        content=ContentFile(b"MSH|^~\\&|not an image"), name="note.txt", source="upload"
    )
    row = dicom_object_process(object_id=row.pk)
    assert row.status == "failed"
    assert "Not a readable DICOM file" in row.reason


def test_the_same_image_twice_is_stored_once(cast):
    assert take("MR_small.dcm", patient=cast.patient).status == "processed"
    again = take("MR_small.dcm", patient=cast.patient)
    assert again.status == "failed" and "already stored" in again.reason


def test_a_file_dropped_in_the_folder_is_taken_and_matched_by_patient_id(cast, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dataset = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
    dataset.PatientID = cast.patient.cpr
    dataset.save_as(inbox / "ct.dcm")
    call_command("dicom_inbox", folder=str(inbox), once=True)
    assert not any(inbox.iterdir())
    row = DicomObject.objects.get()
    assert row.source == "folder"
    row = dicom_object_process(object_id=row.pk)
    assert (row.status, row.patient) == ("processed", cast.patient)


def test_an_unknown_patient_id_waits_as_unmatched(cast):
    row = take("MR_small.dcm")
    assert row.status == "unmatched" and "No patient with PatientID" in row.reason


def test_the_clinician_uploads_and_sees_the_study_with_its_key_image(cast, client):
    client.force_login(cast.treating_doctor)
    url = reverse("labresults:imaging", kwargs={"patient_id": cast.patient.public_id})
    with (TEST_FILES / "CT_small.dcm").open("rb") as handle:
        assert client.post(url, {"files": [handle]}).status_code == 302
    dicom_object_process(object_id=DicomObject.objects.get().pk)
    page = client.get(url)
    assert page.content.decode().count('data-testid="imaging-study"') == 1
    key = page.context["studies"][0]["key"]
    thumbnail = client.get(
        reverse("labresults:dicom_thumbnail", kwargs={"object_id": key.public_id})
    )
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/png"
    client.force_login(cast.other_doctor)
    refused = client.get(reverse("labresults:dicom_thumbnail", kwargs={"object_id": key.public_id}))
    assert refused.status_code == 403


def test_a_radiology_report_by_oru_shows_under_imaging_not_in_the_cumulative_table(cast, client):
    raw = (
        "MSH|^~\\&|RIS|RAD BFH|SUNDHED|RH|20261124101500||ORU^R01|RAD1|P|2.5\r"
        "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
        "OBR|1|RQ9|ACC123|UXCT01^CT af thorax|||20261124093000|||||||||||||||||RAD|F\r"
        "OBX|1|TX|UXCT01^Beskrivelse^L||Ingen infiltrater. Ingen lungeemboli.||||||F\r"
    )
    receipt = inbound_message_receive(raw=raw.encode(), transport="mllp")
    inbound_message_process(message_id=receipt.message.pk)
    client.force_login(cast.treating_doctor)
    page = client.get(reverse("labresults:imaging", kwargs={"patient_id": cast.patient.public_id}))
    assert "Ingen lungeemboli" in page.content.decode()
    results = client.get(
        reverse("labresults:results", kwargs={"patient_id": cast.patient.public_id})
    )
    assert results.context["table"]["rows"] == []
    assert LabResult.objects.count() == 1


def test_a_fhir_report_with_an_imaging_study_is_linked_to_the_dicom_study(cast, client):
    ct = take("CT_small.dcm", patient=cast.patient)
    bundle = {
        "resourceType": "Bundle",
        "id": "rad-1",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:r",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "identifier": [{"value": "RAD-77"}],
                    "status": "final",
                    "code": {"text": "CT af hoved"},
                    "subject": {
                        "identifier": {
                            "system": "urn:oid:1.2.208.176.1.2",
                            "value": cast.patient.cpr,
                        }
                    },
                    "imagingStudy": [{"reference": "urn:uuid:s"}],
                    "conclusion": "Normale forhold intrakranielt.",
                },
            },
            {
                "fullUrl": "urn:uuid:s",
                "resource": {
                    "resourceType": "ImagingStudy",
                    "status": "available",
                    "subject": {"reference": "urn:uuid:p"},
                    "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{ct.study_uid}"}],
                },
            },
        ],
    }
    token = system_client_create(name="RIS BFH")[1]
    response = client.generic(
        "POST",
        "/lab/api/messages/",
        json.dumps(bundle).encode(),
        content_type="application/fhir+json",
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 201, response.json()
    assert inbound_message_process(message_id=InboundMessage.objects.get().pk).status == "processed"
    client.force_login(cast.treating_doctor)
    page = client.get(reverse("labresults:imaging", kwargs={"patient_id": cast.patient.public_id}))
    study = page.context["studies"][0]
    assert study["report"].notes == "Normale forhold intrakranielt."
