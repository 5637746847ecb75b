"""An admitted patient's FMK card is always fresh: beat reads it again when the last good read
is older than SUNDHED_FMK_ADMITTED_REFRESH, or there is none (an admission that never read it),
and never asks twice while a read waits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from medicinkort.models import CardRead
from medicinkort.services.reads import cards_refresh_admitted

pytestmark = pytest.mark.django_db


def test_an_admitted_patient_without_a_fresh_card_is_read_again_once(cast, settings):
    settings.SUNDHED_OUTBOX_DISPATCH = False
    CardRead.objects.filter(patient=cast.patient).delete()  # as if admitted without its read
    assert cards_refresh_admitted() == 1
    read = CardRead.objects.get(patient=cast.patient)
    assert read.occasion == "schedule" and read.status == "pending"
    assert read.requested_by_id == (
        cast.course.responsible.user_id if cast.course.responsible_id else None
    )
    assert cards_refresh_admitted() == 0  # one waits already
    CardRead.objects.filter(pk=read.pk).update(status="done", finished_at=timezone.now())
    assert cards_refresh_admitted() == 0  # fresh
    later = timezone.now() + timedelta(seconds=settings.SUNDHED_FMK_ADMITTED_REFRESH + 1)
    assert cards_refresh_admitted(now=later) == 1  # old: read again


def test_a_discharged_patient_is_not_read(cast, settings):
    settings.SUNDHED_OUTBOX_DISPATCH = False
    CardRead.objects.filter(patient=cast.patient).delete()
    cast.course.ended_at = timezone.now()
    cast.course.save(update_fields=["ended_at"])
    assert cards_refresh_admitted() == 0
