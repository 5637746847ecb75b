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


def admin_events(cast):
    return AccessEvent.objects.filter(patient_id=cast.patient.pk, legal_basis="administration")


def test_the_history_page_shows_the_change_history_and_is_logged(cast, client, superuser):
    from patients.services import phone_normalise

    cast.patient.phone = phone_normalise("20304050")
    cast.patient.save()
    client.force_login(superuser)
    url = reverse("admin:patients_patient_history", args=[cast.patient.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert "+4520304050" in response.content.decode()
    event = admin_events(cast).get()
    assert (event.action, event.object_id) == ("view", str(cast.patient.public_id))


def test_the_autocomplete_logs_the_patients_it_answers_with(cast, client, superuser):
    client.force_login(superuser)
    response = client.get(
        "/admin/autocomplete/",
        {
            "term": "Jensen",
            "app_label": "patients",
            "model_name": "carecourse",
            "field_name": "patient",
        },
    )
    assert response.status_code == 200
    assert "Jensen" in response.content.decode()
    assert admin_events(cast).filter(action="list").count() == 1


def test_a_change_form_returned_with_errors_is_logged_once(cast, client, superuser):
    client.force_login(superuser)
    url = reverse("admin:patients_patient_change", args=[cast.patient.pk])
    response = client.post(url, {"cpr": "not a cpr", "given_names": "", "family_name": ""})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert admin_events(cast).count() == 1


def test_the_global_change_history_browser_is_gone(cast, client, superuser):
    client.force_login(superuser)
    assert client.get("/admin/pghistory/events/").status_code == 404


def test_raw_laboratory_messages_are_not_readable_in_admin(cast, client, superuser):
    from labresults.services import inbound_message_receive

    raw = (
        "MSH|^~\\&|LABSYS|KBA|SUNDHED|RH|20261124101500||ORU^R01|ADM1|P|2.5\r"
        "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    )
    row = inbound_message_receive(raw=raw.encode(), transport="mllp").message
    client.force_login(superuser)
    for url in (
        reverse("admin:labresults_inboundmessage_changelist"),
        reverse("admin:labresults_inboundmessage_change", args=[row.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert "0707614048" not in body and "Jensen" not in body, url
