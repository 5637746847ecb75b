"""A citizen signs in with MitID (the simulator, over OpenID Connect with PKCE): keyed on the
broker's subject, at level substantial or higher, the CPR number never kept, and the citizen's
session kept inside the portal, as staff are kept out of it."""

import json

from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from audit.models import AccessEvent
from tests.portal.conftest import mitid_sign_in


def test_a_citizen_signs_in_with_mitid_and_sees_their_own_overview(cast, client, mitid):
    answer = mitid_sign_in(client, cast.patient.cpr)
    assert answer.status_code == 302 and answer["Location"] == "/portal/", answer.content[:800]
    page = client.get("/portal/", HTTP_ACCEPT_LANGUAGE="da")
    assert page.status_code == 200
    assert "Karen" in page.content.decode() and "Min Sundhedsplatform" in page.content.decode()
    cast.patient.refresh_from_db()
    account = SocialAccount.objects.get(provider="mitid")
    assert cast.patient.user_id == account.user_id
    # Keyed on the broker's subject; the CPR number is nowhere in what allauth keeps.
    assert account.uid == account.extra_data["id_token"]["sub"]
    assert cast.patient.cpr not in json.dumps(account.extra_data)
    event = AccessEvent.objects.filter(patient_id=cast.patient.pk).latest("id")
    assert (event.legal_basis, event.data_kind) == ("self", "overview")
    assert event.user_id == account.user_id
    # Signing in again is the same account.
    client.post(reverse("portal:signout"))
    mitid_sign_in(client, cast.patient.cpr)
    assert SocialAccount.objects.filter(provider="mitid").count() == 1
    assert client.get("/portal/").status_code == 200


def test_a_sign_in_below_substantial_is_refused_with_a_clear_page(cast, client, mitid):
    answer = mitid_sign_in(client, cast.patient.cpr, loa="Low")
    assert answer.status_code == 403
    assert "sikringsniveau" in answer.content.decode().lower() or "level of assurance" in (
        answer.content.decode().lower()
    )
    assert not SocialAccount.objects.exists()
    assert client.get("/portal/").status_code == 302  # not signed in


def test_a_citizen_without_a_record_is_told_so(cast, client, mitid):
    answer = mitid_sign_in(client, "0101010000")
    assert answer.status_code == 404
    assert 'data-testid="signin-refused"' in answer.content.decode()
    assert not SocialAccount.objects.exists()


def test_a_citizens_session_stays_in_the_portal(cast, client, mitid):
    mitid_sign_in(client, cast.patient.cpr)
    for path in (
        "/", f"/patients/{cast.patient.public_id}/", f"/chart/{cast.patient.public_id}/",
        f"/booking/{cast.patient.public_id}/", "/admin/", "/lab/inbox/",
    ):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code in (302, 403), path
        if answer.status_code == 302:
            assert answer["Location"].startswith("/portal/"), (path, answer["Location"])


def test_staff_never_reach_the_portal_as_a_citizen(cast, client, mitid):
    client.force_login(cast.treating_doctor)
    answer = client.get("/portal/")
    assert answer.status_code == 302 and "/portal/log-paa/" in answer["Location"]
    assert client.get(reverse("portal:access_log")).status_code == 302
    # A staff member's own record cannot be signed into through their staff account either.
    cast.patient.user = cast.nurse
    cast.patient.save(update_fields=["user"])
    client.logout()
    answer = mitid_sign_in(client, cast.patient.cpr)
    assert answer.status_code == 403
    assert not SocialAccount.objects.exists()


def test_a_citizen_who_already_has_an_account_keeps_it(cast, client, mitid):
    """The demo's citizen had a password account: MitID joins it, and the password account's
    own sign-in never opened the portal."""
    from accounts.models import User

    own = User.objects.create(username="karen-borger")
    cast.patient.user = own
    cast.patient.save(update_fields=["user"])
    client.force_login(own)
    assert client.get("/portal/").status_code == 302  # not through MitID: no portal
    client.logout()
    mitid_sign_in(client, cast.patient.cpr)
    assert SocialAccount.objects.get(provider="mitid").user == own
    assert client.get("/portal/").status_code == 200


def test_mitid_is_never_attached_to_a_signed_in_staff_account(cast, client, mitid):
    """allauth's "connect" would add the citizen's MitID to the account signed in now: refused,
    so a staff account never gains a citizen's identity."""
    before = cast.patient.user_id
    client.force_login(cast.treating_doctor)
    answer = mitid_sign_in(client, cast.patient.cpr, process="connect")
    assert answer.status_code == 403
    assert not SocialAccount.objects.exists()
    cast.patient.refresh_from_db()
    assert cast.patient.user_id == before != cast.treating_doctor.pk


def test_the_brokers_subjects_cannot_be_computed_from_a_cpr_number(cast, client, mitid):
    """The subject is a keyed hash: not the public name-based UUID of the CPR number."""
    import uuid

    mitid_sign_in(client, cast.patient.cpr)
    uid = SocialAccount.objects.get(provider="mitid").uid
    guesses = {str(uuid.uuid5(namespace, cast.patient.cpr)) for namespace in (
        uuid.NAMESPACE_DNS, uuid.NAMESPACE_OID, uuid.NAMESPACE_URL, uuid.NAMESPACE_X500,
        uuid.UUID("6c1d5a3e-2f0b-4d8e-9a61-4b0c2d7e9f15"),  # the key the simulator once had
    )}  # fmt: skip
    assert uuid.UUID(uid).version == 4 and uid not in guesses
