"""Holes found by a second look at admin and the pages every user sees (one test each)."""

import pydicom
import pytest
from django.urls import reverse

from audit.models import AccessEvent
from tests.conftest import block

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


def test_a_blocking_cannot_be_changed_in_admin(cast, client):
    from accounts.models import User

    blocking = block(cast, care_course=cast.course)
    client.force_login(User.objects.create_superuser("root", "r@x.dk", "x-root-password"))
    url = reverse("admin:patients_blocking_change", args=[blocking.pk])
    client.post(url, {"revoked_at_0": "2026-01-01", "revoked_at_1": "10:00"})
    blocking.refresh_from_db()
    assert blocking.revoked_at is None
    assert client.get(reverse("admin:patients_blocking_add")).status_code == 403


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


def test_a_signed_in_user_without_admin_access_gets_403_not_a_loop(cast, client):
    client.force_login(cast.treating_doctor)
    assert client.get("/admin/login/?next=/admin/").status_code == 403
