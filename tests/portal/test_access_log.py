"""Who has looked at my record: each access in plain words at once, break the glass with its
reason standing out, staff names according to the setting, and each portal page itself on the
log exactly once, basis the patient themself."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AccessEvent
from patients.services import break_glass_create
from tests.portal.conftest import mitid_sign_in

REASON = "Bevidstløs i skadestuen, ingen pårørende"


@pytest.mark.parametrize("show_names", [False, True])
def test_a_break_the_glass_shows_at_once_with_its_reason(cast, client, mitid, settings, show_names):
    settings.SUNDHED_PORTAL_SHOW_STAFF_NAMES = show_names
    doctor = Client()
    doctor.force_login(cast.other_doctor)  # orthopaedics: no care relation with Karen
    break_glass_create(user=cast.other_doctor, patient=cast.patient, reason=REASON)
    chart = reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id})
    assert doctor.get(chart).status_code == 200
    mitid_sign_in(client, cast.patient.cpr)
    page = client.get(reverse("portal:access_log"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-break-glass="1"' in page and REASON in page
    assert "Ortopædkirurgisk afdeling, Testhospitalet" in page and "Læge" in page
    assert ("Knoglelæge" in page) is show_names


def test_every_portal_page_is_on_the_log_once_and_shows_only_the_citizens_own(cast, client, mitid):
    mitid_sign_in(client, cast.patient.cpr)
    for name in ("portal:overview", "portal:access_log"):
        before = AccessEvent.objects.count()
        page = client.get(reverse(name)).content.decode()
        after = list(AccessEvent.objects.order_by("id")[before:])
        assert len(after) == 1, name
        assert after[0].patient_id == cast.patient.pk and after[0].legal_basis == "self"
        assert "Lars" not in page and cast.stranger.cpr not in page


def test_two_citizens_see_each_their_own(cast, client, mitid):
    other = Client()
    mitid_sign_in(client, cast.patient.cpr)
    mitid_sign_in(other, cast.stranger.cpr)
    reason = "Akut indlagt i nat uden henvisning"
    break_glass_create(user=cast.nurse, patient=cast.stranger, reason=reason)
    karen = client.get(reverse("portal:access_log")).content.decode()
    lars = other.get(reverse("portal:access_log")).content.decode()
    assert reason in lars and reason not in karen
    assert "Karen" in karen and "Karen" not in lars
    # The portal never takes a patient from the address: a patient id in it changes nothing.
    smuggled = client.get(reverse("portal:overview") + f"?patient={cast.stranger.public_id}")
    assert "Lars" not in smuggled.content.decode()


def test_accesses_older_than_the_kept_period_are_not_shown(cast, client, mitid):
    from django.db import connection

    # An access 800 days ago (inserted as it was then: the log refuses changes).
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO audit_accessevent (occurred_at, user_display, role, department_code,
                   department_name, patient_id, data_kind, object_type, object_id, action,
                   legal_basis, reason, request_id, path, flagged)
               VALUES (now() - interval '800 days', 'Gammel Opslag', 'laege', '', 'Gammel afd.',
                   %s, 'journal', '', '', 'view', 'treatment', '', '', '', false)""",
            [cast.patient.pk],
        )
    mitid_sign_in(client, cast.patient.cpr)
    client.get(reverse("portal:overview"))
    page = client.get(reverse("portal:access_log")).content.decode()
    assert "Gammel afd." not in page and page.count('data-testid="access-row"') >= 1
