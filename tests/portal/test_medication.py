"""The citizen's medication: the FMK card as the hospital last read it, with its age, beside the
hospital's current orders."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from medicinkort.models import Drug
from medicinkort.services.orders import OrderData, order_create
from patients.access.policy import access_decide
from tests.medicinkort.test_pages import snapshot_of
from tests.portal.conftest import mitid_sign_in


def test_the_citizen_sees_the_card_with_its_age_and_the_hospitals_orders(cast, client, mitid):
    page_url = reverse("portal:medication")
    mitid_sign_in(client, cast.patient.cpr)
    empty = client.get(page_url, HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-testid="portal-card"' not in empty
    snapshot = snapshot_of(cast, lines=[("1", "Furix", "C03CA01", "1 tablet morgen")])
    snapshot.fetched_at = timezone.now() - timedelta(hours=3)
    snapshot.save(update_fields=["fetched_at"])
    doctor = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    drug = Drug.objects.filter(atc_code="B01AA03").first()
    order_create(access=doctor, data=OrderData.from_drug(drug, dose_text="1 tablet",
                                                         times=["18:00"]))  # fmt: skip
    page = client.get(page_url, HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "Furix" in page and "1 tablet morgen" in page
    assert "3\xa0timer" in page  # the card's age in words (timesince joins with a no-break space)
    assert page.count('data-testid="portal-order"') == 1 and drug.name in page
