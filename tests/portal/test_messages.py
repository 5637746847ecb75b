"""Secure messages: the citizen writes to a department that treats them, with an attachment
whose type is read from its content; the department answers from its inbox in the chart (and
the start page counts it); the citizen reads the answer; files of another type or too large
are refused with the field named."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from audit.models import AccessEvent
from journal.models import Message, MessageThread
from tests.portal.conftest import mitid_sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_message_goes_to_the_department_and_the_answer_comes_back(cast, client, mitid):
    mitid_sign_in(client, cast.patient.cpr)
    page = client.get(reverse("portal:messages"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert cast.cardiology.name in page and "inden for 3 hverdage" in page
    answer = client.post(reverse("portal:messages"), {
        "department": str(cast.cardiology.public_id), "subject": "Bivirkninger",
        "text": "Jeg får hovedpine af den nye medicin.",
        "attachments": [SimpleUploadedFile("blodtryk.pdf", PDF, "application/pdf")],
    })  # fmt: skip
    assert answer.status_code == 302
    thread = MessageThread.objects.get(patient=cast.patient)
    assert thread.awaiting_department and thread.department == cast.cardiology
    attachment = thread.messages.get().attachments.get()
    assert attachment.content_type == "application/pdf" and attachment.size == len(PDF)

    # The department's inbox and start page count it; the doctor answers.
    doctor = Client()
    doctor.force_login(cast.treating_doctor)
    assert 'data-testid="dashboard-messages"' in doctor.get("/").content.decode()
    inbox = doctor.get(reverse("journal:message_inbox")).content.decode()
    assert "Bivirkninger" in inbox and inbox.count('data-testid="inbox-thread"') == 1
    url = reverse("journal:thread", kwargs={"patient_id": cast.patient.public_id,
                                            "thread_id": thread.public_id})  # fmt: skip
    assert "hovedpine" in doctor.get(url).content.decode()
    file_url = reverse("journal:message_attachment", kwargs={
        "patient_id": cast.patient.public_id, "attachment_id": attachment.public_id})  # fmt: skip
    downloaded = doctor.get(file_url)
    assert b"".join(downloaded.streaming_content) == PDF
    assert downloaded["Content-Type"] == "application/pdf"
    doctor.post(url, {"text": "Tag den om aftenen i stedet."})
    thread.refresh_from_db()
    assert not thread.awaiting_department
    assert Message.objects.filter(thread=thread, sender="citizen", read_at__isnull=False).exists()
    assert "Bivirkninger" not in doctor.get(reverse("journal:message_inbox")).content.decode()

    # The citizen sees one new answer and reads it.
    listing = client.get(reverse("portal:messages"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-testid="unread"' in listing
    shown = client.get(reverse("portal:thread", kwargs={"thread_id": thread.public_id}))
    assert "Tag den om aftenen" in shown.content.decode()
    assert not Message.objects.filter(thread=thread, sender="staff", read_at=None).exists()
    events = AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind="messages")
    assert (
        events.filter(legal_basis="self").exists()
        and events.filter(legal_basis="treatment").exists()
    )


def test_a_file_is_judged_by_its_content_and_its_size(cast, client, mitid, settings):
    mitid_sign_in(client, cast.patient.cpr)
    disguised = SimpleUploadedFile("billede.png", b"MZ\x90\x00 not a picture", "image/png")
    answer = client.post(reverse("portal:messages"), {
        "department": str(cast.cardiology.public_id), "subject": "Billede", "text": "Se vedlagte",
        "attachments": [disguised],
    }, HTTP_ACCEPT_LANGUAGE="da")  # fmt: skip
    assert answer.status_code == 400
    assert "billede.png er ikke en PDF-, JPEG- eller PNG-fil" in answer.content.decode()
    assert not MessageThread.objects.exists()  # nothing half sent
    import journal.messaging as messaging

    big = SimpleUploadedFile("stor.png", PNG + b"\x00" * (messaging.MAX_BYTES), "image/png")
    answer = client.post(reverse("portal:messages"), {
        "department": str(cast.cardiology.public_id), "subject": "Stor", "text": "Se",
        "attachments": [big],
    }, HTTP_ACCEPT_LANGUAGE="da")  # fmt: skip
    assert answer.status_code == 400 and "større end 10 MB" in answer.content.decode()
    # A department that does not treat the citizen cannot be chosen.
    answer = client.post(reverse("portal:messages"), {
        "department": str(cast.orthopaedics.public_id), "subject": "Knæ", "text": "Hej",
    })  # fmt: skip
    assert answer.status_code == 400 and not MessageThread.objects.exists()


def test_staff_of_another_department_cannot_answer(cast, client, mitid):
    from journal.messaging import thread_start
    from patients.access.policy import access_decide
    from patients.services import break_glass_create

    mitid_sign_in(client, cast.patient.cpr)
    cast.patient.refresh_from_db()
    mine = access_decide(user=cast.patient.user, patient=cast.patient, data_kind="messages",
                         audience="patient")  # fmt: skip
    thread = thread_start(access=mine, department=cast.cardiology, subject="Spørgsmål",
                          text="Hej", allowed_department_ids=[cast.cardiology.pk])  # fmt: skip
    break_glass_create(
        user=cast.other_doctor, patient=cast.patient, reason="Akut henvendelse i skadestuen"
    )
    other = Client()
    other.force_login(cast.other_doctor)
    url = reverse("journal:thread", kwargs={"patient_id": cast.patient.public_id,
                                            "thread_id": thread.public_id})  # fmt: skip
    answer = other.post(url, {"text": "Svar fra en anden afdeling"})
    assert answer.status_code == 403
    assert not Message.objects.filter(thread=thread, sender="staff").exists()


def test_a_body_larger_than_the_portal_takes_is_refused_before_it_is_read(cast, client, mitid):
    from django.conf import settings

    mitid_sign_in(client, cast.patient.cpr)
    too_large = settings.SUNDHED_PORTAL_MAX_BODY_BYTES + 1
    answer = client.generic(
        "POST", reverse("portal:messages"), b"x", content_type="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(too_large), HTTP_ACCEPT_LANGUAGE="da",
    )  # fmt: skip
    assert answer.status_code == 413 and "højst 52 MB" in answer.content.decode()


def test_a_proxy_reading_a_thread_leaves_it_new_for_the_person(cast, client, mitid):
    from django.utils import timezone

    from patients.models import Proxy
    from tests.portal.test_proxy import adult_lars

    thread = MessageThread.objects.create(
        patient=cast.patient, department=cast.cardiology, subject="Svar på prøver",
        awaiting_department=False, last_message_at=timezone.now(),
    )  # fmt: skip
    answer = Message.objects.create(
        thread=thread, sender="staff", author=cast.treating_doctor,
        staff=cast.treating_doctor.staff, text="Dine prøver er fine.",
    )  # fmt: skip
    adult_lars(cast)
    Proxy.objects.create(
        subject=cast.patient, holder=cast.stranger, kind="fuldmagt", valid_from=timezone.now(),
        valid_until=timezone.now() + timezone.timedelta(days=30), granted_by=cast.administrator,
    )  # fmt: skip
    mitid_sign_in(client, cast.stranger.cpr)
    client.post(reverse("portal:act_for"), {"patient": str(cast.patient.public_id)})
    shown = client.get(reverse("portal:thread", kwargs={"thread_id": thread.public_id}))
    assert "Dine prøver er fine" in shown.content.decode()
    answer.refresh_from_db()
    assert answer.read_at is None
