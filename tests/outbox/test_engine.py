"""The engine's rules, one by one, on a real kind's table (booking's reminders): a claim is one
worker's, only that worker finishes the row, a failure waits for its backoff and is given up
after its attempts, a broker that is down loses nothing, and the circuit breaker lets one probe
through when its pause is over."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Reminder
from outbox import engine, kinds
from outbox.breaker import Breaker
from tests.booking.test_reminders import soon

KIND = "booking.reminder"


@pytest.fixture
def due(cast, clinic):
    """Two reminders due now (e-mail and SMS of one booking)."""
    from booking.services import reminders

    booking = soon(cast, clinic)
    reminders.reminders_plan()
    return list(booking.reminders.filter(status="pending").order_by("pk"))


@pytest.mark.django_db
def test_a_claimed_row_is_claimed_once_and_only_its_claimer_finishes_it(due):
    kind = kinds.get(KIND)
    first = engine.claim(kind, ids=[due[0].pk])
    assert [row.pk for row in first] == [due[0].pk]
    assert engine.claim(kind, ids=[due[0].pk]) == []  # not claimable twice
    (row,) = first
    # The sweeper took it back and another worker claimed it: the first may change nothing.
    engine.sweep(kind, now=timezone.now() + timedelta(seconds=kind.stale_after + 1))
    (again,) = engine.claim(kind, ids=[due[0].pk])
    assert again.claim_token != row.claim_token and again.attempts == 2
    assert not engine.finish(kind, row, "sent")
    assert not engine.hand(kind, row)
    assert engine.finish(kind, again, "sent")
    assert Reminder.objects.get(pk=row.pk).status == "sent"


@pytest.mark.django_db
def test_a_failure_waits_for_its_backoff_and_is_given_up_after_its_attempts(due):
    kind = kinds.get(KIND)
    pauses = []
    for attempt in range(1, kind.retry.attempts + 1):
        Reminder.objects.filter(pk=due[1].pk).update(due_at=timezone.now())
        (row,) = engine.claim(kind, ids=[due[1].pk])
        assert row.attempts == attempt
        assert engine.retry(kind, row, reason="gateway 503")
        row.refresh_from_db()
        pauses.append((row.due_at - timezone.now()).total_seconds())
    assert row.status == "failed" and row.reason == "gateway 503"
    waits = pauses[:-1]
    assert waits == sorted(waits) and waits[0] > kind.retry.first - 5  # growing pauses


@pytest.mark.django_db
def test_a_row_that_must_get_through_is_never_given_up(due):
    kind = kinds.get(KIND)
    Reminder.objects.filter(pk=due[0].pk).update(attempts=50)
    (row,) = engine.claim(kind, ids=[due[0].pk])
    assert engine.retry(kind, row, reason="down", give_up=False)
    row.refresh_from_db()
    assert row.status == "pending" and row.due_at > timezone.now()
    assert row.claim_token is None


@pytest.mark.django_db
def test_a_broker_that_is_down_loses_nothing_the_sweeper_hands_it_over(due, monkeypatch):
    from kombu.exceptions import OperationalError

    sent = []

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(engine.current_app, "send_task", broker_down)
    assert engine.dispatch(kinds.get(KIND), [due[0].pk]) is False
    assert Reminder.objects.get(pk=due[0].pk).status == "pending"  # still there to be swept
    monkeypatch.setattr(engine.current_app, "send_task", lambda *a, **k: sent.append((a, k)))
    assert engine.sweep(kinds.get(KIND))["dispatched"] == 1
    assert sent == [((engine.WORK_TASK,), {"args": [KIND, None]})]


def test_the_breaker_opens_after_failures_and_lets_one_probe_through_after_its_pause(db, settings):
    settings.SUNDHED_TESTSYS_BREAKER_FAILURES = 2
    settings.SUNDHED_TESTSYS_BREAKER_SECONDS = 0.2
    breaker = Breaker("testsys")
    breaker.reset()
    assert breaker.wait() == 0
    breaker.failed()
    assert not breaker.is_open()
    breaker.failed()
    assert breaker.is_open()
    import time

    time.sleep(0.25)
    assert breaker.wait() == 0  # this caller holds the probe
    assert breaker.wait() > 0  # everyone else still waits while the probe is out
    breaker.failed()  # the probe failed: open again
    assert breaker.is_open()
    time.sleep(0.25)
    assert breaker.wait() == 0
    breaker.succeeded()  # the probe got through: closed
    assert breaker.wait() == 0 and breaker.wait() == 0


@pytest.mark.django_db
def test_a_held_claim_is_time_limited(cast, client, clinic, settings):
    """A held kind claims by the locks of the work's own transaction; a worker idle inside it
    is cut off after the kind's "stale after", so no hung worker holds rows the sweeper cannot
    see."""
    from django.db import connection, transaction

    from booking.models import FreedTime
    from tests.booking.test_waiting_list import freed, waiting

    settings.SUNDHED_OUTBOX_DISPATCH = False
    waiting(cast, client, clinic, count=1)
    freed(cast, clinic)
    kind = kinds.get("booking.freedtime")
    row = FreedTime.objects.get()
    with transaction.atomic():
        assert [r.pk for r in engine.claim(kind, ids=[row.pk])] == [row.pk]
        with connection.cursor() as cursor:
            cursor.execute("SHOW idle_in_transaction_session_timeout")
            (shown,) = cursor.fetchone()
    assert shown in (
        f"{kind.stale_after}s",
        f"{kind.stale_after // 60}min",
        f"{kind.stale_after * 1000}ms",
    )


def test_a_failing_breaker_is_probed_and_its_recovery_makes_the_waiting_work_due(db, settings):
    """outbox.probe (beat) asks a failing system whether it answers; when it does, the breaker
    closes once, every recovery callback runs, and waiting rows of its kinds are due at once."""
    from outbox import breaker as breakers

    settings.SUNDHED_TESTSYS_BREAKER_FAILURES = 1
    settings.SUNDHED_TESTSYS_BREAKER_SECONDS = 0.2
    answers, recovered = ["down", "down", "up"], []

    def probe():
        if answers.pop(0) == "down":
            raise ConnectionRefusedError("testsys is down")

    breakers.probe_register("testsys", probe)
    breakers.recovery_register(recovered.append)
    testsys = Breaker("testsys")
    testsys.reset()
    try:
        assert breakers.probe_all() == {}  # nothing failed: nothing probed
        testsys.failed()
        assert breakers.probe_all() == {"testsys": "open"}  # not before its pause
        import time

        time.sleep(0.25)
        assert breakers.probe_all() == {"testsys": "down"}  # probed, still down: open again
        time.sleep(0.25)
        assert breakers.probe_all() == {"testsys": "down"}
        time.sleep(0.25)
        assert breakers.probe_all() == {"testsys": "back"}
        assert recovered == ["testsys"] and not testsys.failing()
        assert breakers.probe_all() == {}  # closed: no more probes
        testsys.failed()
        testsys.succeeded()
        testsys.succeeded()  # two successes at once after a failure: recovered once
        assert recovered == ["testsys"]
    finally:
        breakers._probes.pop("testsys", None)
        breakers._recovery.remove(recovered.append)
        testsys.reset()
