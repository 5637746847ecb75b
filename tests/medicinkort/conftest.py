"""Shared steps of the medication tests: a card on fmksim, read into Sundhed."""

import time

import pytest

from medicinkort.models import CardRead, FmkWrite, Reconciliation
from patients.access import access_decide


def wait_for(check, timeout: float = 30, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    what = what() if callable(what) else what
    raise AssertionError(f"{what} did not happen within {timeout} s")


def read_card(user, patient) -> CardRead:
    """Read the patient's card as this user, through a worker, and wait for it."""
    from medicinkort.services import card_read_request

    access = access_decide(user=user, patient=patient, data_kind="medication")
    read = card_read_request(access=access, occasion=CardRead.Occasion.DEMAND)
    return wait_for(
        lambda: (
            CardRead.objects.exclude(status__in=["pending", "reading"]).filter(pk=read.pk).first()
        ),
        what="the read of the card",
    )


def card_with_lines(fmksim, cpr: str, count: int) -> dict:
    """fmksim's card for this CPR with at least `count` drug medications."""
    fmksim.seed(cpr)
    card = fmksim.card(cpr)
    while len([d for d in card["drug_medications"] if not d["withdrawn"]]) < count:
        fmksim.gp_change(cpr)
        card = fmksim.card(cpr)
    return card


def drained(reconciliation: Reconciliation, timeout: float = 40) -> Reconciliation:
    def done():
        fresh = Reconciliation.objects.get(pk=reconciliation.pk)
        return fresh if fresh.status != Reconciliation.Status.SENDING else None

    rows = FmkWrite.objects.filter(reconciliation=reconciliation).order_by("sequence")
    fresh = wait_for(
        done,
        timeout,
        lambda: (
            "the outbox draining: "
            + "; ".join(f"{w.operation} {w.status} {w.attempts} {w.reason}" for w in rows)
        ),
    )
    # The card is read again after the changes: done before the test ends (and flushes).
    wait_for(
        lambda: (
            not CardRead.objects.filter(
                patient_id=reconciliation.patient_id, status__in=["pending", "reading"]
            ).exists()
        ),
        timeout,
        "the card read again after the changes",
    )
    return fresh


@pytest.fixture
def doctor_access(cast):
    return access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")


__all__ = ["FmkWrite", "card_with_lines", "drained", "read_card", "wait_for"]
