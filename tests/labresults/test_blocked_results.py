"""A blocking hides laboratory results, radiology reports and images as it hides notes.

The cardiology course (the cast's) has results, a radiology report and a CT image. The
orthopaedic doctor has a relation through a course of their own; once cardiology is blocked,
every route they can reach shows none of it.
"""

import pydicom
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from labresults.models import DicomObject, LabReport
from labresults.services import (
    dicom_object_process,
    dicom_object_receive,
    inbound_message_process,
    inbound_message_receive,
)
from tests.conftest import block, orthopaedics_course

pytestmark = pytest.mark.django_db
CT = (pydicom.__file__.rsplit("/", 1)[0]) + "/data/test_files/CT_small.dcm"
SECRET_VALUE = "147.25"
SECRET_REPORT = "Ingen lungeemboli"

LAB = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|B1|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1||FB1|NPU03429^P-Natrium|||20261124093000|||||||||||||||20261124101000|||F\r"
    f"OBX|1|NM|NPU03429^P-Natrium^NPU||{SECRET_VALUE}|mmol/L|||||F\r"
)
RAD = (
    "MSH|^~\\&|RIS|RAD BFH|SUNDHED|RH|20261124101500||ORU^R01|B2|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1|RQ9|ACC9|UXCT01^CT af thorax|||20261124093000|||||||||||||||||RAD|F\r"
    f"OBX|1|TX|UXCT01^Beskrivelse^L||{SECRET_REPORT}.||||||F\r"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def cardiology_data(cast):
    for raw in (LAB, RAD):
        receipt = inbound_message_receive(raw=raw.encode(), transport="mllp")
        inbound_message_process(message_id=receipt.message.pk)
    with open(CT, "rb") as handle:
        row = dicom_object_receive(
            content=ContentFile(handle.read()),
            name="ct.dcm",
            source=DicomObject.Source.UPLOAD,
            patient=cast.patient,
            staff=cast.treating_doctor.staff,
        )
    image = dicom_object_process(object_id=row.pk)
    # Then the patient comes to orthopaedics, which gives the other doctor a relation.
    orthopaedics_course(cast)
    return image


def routes(cast, image):
    patient = {"patient_id": cast.patient.public_id}
    return {
        "results": reverse("labresults:results", kwargs=patient),
        "trend": reverse("labresults:trend", kwargs={**patient, "code": "NPU03429"}),
        "live": reverse("labresults:live_panel", kwargs=patient),
        "imaging": reverse("labresults:imaging", kwargs=patient),
        "timeline": reverse("chart:timeline", kwargs=patient),
        "overview": reverse("chart:overview", kwargs=patient),
        "thumbnail": reverse("labresults:dicom_thumbnail", kwargs={"object_id": image.public_id}),
    }


def test_the_reports_and_the_image_know_their_course_and_department(cast, cardiology_data):
    assert set(LabReport.objects.values_list("care_course", "department")) == {
        (cast.course.pk, cast.cardiology.pk)
    }
    assert (cardiology_data.care_course_id, cardiology_data.department_id) == (
        cast.course.pk,
        cast.cardiology.pk,
    )


def test_before_the_blocking_the_other_department_sees_them(cast, client, cardiology_data):
    client.force_login(cast.other_doctor)
    pages = routes(cast, cardiology_data)
    assert "P-Natrium" in client.get(pages["results"]).content.decode()
    assert SECRET_REPORT in client.get(pages["imaging"]).content.decode()
    assert client.get(pages["thumbnail"]).status_code == 200


@pytest.mark.parametrize("what", ["course", "department"])
def test_a_blocking_hides_results_reports_and_images_on_every_route(
    cast, client, cardiology_data, what
):
    if what == "course":
        block(cast, care_course=cast.course)
    else:
        block(cast, department=cast.cardiology)
    client.force_login(cast.other_doctor)
    pages = routes(cast, cardiology_data)
    for name, url in pages.items():
        response = client.get(url)
        body = response.content.decode(errors="replace")
        if name == "thumbnail":
            assert response.status_code == 403, what
            continue
        assert response.status_code in (200, 204), (name, what)
        for secret in ("147,25", SECRET_VALUE, SECRET_REPORT, "CT af thorax"):
            assert secret not in body, (name, what, secret)
    # The treating department still sees its own.
    client.force_login(cast.treating_doctor)
    assert SECRET_REPORT in client.get(pages["imaging"]).content.decode()
    assert client.get(pages["thumbnail"]).status_code == 200


def test_the_labs_macro_leaves_blocked_results_out(cast, cardiology_data):
    from labresults.selectors import labs_text, latest_key_results
    from patients.access import access_decide

    block(cast, care_course=cast.course)
    access = access_decide(user=cast.other_doctor, patient=cast.patient, data_kind="journal")
    assert latest_key_results(access) == []
    assert SECRET_VALUE not in labs_text(access)
