"""labsim speaks MLLP to the real receiver; every message it sends is stored and answered."""

import subprocess
import sys

import pytest

from labresults.models import InboundMessage
from labresults.services import inbound_message_process
from sundhed.devstack import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_simulated_laboratory_delivers_results_for_our_patients(cast, mllp_receiver, tmp_path):
    cprs = tmp_path / "cprs.txt"
    cprs.write_text(f"{cast.patient.cpr}\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulators.labsim",
            "--port",
            str(mllp_receiver),
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
    assert all("before any OBR" in m.reason for m in failed)
