"""Holes found by a second look at the laboratory's orders, imaging and queues (one test each)."""

import pydicom
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from audit.models import AccessEvent
from labresults.models import DicomObject, InboundMessage, LabReport
from labresults.services import (
    dicom_object_process,
    dicom_object_receive,
    inbound_message_process,
    inbound_message_receive,
    inbound_message_reprocess,
    lab_order_create,
)
from patients.access import access_decide
from tests.conftest import block, orthopaedics_course
from tests.labresults.test_dicom_limits import bomb

pytestmark = pytest.mark.django_db
CT = pydicom.__file__.rsplit("/", 1)[0] + "/data/test_files/CT_small.dcm"


def events(cast):
    return AccessEvent.objects.filter(patient_id=cast.patient.pk)


def test_an_order_from_the_chart_belongs_to_the_course_so_a_blocking_hides_its_results(
    cast, client, settings
):

    from labresults.models import Analysis

    settings.SUNDHED_LAB_ORDER_ENDPOINT = ""
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="x")
    order = lab_order_create(access=access, analyses=[Analysis.objects.get(code="NPU03429")])
    assert order.care_course == cast.course
    raw = (
        "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|O1|P|2.5\r"
        "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
        f"OBR|1|{order.placer_number}|F1|NPU03429^P-Natrium|||20261124093000\r"
        "OBX|1|NM|NPU03429^P-Natrium^NPU||152.5|mmol/L|137-145|H|||F\r"
    )
    inbound_message_process(
        message_id=inbound_message_receive(raw=raw.encode(), transport="mllp").message.pk
    )
    assert LabReport.objects.get().care_course == cast.course
    orthopaedics_course(cast)
    block(cast, care_course=cast.course)
    client.force_login(cast.other_doctor)
    page = client.get(reverse("labresults:results", kwargs={"patient_id": cast.patient.public_id}))
    assert "152,5" not in page.content.decode() and "152.5" not in page.content.decode()


def test_a_deflated_bomb_without_preamble_is_stopped_too(cast, settings):
    settings.SUNDHED_DICOM_MAX_INFLATED_BYTES = 8 * 2**20
    data = bomb(64 * 2**20)[132:]  # no 128-byte preamble and no DICM: the file meta first
    row = dicom_object_receive(content=ContentFile(data), name="x", source="folder")
    row = dicom_object_process(object_id=row.pk)
    assert row.status == "failed" and "inflates to more than" in row.reason


def test_an_unmatched_image_and_a_malformed_course_are_404_not_500(
    cast, client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    with open(CT, "rb") as handle:
        row = dicom_object_receive(content=ContentFile(handle.read()), name="x", source="folder")
    client.force_login(cast.treating_doctor)
    thumb = reverse("labresults:dicom_thumbnail", kwargs={"object_id": row.public_id})
    assert client.get(thumb).status_code == 404
    epikrise = reverse("journal:epikrise_new", kwargs={"patient_id": cast.patient.public_id})
    assert client.post(epikrise, {"care_course": "not-a-uuid"}).status_code == 404


def test_a_clinicians_upload_is_on_the_log_with_the_uploader(cast, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(cast.treating_doctor)
    url = reverse("labresults:imaging", kwargs={"patient_id": cast.patient.public_id})
    with open(CT, "rb") as handle:
        client.post(url, {"files": [handle]})
    event = events(cast).get(data_kind="imaging", action="create")
    assert event.user_id == cast.treating_doctor.pk
    assert DicomObject.objects.get().uploaded_by == cast.treating_doctor.staff


def test_a_message_from_a_refused_sender_cannot_be_filed_from_the_queue(cast, settings):
    settings.SUNDHED_MLLP_REQUIRE_REGISTERED = True
    raw = (
        "MSH|^~\\&|MADEUP|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|Z1|P|2.5\r"
        "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    )
    receipt = inbound_message_receive(
        raw=raw.encode(), transport="mllp", address="127.0.0.1", check_sender=True
    )
    assert receipt.code == "AR" and receipt.message.sender_refused
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        inbound_message_reprocess(message=receipt.message, user=cast.administrator)
    assert InboundMessage.objects.get().status == "failed"
