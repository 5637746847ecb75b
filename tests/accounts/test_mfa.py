"""A staff member without a second factor sets one up before any patient page."""

from allauth.mfa.models import Authenticator
from django.urls import reverse


def patient_page(cast):
    return reverse("patients:detail", kwargs={"patient_id": cast.patient.public_id})


def test_without_a_second_factor_a_clinician_is_sent_to_set_one_up(cast, client, settings):
    settings.SUNDHED_MFA_OPTIONAL = False
    client.force_login(cast.treating_doctor)
    for url in [patient_page(cast), reverse("patients:search") + "?q=Jensen"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert "Jensen" not in client.get(patient_page(cast), follow=True).content.decode()


def test_with_a_second_factor_the_clinician_gets_in(cast, client, settings):
    settings.SUNDHED_MFA_OPTIONAL = False
    Authenticator.objects.create(
        user=cast.treating_doctor, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
    )
    client.force_login(cast.treating_doctor)
    assert client.get(patient_page(cast)).status_code == 200


def test_the_setting_that_lets_demo_users_skip_it_is_off_by_default():
    from sundhed import settings as project_settings

    assert project_settings.SUNDHED_MFA_OPTIONAL is False
