"""labsim speaks MLLP to the real receiver; every message it sends is stored and answered."""

import asyncio
import contextlib
import subprocess
import sys
import threading

import pytest

from labresults.models import InboundMessage
from labresults.processing import inbound_message_process
from sundhed.devstack import ROOT, free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver_port():
    from labresults.receiver import serve

    port, loop, started = free_port(), asyncio.new_event_loop(), threading.Event()

    async def main():
        ready = asyncio.Event()
        task = asyncio.create_task(serve("127.0.0.1", port, ready))
        await ready.wait()
        started.set()
        await task

    def run():
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    yield port
    for task in asyncio.all_tasks(loop):
        loop.call_soon_threadsafe(task.cancel)
    thread.join(5)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_the_simulated_laboratory_delivers_results_for_our_patients(cast, receiver_port, tmp_path):
    cprs = tmp_path / "cprs.txt"
    cprs.write_text(f"{cast.patient.cpr}\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulators.labsim",
            "--port",
            str(receiver_port),
            "--cprs-file",
            str(cprs),
            "--count",
            "120",
            "--rate",
            "0",
            "--seed",
            "7",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "sent 120 messages" in done.stdout
    # Re-sends with the same control id never happen (each message has its own), so all stored.
    assert InboundMessage.objects.count() == 120
    for message_id in InboundMessage.objects.filter(status="received").values_list("id", flat=True):
        inbound_message_process(message_id=message_id)
    statuses = set(InboundMessage.objects.values_list("status", flat=True))
    assert statuses <= {"processed", "failed"}
    assert InboundMessage.objects.filter(status="processed").count() >= 100
    assert cast.patient.lab_results.exists()
    failed = InboundMessage.objects.filter(status="failed")
    assert all("before any OBR" in m.error for m in failed)
