"""Every registered kind of durable work survives a worker that dies after the claim and after
the hand-over: the states such a death leaves are made with the engine's own calls (a real
SIGKILL of a Celery worker is in tests/booking/test_reminders.py and
tests/medicinkort/test_reconciliation.py), then the sweeper and a worker take over, and the
outside has seen the work exactly once (an e-mail: at most once, marked "perhaps sent"), never
lost. A kind registered without a case here fails the last test, so each new kind brings one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from medicinkort.models import CardRead, CardSnapshot, FmkWrite
from outbox import engine, kinds
from tests.booking.test_reminders import soon
from tests.booking.test_waiting_list import freed, waiting

pytestmark = pytest.mark.django_db(transaction=True)


def _seen_by_reference(outbound, channel, row):
    """What the gateway or the mail server got for this row (by its reference / Message-ID)."""
    if channel == "sms":
        return lambda: [m for m in outbound.sms() if m["reference"] == str(row.public_id)]
    return lambda: [m for m in outbound.mail() if f"<{row.public_id}@sundhed>" in m]


def _reminders(request, channel):
    cast, clinic, outbound = (request.getfixturevalue(n) for n in ("cast", "clinic", "outbound"))
    from booking.services import reminders

    booking = soon(cast, clinic)
    reminders.reminders_plan()
    row = booking.reminders.get(channel=channel, status="pending")
    return row, _seen_by_reference(outbound, channel, row)


def _offer_message(request, channel):
    cast, client, clinic, outbound = (
        request.getfixturevalue(n) for n in ("cast", "client", "clinic", "outbound")
    )
    from booking.services.waiting import offer_next

    waiting(cast, client, clinic)
    offer = offer_next(appointment_type_id=clinic.control.pk, starts_at=freed(cast, clinic))
    row = offer.messages.get(channel=channel)
    return row, _seen_by_reference(outbound, channel, row)


def _fmk_write(request, channel):
    cast, fmksim = request.getfixturevalue("cast"), request.getfixturevalue("fmksim")
    import uuid

    from medicinkort.services import card_read_request, card_read_run
    from patients.access import access_decide

    fmksim.seed(cast.patient.cpr)
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    card_read_run(read_id=card_read_request(access=access, occasion="demand").pk)
    row = FmkWrite.objects.create(
        patient=cast.patient, sequence=1, operation="reviewed", message_id=uuid.uuid4(),
        requested_by=cast.treating_doctor,
    )  # fmt: skip
    return row, lambda: [
        r for r in fmksim.requests_seen()
        if r["message_id"] == str(row.message_id) and not r["replayed"]
    ]  # fmt: skip


def _card_read(request, channel):
    cast, fmksim = request.getfixturevalue("cast"), request.getfixturevalue("fmksim")
    fmksim.seed(cast.patient.cpr)
    row = CardRead.objects.create(
        patient=cast.patient, requested_by=cast.treating_doctor, occasion="demand"
    )
    # A read may be repeated at FMK (it changes nothing there); what must happen once is the
    # snapshot it stores.
    return row, lambda: list(CardSnapshot.objects.filter(patient=cast.patient))


def _inbound_message(request, channel):
    cast = request.getfixturevalue("cast")
    from labresults.models import InboundMessage, LabReport
    from tests.labresults.test_batches import oru, store

    (pk,) = store(oru("CRASH1", cpr=cast.patient.cpr, filler="CRASHFILLER"))
    # Filing is one transaction with the claim checked under lock: the report exists once.
    return InboundMessage.objects.get(pk=pk), lambda: list(
        LabReport.objects.filter(filler_order_number="CRASHFILLER")
    )


def _order_message(request, channel):
    import subprocess
    import sys

    cast, settings = request.getfixturevalue("cast"), request.getfixturevalue("settings")
    receiver = request.getfixturevalue("mllp_receiver")  # where labsim sends its results
    from audit.models import AccessEvent
    from labresults.models import Analysis, LabOrderMessage
    from labresults.services import lab_order_create
    from patients.access import access_decide
    from sundhed.devstack import free_port

    order_port = free_port()
    cprs = request.getfixturevalue("tmp_path") / "cprs.txt"
    cprs.write_text(f"{cast.patient.cpr}\n")
    labsim = subprocess.Popen(
        [sys.executable, "-m", "simulators.labsim", "--port", str(receiver), "--order-port",
         str(order_port), "--rate", "0.01", "--cprs-file", str(cprs)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    request.addfinalizer(lambda: (labsim.terminate(), labsim.wait(10)))
    settings.SUNDHED_LAB_ORDER_ENDPOINT = f"127.0.0.1:{order_port}"
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="lab_orders")
    order = lab_order_create(access=access, analyses=Analysis.objects.all()[:2])
    _wait_for_port(order_port)
    # The order left the house once on record (the laboratory knows a repeat by its number).
    return LabOrderMessage.objects.get(order=order), lambda: list(
        AccessEvent.objects.filter(action="export", object_id=str(order.public_id))
    )


def _wait_for_port(port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def _dicom_object(request, channel):
    cast = request.getfixturevalue("cast")
    from django.core.files.base import ContentFile

    from labresults.models import DicomObject
    from labresults.services import dicom_object_receive
    from tests.labresults.test_imaging import TEST_FILES

    row = dicom_object_receive(
        content=ContentFile((TEST_FILES / "CT_small.dcm").read_bytes()), name="ct.dcm",
        source=DicomObject.Source.UPLOAD, patient=cast.patient,
    )  # fmt: skip
    from audit.models import AccessEvent

    # Read and matched once: one event of the import, by the system.
    return row, lambda: list(
        AccessEvent.objects.filter(object_id=str(row.public_id), action="create", role="system")
    )


def _freed_time(request, channel):
    cast, client, clinic = (request.getfixturevalue(n) for n in ("cast", "client", "clinic"))
    from booking.models import FreedTime, SlotOffer

    waiting(cast, client, clinic)
    freed(cast, clinic)
    row = FreedTime.objects.get()
    # Offered once: one offer of the time to the first in line.
    return row, lambda: list(SlotOffer.objects.filter(starts_at=row.starts_at))


# kind -> channels (for notifications) and the case: (row, what the outside has seen)
CASES = {
    "booking.reminder": (("sms", "email"), _reminders),
    "booking.offermessage": (("sms", "email"), _offer_message),
    "booking.freedtime": ((None,), _freed_time),
    "medicinkort.fmkwrite": ((None,), _fmk_write),
    "medicinkort.cardread": ((None,), _card_read),
    "labresults.inboundmessage": ((None,), _inbound_message),
    "labresults.labordermessage": ((None,), _order_message),
    "labresults.dicomobject": ((None,), _dicom_object),
}
DONE = {
    "booking.reminder": "sent", "booking.offermessage": "sent", "booking.freedtime": "offered",
    "medicinkort.fmkwrite": "sent",
    "medicinkort.cardread": "done", "labresults.inboundmessage": "processed",
    "labresults.labordermessage": "sent", "labresults.dicomobject": "processed",
}  # fmt: skip
# Kinds whose claim is a row lock held by the work's own transaction: nothing is handed over
# before they are done, and a dying worker's transaction is rolled back by the database.
HELD = {"labresults.inboundmessage", "booking.freedtime"}
PARAMS = [
    (name, channel, handed)
    for name, (channels, _) in CASES.items()
    for channel in channels
    for handed in ((False,) if name in HELD else (False, True))
]


@pytest.mark.parametrize(("name", "channel", "handed"), PARAMS)
def test_a_worker_dying_after_the_claim_or_the_hand_over_loses_nothing_and_repeats_nothing(
    request, settings, name, channel, handed
):
    settings.SUNDHED_OUTBOX_DISPATCH = False  # the test is the worker
    kind = kinds.get(name)
    row, seen = CASES[name][1](request, channel)
    before = len(seen())
    if name in HELD:
        return _a_worker_dying_while_it_holds_the_row(kind, row, seen, before, DONE[name])
    # The worker claims the row (committed), perhaps hands the work over, and dies.
    (claimed,) = engine.claim(kind, ids=[row.pk])
    if handed:
        engine.hand(kind, claimed)
        _the_work_leaves(name, channel, claimed)
    # Nothing moves before the claim is stale; then the sweeper takes it back.
    assert engine.work(kind, [row.pk]) == 0
    later = timezone.now() + timedelta(seconds=kind.stale_after + 1)
    engine.sweep(kind, now=later)
    engine.work(kind, [row.pk])
    row.refresh_from_db()
    # Exactly once outside: by the worker that died, or by the one after it.
    assert len(seen()) == before + 1
    if handed and channel == "email":
        # An e-mail cannot be recognised when repeated: perhaps sent, never sent twice.
        assert (row.status, row.attempts) == ("uncertain", 1)
    else:
        assert (row.status, row.attempts) == (DONE[name], 2), row.reason


class _Died(Exception):
    pass


def _a_worker_dying_while_it_holds_the_row(kind, row, seen, before, done) -> None:
    """Another connection claims the row (its lock) and dies: its transaction is rolled back."""
    import threading

    from django.db import connection, transaction

    holding, die = threading.Event(), threading.Event()

    def worker():
        try:
            with transaction.atomic():
                assert [r.pk for r in engine.claim(kind, ids=[row.pk])] == [row.pk]
                holding.set()
                die.wait(30)
                raise _Died
        except _Died:
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert holding.wait(30)
    # While it holds the row, no other worker takes it.
    assert engine.work(kind, [row.pk]) == 0
    die.set()
    thread.join(30)
    # The database gave the row back: it waits, due, and the sweeper dispatches it.
    row.refresh_from_db()
    assert (row.status, row.attempts, len(seen())) == (kind.waiting, 0, before)
    assert engine.sweep(kind)["requeued"] == 0
    assert engine.work(kind, [row.pk]) == 1
    row.refresh_from_db()
    assert len(seen()) == before + 1
    assert (row.status, row.attempts) == (done, 1), row.reason


def _the_work_leaves(name, channel, row) -> None:
    """What the dying worker got out of the house before it died (its answer is lost)."""
    if name == "medicinkort.fmkwrite":
        from medicinkort.services.outbox import _basis, _send

        row.based_on_version = _basis(row)
        FmkWrite.objects.filter(pk=row.pk).update(based_on_version=row.based_on_version)
        _send(row, row.patient)
    elif channel == "sms":
        from outbox.channels import sms_send

        sms_send(to="+4520304050", text="Påmindelse", reference=str(row.public_id))
    elif channel == "email":
        from outbox.channels import email_send

        email_send(to="someone@example.dk", subject="x", body="x", reference=str(row.public_id))


def test_every_registered_kind_has_a_crash_case():
    assert {kind.name for kind in kinds.all_kinds()} <= set(CASES)
    assert {kind.name for kind in kinds.all_kinds() if kind.held} == HELD
