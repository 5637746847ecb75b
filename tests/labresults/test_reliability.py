"""Reliability: thousands of messages over MLLP while the worker is killed with SIGKILL and
restarted, and while Redis is killed and restarted; afterwards every message is processed
exactly once: every result once by its key, none missing, none written twice (history)."""

import os
import time

import pytest
from django.db.models import Count

from bench.harness import SENDER, Processes, ingest_through_crashes, oru, sender_register
from labresults.models import InboundMessage, LabResult
from tests.conftest import _test_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
MESSAGES = 2000
ANALYSES = 5
DUPLICATES = 100  # the same control id again: acknowledged, not stored twice


def test_every_message_is_processed_exactly_once_through_crashes(cast, tmp_path):
    env = dict(
        os.environ,
        DATABASE_URL=_test_database_url(),
        SUNDHED_OUTBOX_DISPATCH="true",
        SUNDHED_LAB_SWEEP_AFTER="3",
        SUNDHED_OUTBOX_SWEEP_INTERVAL="1",
    )
    sender_register()
    processes = Processes(env, tmp_path / "logs")
    try:
        cprs = [cast.patient.cpr, cast.stranger.cpr]
        messages = [
            oru(cprs[i % 2], control_id=f"R{i}", filler=f"REL{i}", analyses=ANALYSES)
            for i in range(MESSAGES)
        ]
        messages += messages[:DUPLICATES]
        # As fast as the receiver takes them: the rate the batches were built for.
        sent, events = ingest_through_crashes(processes, messages, rate=0)
        assert sent.acks == {"AA": MESSAGES + DUPLICATES}, sent.acks

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            waiting = InboundMessage.objects.filter(sender=SENDER).exclude(status="processed")
            if not waiting.exists():
                break
            time.sleep(0.5)
    finally:
        processes.stop_all()

    stored = InboundMessage.objects.filter(sender=SENDER)
    statuses = dict(stored.values_list("status").annotate(n=Count("id")))
    results = LabResult.objects.filter(report__sender=SENDER)
    keys = results.values("report__filler_order_number", "code").distinct().count()
    inserts = LabResult.pgh_event_model.objects.filter(
        pgh_obj_id__in=results.values("id"), pgh_label="insert"
    ).count()
    updates = LabResult.pgh_event_model.objects.filter(
        pgh_obj_id__in=results.values("id"), pgh_label="update"
    ).count()
    retried = stored.filter(attempts__gt=1).count()
    print(
        f"\nreliability: {events}; stored {stored.count()} of {MESSAGES} unique messages "
        f"(+{DUPLICATES} duplicates acknowledged), statuses {statuses}, results {results.count()} "
        f"({keys} distinct keys, expected {MESSAGES * ANALYSES}), history inserts {inserts}, "
        f"updates {updates}, messages processed after a retry {retried}"
    )
    assert len(events) == 3
    assert stored.count() == MESSAGES
    assert statuses == {"processed": MESSAGES}
    assert results.count() == keys == MESSAGES * ANALYSES
    assert inserts == MESSAGES * ANALYSES and updates == 0
