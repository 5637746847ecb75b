"""Lockout is keyed on user name and address together: one person never locks out a ward."""

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db
WARD_ADDRESS = "10.20.30.40"
TOO_MANY = "Der er for mange mislykkede logonforsøg. Prøv igen senere."


def sign_in(client, username, password):
    return client.post(
        reverse("account_login"),
        {"login": username, "password": password},
        REMOTE_ADDR=WARD_ADDRESS,
    )


def test_twenty_failures_by_one_user_do_not_stop_ninety_nine_others(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    password = make_password("the-right-password-1")
    User.objects.bulk_create(
        [
            User(username=f"nurse{n:03d}", email=f"nurse{n:03d}@ward.dk", password=password)
            for n in range(100)
        ]
    )
    for _ in range(20):
        sign_in(client, "nurse000", "wrong-password")
    # Locked: even the right password does not sign this user in from this address.
    sign_in(client, "nurse000", "the-right-password-1")
    assert "_auth_user_id" not in client.session

    signed_in = 0
    for n in range(1, 100):
        response = sign_in(client, f"nurse{n:03d}", "the-right-password-1")
        assert response.status_code == 302, f"nurse{n:03d} was refused"
        signed_in += "_auth_user_id" in client.session
        client.logout()
    assert signed_in == 99


def test_a_password_spray_from_one_address_is_stopped_across_user_names(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    User.objects.create_user("target", "target@ward.dk", "the-right-password-1")
    # 300 different user names, one guess each: no user reaches its own lockout.
    for n in range(300):
        sign_in(client, f"guess{n:03d}", "Sommer2026!")
    refused = sign_in(client, "target", "the-right-password-1")
    assert "_auth_user_id" not in client.session
    assert refused.context["form"].errors["__all__"] == [TOO_MANY]
    # Another address is not affected.
    other = client.post(
        reverse("account_login"),
        {"login": "target", "password": "the-right-password-1"},
        REMOTE_ADDR="10.99.0.1",
    )
    assert other.status_code == 302 and "_auth_user_id" in client.session
