"""The demo data is deterministic and idempotent (its shape: test_demo_shape.py)."""

import pytest

from accounts.models import User
from organisation.models import Department, Hospital, StaffMember
from patients.models import CareCourse, CaveEntry, Patient
from sundhed.demo.seed import seed_demo

pytestmark = pytest.mark.django_db


def _snapshot():
    return list(
        Patient.objects.order_by("cpr").values_list("cpr", "given_names", "family_name", "city")
    )


def test_a_second_run_changes_nothing_and_the_same_seed_gives_the_same_people():
    from organisation.models import Membership, Region

    seed_demo(patients=100)
    first = _snapshot()
    assert seed_demo(patients=100) is False
    assert _snapshot() == first
    # Forget everything and build again: the same people come back.
    from booking.models import Allocation, AppointmentType, Booking, Resource, WaitingListEntry
    from journal.models import Diagnosis, Note, VitalSigns

    for model in (VitalSigns, Note, Diagnosis, Allocation, Booking, WaitingListEntry, Resource,
                  AppointmentType):  # fmt: skip
        model.objects.all().delete()
    from patients.models import Proxy

    Proxy.objects.all().delete()
    CaveEntry.objects.all().delete()
    CareCourse.objects.all().delete()
    Patient.objects.all().delete()
    Membership.objects.all().delete()
    StaffMember.objects.all().delete()
    User.objects.all().delete()
    Department.objects.all().delete()
    Hospital.objects.all().delete()
    Region.objects.all().delete()
    assert seed_demo(patients=100) is True
    assert _snapshot() == first
