"""Django admin: every model is there, patient pages in admin are audited, nothing is deleted."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from audit.models import AccessEvent, LegalBasis

OUR_APPS = ["accounts", "organisation", "patients", "audit"]


def test_every_model_of_ours_is_in_admin():
    missing = [
        model._meta.label
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models()
        if model not in admin.site._registry and not model._meta.label.endswith("Event")
    ]
    assert missing == []


@pytest.fixture
def superuser(cast):
    from accounts.models import User

    return User.objects.create_superuser("root", "root@test.sundhed.dk", "x-root-password")


def test_reading_a_patient_in_admin_is_logged_as_administration(cast, client, superuser):
    client.force_login(superuser)
    url = reverse("admin:patients_patient_change", args=[cast.patient.pk])
    assert client.get(url).status_code == 200
    event = AccessEvent.objects.get(patient_id=cast.patient.pk)
    assert (event.legal_basis, event.user_id, event.data_kind) == (
        LegalBasis.ADMINISTRATION,
        superuser.pk,
        "demographics",
    )
    assert client.get(reverse("admin:patients_patient_changelist")).status_code == 200
    listed = AccessEvent.objects.filter(action="list", data_kind="demographics")
    assert set(listed.values_list("patient_id", flat=True)) == {cast.patient.pk, cast.stranger.pk}


def test_clinical_records_cannot_be_deleted_from_admin(cast, client, superuser):
    client.force_login(superuser)
    for name, obj in [
        ("patients_patient", cast.patient),
        ("patients_carecourse", cast.course),
        ("patients_caveentry", cast.patient.cave_entries.get()),
    ]:
        response = client.post(reverse(f"admin:{name}_delete", args=[obj.pk]), {"post": "yes"})
        assert response.status_code == 403, name
        assert type(obj).objects.filter(pk=obj.pk).exists()


def test_the_audit_browser_is_read_only(cast, client, superuser):
    client.force_login(superuser)
    client.get(reverse("admin:patients_patient_change", args=[cast.patient.pk]))
    event = AccessEvent.objects.get()
    assert client.get(reverse("admin:audit_accessevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_accessevent_add")).status_code == 403
    response = client.post(
        reverse("admin:audit_accessevent_change", args=[event.pk]), {"reason": "x"}
    )
    assert response.status_code == 403
    assert (
        client.get(
            reverse("admin:audit_accessevent_changelist"), {"legal_basis__exact": "administration"}
        ).status_code
        == 200
    )
