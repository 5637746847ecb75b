"""Fixtures of the laboratory tests."""

import pytest


@pytest.fixture
def lab_scientist(cast):
    """A bioanalytiker of the cardiology department: sees the raw queues."""
    from accounts.models import User
    from organisation.models import Role, StaffMember
    from organisation.services import membership_add

    user = User.objects.create_user("bioanalytiker", password=cast.PASSWORD)
    staff = StaffMember.objects.create(user=user, role=Role.BIOANALYTIKER, authorisation_id="X1")
    membership_add(staff=staff, department=cast.cardiology)
    return user
