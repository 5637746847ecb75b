"""DICOM files are checked against limits before anything is decoded; uploads are served only
through the gate, as attachments, under random names; imaging work has its own queue."""

import io
import time
import zlib
from pathlib import Path

import pydicom
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from labresults.models import DicomObject
from labresults.services import dicom_object_process, dicom_object_receive

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
DEFLATED = "1.2.840.10008.1.2.1.99"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _meta(transfer_syntax) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    return meta


def bomb(inflated_bytes: int) -> bytes:
    """A DICOM file whose deflated dataset inflates to `inflated_bytes` of zeros."""
    out = io.BytesIO()
    out.write(b"\0" * 128 + b"DICM")
    pydicom.filewriter.write_file_meta_info(out, _meta(DEFLATED))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = b"\0" * 2**20
    for _ in range(inflated_bytes // 2**20):
        out.write(deflater.compress(chunk))
    out.write(deflater.flush())
    return out.getvalue()


def huge_header(rows: int, columns: int, frames: int = 1) -> bytes:
    """A small file whose header claims a huge image."""
    ds = Dataset()
    ds.file_meta = _meta(ExplicitVRLittleEndian)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID = "0707614048"
    ds.Modality = "OT"
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 16, 16, 15
    ds.PixelRepresentation, ds.PhotometricInterpretation = 0, "MONOCHROME2"
    ds.PixelData = b"\0" * 1024
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def take(data: bytes, patient=None) -> DicomObject:
    row = dicom_object_receive(
        content=ContentFile(data), name="x.dcm", source=DicomObject.Source.FOLDER, patient=patient
    )
    return dicom_object_process(object_id=row.pk)


@pytest.mark.django_db
def test_a_decompression_bomb_fails_at_the_limit_and_is_never_retried(cast, settings):
    settings.SUNDHED_DICOM_MAX_INFLATED_BYTES = 8 * 2**20
    data = bomb(64 * 2**20)
    assert len(data) < 200_000  # 64 MB of zeros, deflated
    row = take(data, patient=cast.patient)
    assert row.status == "failed"
    assert "inflates to more than 8 MB" in row.reason
    assert dicom_object_process(object_id=row.pk).status == "failed"  # left as it is
    row.refresh_from_db()
    assert row.attempts == 1


@pytest.mark.django_db
def test_a_header_claiming_a_huge_image_fails_before_decoding(cast):
    row = take(huge_header(60_000, 60_000), patient=cast.patient)
    assert row.status == "failed" and "SUNDHED_DICOM_MAX_PIXEL_BYTES" in row.reason
    row = take(huge_header(64, 64, frames=100_000), patient=cast.patient)
    assert row.status == "failed" and "SUNDHED_DICOM_MAX_FRAMES" in row.reason


@pytest.mark.django_db
def test_a_file_over_the_upload_limit_fails_with_the_reason(cast, settings):
    settings.SUNDHED_DICOM_MAX_UPLOAD_BYTES = 1000
    row = take((TEST_FILES / "CT_small.dcm").read_bytes(), patient=cast.patient)
    assert row.status == "failed" and "SUNDHED_DICOM_MAX_UPLOAD_BYTES" in row.reason


@pytest.mark.django_db
def test_a_file_that_killed_its_worker_three_times_is_failed(cast):
    row = dicom_object_receive(
        content=ContentFile((TEST_FILES / "CT_small.dcm").read_bytes()),
        name="ct.dcm",
        source=DicomObject.Source.FOLDER,
    )
    DicomObject.objects.filter(pk=row.pk).update(attempts=3)  # three workers died reading it
    row = dicom_object_process(object_id=row.pk)
    assert row.status == "failed" and "interrupted 3 times" in row.reason


@pytest.mark.django_db
def test_the_upload_takes_only_dicom_by_content_and_stores_random_names(cast, client):
    client.force_login(cast.treating_doctor)
    url = reverse("labresults:imaging", kwargs={"patient_id": cast.patient.public_id})
    page = SimpleUploadedFile("evil.html", b"<script>alert(1)</script>", "text/html")
    response = client.post(url, {"files": [page]}, follow=True)
    assert "evil.html er ikke en DICOM-fil" in response.content.decode()
    assert not DicomObject.objects.exists()
    ct = SimpleUploadedFile("scan.html", (TEST_FILES / "CT_small.dcm").read_bytes())
    client.post(url, {"files": [ct]})
    row = DicomObject.objects.get()
    assert row.original_name == "scan.html"
    assert "scan" not in row.file.name and row.file.name.endswith(".dcm")


@pytest.mark.django_db
def test_files_are_served_only_by_the_gate_as_attachments(cast, client, settings):
    row = take((TEST_FILES / "CT_small.dcm").read_bytes(), patient=cast.patient)
    for path in (row.file.name, row.thumbnail.name):
        # No static route to uploads, in any mode.
        assert client.get(f"/{settings.MEDIA_URL}{path}").status_code == 404
        client.force_login(cast.treating_doctor)
        assert client.get(f"/{settings.MEDIA_URL}{path}").status_code == 404
        client.logout()
    download = reverse("labresults:dicom_file", kwargs={"object_id": row.public_id})
    assert client.get(download).status_code == 302  # to the sign-in
    client.force_login(cast.treating_doctor)
    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/dicom"
    client.force_login(cast.other_doctor)
    assert client.get(download).status_code == 403


def test_imaging_work_is_routed_to_its_own_queue(monkeypatch, settings):
    from outbox import engine, kinds

    settings.SUNDHED_OUTBOX_DISPATCH = True
    sent = []
    monkeypatch.setattr(engine.current_app, "send_task", lambda *a, **k: sent.append(k))
    engine.dispatch(kinds.get("labresults.dicomobject"), [1])
    engine.dispatch(kinds.get("labresults.inboundmessage"), [1])
    assert [k.get("queue") for k in sent] == ["imaging", None]


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_the_imaging_queue_reads_an_uploaded_file(
    cast, tmp_path, settings, monkeypatch
):
    from tests.conftest import start_worker, stop_worker

    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))  # the worker's files are ours
    settings.SUNDHED_OUTBOX_DISPATCH = True
    worker = start_worker(tmp_path, queues="imaging")
    try:
        row = dicom_object_receive(
            content=ContentFile((TEST_FILES / "CT_small.dcm").read_bytes()),
            name="ct.dcm",
            source=DicomObject.Source.UPLOAD,
            patient=cast.patient,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row.refresh_from_db()
            if row.status not in ("received", "reading"):
                break
            time.sleep(0.2)
        assert row.status == "processed", worker.output()[-2000:]
    finally:
        stop_worker(worker)
