"""Holes found by a second look at the gate, blockings, rights and imaging (one test each)."""

import pydicom
import pytest
from django.contrib.auth.models import Group, Permission
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


def test_options_on_admin_pages_shows_nothing(cast, client):
    client.force_login(cast.it_administrator)
    url = reverse("admin:patients_patient_change", args=[cast.patient.pk])
    response = client.options(url)
    assert response.status_code == 200 and response.content == b""
    assert not events(cast).exists()


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


def test_a_blocking_cannot_be_changed_in_admin(cast, client):
    from accounts.models import User

    blocking = block(cast, care_course=cast.course)
    client.force_login(User.objects.create_superuser("root", "r@x.dk", "x-root-password"))
    url = reverse("admin:patients_blocking_change", args=[blocking.pk])
    client.post(url, {"revoked_at_0": "2026-01-01", "revoked_at_1": "10:00"})
    blocking.refresh_from_db()
    assert blocking.revoked_at is None
    assert client.get(reverse("admin:patients_blocking_add")).status_code == 403


def test_nobody_raises_their_own_rights_through_a_group(cast, client):
    admin = cast.administrator
    admin.is_staff = True
    admin.save()
    group = Group.objects.create(name="IT")
    group.permissions.set(Permission.objects.filter(codename__in=["change_group", "view_group"]))
    admin.groups.add(group)
    client.force_login(admin)
    rights = Permission.objects.get(codename="administer_access")
    client.post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": "IT", "permissions": [rights.pk]},
    )
    assert not admin.has_perm("accounts.administer_access")
    assert not group.permissions.filter(pk=rights.pk).exists()


def test_nobody_makes_a_staff_member_of_their_own_user(cast, client):
    from accounts.models import User

    holder = User.objects.create_user("adgang", password="x-password-1", is_staff=True)
    holder.user_permissions.set(Permission.objects.filter(content_type__app_label="organisation"))
    holder.user_permissions.add(Permission.objects.get(codename="administer_access"))
    client.force_login(holder)
    response = client.post(
        reverse("admin:organisation_staffmember_add"),
        {
            "user": holder.pk,
            "role": "laege",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not hasattr(User.objects.get(pk=holder.pk), "staff")


def test_change_user_alone_does_not_change_a_superuser(cast, client):
    from accounts.models import User

    root = User.objects.create_superuser("root", "r@x.dk", "x-root-password")
    admin = cast.administrator
    admin.is_staff = True
    admin.save()
    admin.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    client.force_login(admin)
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    response = client.post(password, {"password1": "taken-over-1", "password2": "taken-over-1"})
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("x-root-password")


def test_a_draft_autosave_writes_one_event(cast, client):
    from journal import services
    from journal.models import NoteType

    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="journal")
    draft = services.note_create(access=access, note_type=NoteType.CONTINUATION, text="Start")
    client.force_login(cast.treating_doctor)
    before = events(cast).count()
    url = reverse("journal:note_autosave", kwargs={"note_id": draft.public_id})
    assert client.post(url, {"text": "Mere tekst", "title": "Stuegang"}).status_code == 200
    assert events(cast).count() - before == 1


def test_a_deflated_bomb_without_preamble_is_stopped_too(cast, settings):
    settings.SUNDHED_DICOM_MAX_INFLATED_BYTES = 8 * 2**20
    data = bomb(64 * 2**20)[132:]  # no 128-byte preamble and no DICM: the file meta first
    row = dicom_object_receive(content=ContentFile(data), name="x", source="folder")
    row = dicom_object_process(object_id=row.pk)
    assert row.status == "failed" and "inflates to more than" in row.reason


def test_the_home_page_with_the_work_list_is_never_cached(cast, client):
    client.force_login(cast.treating_doctor)
    assert "no-store" in client.get("/")["Cache-Control"]


def test_a_nul_byte_in_the_address_or_a_form_is_a_400(cast, client):
    client.force_login(cast.treating_doctor)
    trend = reverse(
        "labresults:trend", kwargs={"patient_id": cast.patient.public_id, "code": "NPU03429"}
    )
    assert client.get(trend.replace("NPU03429", "NPU%00")).status_code == 400
    url = reverse("patients:cave_create", kwargs={"patient_id": cast.patient.public_id})
    assert client.post(url, {"substance": "Peni\x00cillin"}).status_code == 400


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


def test_a_signed_in_user_without_admin_access_gets_403_not_a_loop(cast, client):
    client.force_login(cast.treating_doctor)
    assert client.get("/admin/login/?next=/admin/").status_code == 403


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
