"""The card's one query is compiled once per shape (`common.prepared`) and run for each
patient: each patient gets their own card and orders, and a blocking still hides the orders of
the blocked department from another department's clinician."""

from datetime import timedelta

from django.utils import timezone

from common.prepared import _prepared
from medicinkort.models import Drug
from medicinkort.selectors import card_state
from medicinkort.services import OrderData, order_create
from patients.access import access_decide
from patients.services import care_course_create
from tests.conftest import block, orthopaedics_course


def order_for(cast, patient, atc: str):
    access = access_decide(user=cast.treating_doctor, patient=patient, data_kind="medication")
    drug = Drug.objects.filter(atc_code=atc).first()
    return order_create(
        access=access, data=OrderData.from_drug(drug, dose_text="1 tablet", times=["08:00"])
    )


def test_one_compiled_query_serves_every_patient_with_their_own_orders(cast):
    care_course_create(
        patient=cast.stranger,
        department=cast.cardiology,
        kind="outpatient",
        title="Hjerte",
        started_at=timezone.now() - timedelta(hours=1),
    )
    warfarin = order_for(cast, cast.patient, "B01AA03")
    other = order_for(cast, cast.stranger, "J01CA04")
    _prepared.cache_clear()
    states = {
        patient.pk: card_state(
            access_decide(user=cast.treating_doctor, patient=patient, data_kind="medication"),
            with_orders=True,
        )
        for patient in (cast.patient, cast.stranger)
    }
    assert [o.drug_name for o in states[cast.patient.pk].orders] == [warfarin.drug_name]
    assert [o.drug_name for o in states[cast.stranger.pk].orders] == [other.drug_name]
    assert warfarin.drug_name != other.drug_name
    assert _prepared.cache_info().misses == 1 and _prepared.cache_info().hits == 1


def test_a_blocked_departments_orders_stay_hidden_from_another_department(cast):
    order = order_for(cast, cast.patient, "B01AA03")
    orthopaedics_course(cast)
    other = access_decide(user=cast.other_doctor, patient=cast.patient, data_kind="medication")
    assert [o.drug_name for o in card_state(other, with_orders=True).orders] == [order.drug_name]
    block(cast, department=cast.cardiology)
    other = access_decide(user=cast.other_doctor, patient=cast.patient, data_kind="medication")
    assert card_state(other, with_orders=True).orders == []
    # The treating department still sees its own order.
    own = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    assert [o.drug_name for o in card_state(own, with_orders=True).orders] == [order.drug_name]
