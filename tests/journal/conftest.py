"""Helpers for journal tests: the gate's grant for a cast member, as a service receives it."""

import pytest

from patients.access import access_decide


@pytest.fixture
def grant():
    def make(user, patient, data_kind="journal"):
        return access_decide(user=user, patient=patient, data_kind=data_kind)

    return make
