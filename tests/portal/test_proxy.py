"""Proxies: a parent sees a child's record until the child turns 15; an adult gives another
adult power of attorney for a year, and withdraws it; a proxy sees what the person sees (not
their blockings or powers of attorney to change), under a clear banner, and every access is on
the person's log with the basis "proxy"."""

from datetime import date, timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from patients.models import Blocking, Proxy
from patients.services import care_course_create, patient_create
from tests.portal.conftest import mitid_sign_in


def child_of(cast, *, years: int):
    born = timezone.localdate() - timedelta(days=365 * years + 30)
    child = patient_create(
        cpr=born.strftime("%d%m%y") + "4001", given_names="Emma", family_name="Jensen",
    )  # fmt: skip
    child.birth_date = born
    child.save(update_fields=["birth_date"])
    Proxy.objects.create(
        subject=child, holder=cast.patient, kind="parent", valid_from=timezone.now(),
        granted_by=cast.administrator,
    )  # fmt: skip
    return child


def adult_lars(cast):
    """The cast's stranger, Lars Holm, with the birth date of an adult."""
    cast.stranger.birth_date = date(1980, 2, 15)
    cast.stranger.save(update_fields=["birth_date"])
    return cast.stranger


def give_to_lars(client, cast):
    """Karen's form for giving Lars power of attorney, filled in right, sent in Danish."""
    return client.post(
        reverse("portal:proxies"), {"cpr": cast.stranger.cpr, "family_name": "Holm"},
        HTTP_ACCEPT_LANGUAGE="da",
    )  # fmt: skip


def test_a_parent_acts_for_a_child_under_15_and_it_is_on_the_childs_log(cast, client, mitid):
    child = child_of(cast, years=8)
    mitid_sign_in(client, cast.patient.cpr)
    page = client.get(reverse("portal:proxies"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-testid="proxy-subject"' in page and "Emma" in page
    client.post(reverse("portal:act_for"), {"patient": str(child.public_id)})
    overview = client.get(reverse("portal:overview"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-testid="acting-for"' in overview and "Emma Jensen" in overview
    event = AccessEvent.objects.filter(patient_id=child.pk).latest("id")
    assert event.legal_basis == "proxy" and event.user_display.startswith("Karen")
    # The child's "who has looked" names the parent as a proxy.
    log = client.get(reverse("portal:access_log"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "på dine vegne" in log
    # Back to oneself.
    client.post(reverse("portal:act_for"), {"patient": "self"})
    mine = client.get(reverse("portal:overview")).content.decode()
    assert 'data-testid="acting-for"' not in mine


def test_a_child_of_15_is_no_longer_shown_to_the_parent(cast, client, mitid):
    teenager = child_of(cast, years=15)
    mitid_sign_in(client, cast.patient.cpr)
    assert "Emma" not in client.get(reverse("portal:proxies")).content.decode()
    client.post(reverse("portal:act_for"), {"patient": str(teenager.public_id)})
    assert "Emma" not in client.get(reverse("portal:overview")).content.decode()
    assert not AccessEvent.objects.filter(patient_id=teenager.pk).exists()


def test_power_of_attorney_given_used_and_withdrawn(cast, client, mitid):
    care_course_create(
        patient=cast.stranger, department=cast.cardiology, kind="outpatient", title="Kontrol",
        started_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    adult_lars(cast)
    mitid_sign_in(client, cast.patient.cpr)
    # Refused with the field named: a child, an unknown number.
    kid = child_of(cast, years=10)
    refused = client.post(
        reverse("portal:proxies"), {"cpr": kid.cpr, "family_name": "Jensen"},
        HTTP_ACCEPT_LANGUAGE="da",
    )  # fmt: skip
    assert refused.status_code == 400 and "voksen" in refused.content.decode()
    # An unknown number and a known number with the wrong surname get the same answer, which
    # names nobody.
    unknown = client.post(reverse("portal:proxies"), {"cpr": "0101011234", "family_name": "Holm"})
    wrong_name = client.post(
        reverse("portal:proxies"), {"cpr": cast.stranger.cpr, "family_name": "Hansen"}
    )
    assert unknown.status_code == wrong_name.status_code == 400
    assert "Lars" not in wrong_name.content.decode()
    assert _error(unknown) == _error(wrong_name) != ""
    no_name = client.post(reverse("portal:proxies"), {"cpr": cast.stranger.cpr})
    assert no_name.status_code == 400 and 'id="id_family_name"' in no_name.content.decode()
    assert not Proxy.objects.filter(subject=cast.patient, holder=cast.stranger).exists()
    client.post(reverse("portal:proxies"), {"cpr": cast.stranger.cpr, "family_name": " holm "})
    given = Proxy.objects.get(subject=cast.patient, holder=cast.stranger)
    assert given.kind == "fuldmagt" and given.valid_until > timezone.now() + timedelta(days=360)

    lars = Client()
    mitid_sign_in(lars, cast.stranger.cpr)
    lars.post(reverse("portal:act_for"), {"patient": str(cast.patient.public_id)})
    results = lars.get(reverse("portal:results"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-testid="acting-for"' in results and "Karen Jensen" in results
    event = AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind="lab_results").latest(
        "id"
    )
    assert event.legal_basis == "proxy" and "Lars" in event.user_display
    # A proxy may not change the person's blockings or powers of attorney.
    lars.post(reverse("portal:blockings"), {"target": f"course:{cast.course.public_id}"})
    assert not Blocking.objects.exists()
    lars.post(reverse("portal:proxies"), {"withdraw": str(given.public_id)})
    assert Proxy.objects.get(pk=given.pk).withdrawn_at is None

    # Karen sees Lars's look, and withdraws; Lars is back to his own record at once.
    log = client.get(reverse("portal:access_log"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "Lars Holm" in log and "på dine vegne" in log
    client.post(reverse("portal:proxies"), {"withdraw": str(given.public_id)})
    assert Proxy.objects.get(pk=given.pk).withdrawn_at is not None
    after = lars.get(reverse("portal:overview")).content.decode()
    assert 'data-testid="acting-for"' not in after and "Karen" not in after


def _error(response) -> str:
    import re

    found = re.search(
        r'class="form-error-message" role="alert">([^<]*)<', response.content.decode()
    )
    return found.group(1) if found else ""


def test_giving_power_of_attorney_is_limited_to_ten_tries_an_hour(cast, client, mitid):
    mitid_sign_in(client, cast.patient.cpr)
    for _try in range(10):
        answer = client.post(reverse("portal:proxies"), {"cpr": "0101011234", "family_name": "X"})
        assert answer.status_code == 400 and "en time" not in _error(answer)
    adult_lars(cast)
    blocked = give_to_lars(client, cast)
    assert blocked.status_code == 400 and "om en time" in _error(blocked)
    assert not Proxy.objects.filter(subject=cast.patient).exists()


def test_a_bad_withdraw_value_is_a_400_naming_the_field(cast, client, mitid):
    mitid_sign_in(client, cast.patient.cpr)
    for value in ("not-a-uuid", "", "00000000-0000-0000-0000-000000000000"):
        answer = client.post(reverse("portal:proxies"), {"withdraw": value})
        assert answer.status_code == 400, value


def test_a_child_of_14_cannot_give_power_of_attorney(cast, client, mitid):
    adult_lars(cast)
    young = timezone.localdate() - timedelta(days=365 * 14)
    cast.patient.birth_date = young
    cast.patient.save(update_fields=["birth_date"])
    mitid_sign_in(client, cast.patient.cpr)
    answer = give_to_lars(client, cast)
    assert answer.status_code == 400 and "15" in _error(answer)
    assert not Proxy.objects.filter(subject=cast.patient).exists()


def test_a_parents_access_ends_when_the_child_dies(cast, client, mitid):
    child = child_of(cast, years=8)
    mitid_sign_in(client, cast.patient.cpr)
    child.deceased_date = timezone.localdate() - timedelta(days=1)
    child.save(update_fields=["deceased_date"])
    assert "Emma" not in client.get(reverse("portal:proxies")).content.decode()
    client.post(reverse("portal:act_for"), {"patient": str(child.public_id)})
    client.get(reverse("portal:overview"))
    assert not AccessEvent.objects.filter(patient_id=child.pk).exists()


def test_while_acting_the_proxies_page_is_the_citizens_own_and_on_their_own_log(
    cast, client, mitid
):
    child = child_of(cast, years=8)
    mitid_sign_in(client, cast.patient.cpr)
    client.post(reverse("portal:act_for"), {"patient": str(child.public_id)})
    before = AccessEvent.objects.filter(patient_id=child.pk).count()
    page = client.get(reverse("portal:proxies"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-testid="proxy-page-own"' in page and 'id="id_cpr"' not in page
    assert AccessEvent.objects.filter(patient_id=child.pk).count() == before
    event = AccessEvent.objects.filter(patient_id=cast.patient.pk).latest("id")
    assert event.data_kind == "proxy" and event.legal_basis == "self"
    # And still acting for the child on the next page.
    overview = client.get(reverse("portal:overview")).content.decode()
    assert 'data-testid="acting-for"' in overview


def test_a_proxy_neither_sees_nor_makes_the_calendar_address(cast, client, mitid):
    from booking.models import CalendarFeed
    from booking.services import calendar_feed_create

    child = child_of(cast, years=8)
    feed = calendar_feed_create(patient=child)
    mitid_sign_in(client, cast.patient.cpr)
    client.post(reverse("portal:act_for"), {"patient": str(child.public_id)})
    page = client.get(reverse("portal:appointments")).content.decode()
    assert feed.token not in page and "make-calendar-address" not in page
    client.post(reverse("portal:calendar_address"), {"action": "close"})
    client.post(reverse("portal:calendar_address"), {"action": "make"})
    assert list(CalendarFeed.objects.filter(patient=child, revoked_at__isnull=True)) == [feed]
    # As oneself, one's own address.
    client.post(reverse("portal:act_for"), {"patient": "self"})
    client.post(reverse("portal:calendar_address"), {"action": "make"})
    own = CalendarFeed.objects.get(patient=cast.patient, revoked_at__isnull=True)
    assert own.token in client.get(reverse("portal:appointments")).content.decode()
