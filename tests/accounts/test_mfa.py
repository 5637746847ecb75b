"""A staff member signs in with a second factor before any patient page, admin included."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.urls import reverse

from tests.conftest import force_login_with_second_factor

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def patient_page(cast):
    return reverse("patients:detail", kwargs={"patient_id": cast.patient.public_id})


def patient_api(cast):
    return f"/api/patients/{cast.patient.public_id}/"


def totp_code() -> str:
    return format_hotp_value(hotp_value(SECRET, int(time.time()) // 30))


def sign_in_with_password(client, user, password) -> None:
    response = client.post(reverse("account_login"), {"login": user.username, "password": password})
    assert response.status_code == 302


def test_without_a_second_factor_a_clinician_is_sent_to_set_one_up(cast, client, settings):
    settings.SUNDHED_MFA_OPTIONAL = False
    client.force_login(cast.treating_doctor)
    for url in [patient_page(cast), reverse("patients:search") + "?q=Jensen"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert "Jensen" not in client.get(patient_page(cast), follow=True).content.decode()


def test_with_a_second_factor_used_at_sign_in_the_clinician_gets_in(cast, client, settings):
    settings.SUNDHED_MFA_OPTIONAL = False
    TOTP.activate(cast.treating_doctor, SECRET)
    sign_in_with_password(client, cast.treating_doctor, cast.PASSWORD)
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert response.status_code == 302
    assert client.get(patient_page(cast)).status_code == 200
    assert client.get(patient_api(cast)).status_code == 200


def test_having_a_factor_is_not_enough_the_session_must_have_used_it(cast, client, settings):
    settings.SUNDHED_MFA_OPTIONAL = False
    Authenticator.objects.create(
        user=cast.treating_doctor, type=Authenticator.Type.TOTP, data={"secret": SECRET}
    )
    client.force_login(cast.treating_doctor)  # a session that never saw the second factor
    response = client.get(patient_page(cast))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    api = client.get(patient_api(cast))
    assert api.status_code == 403 and "Jensen" not in api.content.decode()
    force_login_with_second_factor(client, cast.treating_doctor)
    assert client.get(patient_page(cast)).status_code == 200


def test_the_admin_login_takes_no_password_it_sends_to_the_sign_in_with_second_factor(
    cast, client, settings
):
    settings.SUNDHED_MFA_OPTIONAL = False
    doctor = cast.treating_doctor
    doctor.is_staff = True
    doctor.save()
    TOTP.activate(doctor, SECRET)
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": doctor.username, "password": cast.PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    # Nothing was signed in by the admin login: patient pages and the API still refuse.
    assert client.get(patient_page(cast))["Location"].startswith(reverse("account_login"))
    assert client.get(patient_api(cast)).status_code in (401, 403)
    assert "_auth_user_id" not in client.session


def test_an_admin_session_without_the_second_factor_is_sent_to_use_it(cast, client, settings):
    settings.SUNDHED_MFA_OPTIONAL = False
    doctor = cast.treating_doctor
    doctor.is_staff = True
    doctor.save()
    client.force_login(doctor)
    response = client.get("/admin/")
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    TOTP.activate(doctor, SECRET)
    response = client.get("/admin/")
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    force_login_with_second_factor(client, doctor)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/"])
def test_the_admin_login_never_sends_on_to_another_site(cast, client, target):
    response = client.get(f"/admin/login/?next={target}")
    assert "evil.example" not in response["Location"].split("?next=")[0]
    assert "evil.example" not in response["Location"]


# Transactional: allauth announces the new factor on commit, inside the request, as in production.
@pytest.mark.django_db(transaction=True)
def test_setting_up_the_factor_counts_as_using_it(cast, client, settings):
    settings.SUNDHED_MFA_OPTIONAL = False
    sign_in_with_password(client, cast.treating_doctor, cast.PASSWORD)
    # allauth asks for the password again before a factor is added, as a real user sees.
    client.post(reverse("account_reauthenticate"), {"password": cast.PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302
    assert client.get(patient_page(cast)).status_code == 200


def test_the_setting_that_lets_demo_users_skip_it_is_off_by_default():
    from sundhed import settings as project_settings

    assert project_settings.SUNDHED_MFA_OPTIONAL is False
