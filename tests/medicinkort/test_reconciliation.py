"""Reconciliation end to end against fmksim over a real socket, with real Celery workers:
orders change at once, FMK's changes go through the outbox in order, once each."""

import os
import signal
import time

import pytest
from django.utils import timezone

from audit.models import AccessEvent, DataKind
from medicinkort.models import (
    CardSnapshot,
    CheckOverride,
    Drug,
    FmkWrite,
    MedicationOrder,
    Reconciliation,
)
from medicinkort.services import (
    ChecksNeedReasons,
    Decision,
    OrderData,
    order_create,
    reconciliation_confirm,
)
from tests.conftest import start_worker, stop_worker
from tests.medicinkort.conftest import card_with_lines, drained, read_card, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def active_lines(card: dict) -> list[dict]:
    return [d for d in card["drug_medications"] if not d["withdrawn"]]


def test_an_admission_reconciliation_end_to_end(cast, fmksim, celery_worker, doctor_access):
    cpr = cast.patient.cpr
    card = card_with_lines(fmksim, cpr, 4)
    read_card(cast.treating_doctor, cast.patient)
    snapshot = CardSnapshot.objects.latest("fetched_at")
    first, second, third, fourth = active_lines(card)[:4]
    # The ward already gives warfarin, so ibuprofen meets an interaction.
    order_create(
        access=doctor_access,
        data=OrderData.from_drug(
            Drug.objects.filter(atc_code="B01AA03").first(),
            dose_text="1 tablet aften",
            times=["18:00"],
        ),
    )
    ibuprofen = Drug.objects.filter(atc_code="M01AE01").first()
    decisions = [
        Decision("continue", fmk_identifier=first["identifier"], key="l1"),
        Decision("continue", fmk_identifier=second["identifier"], key="l2"),
        Decision("withdraw", fmk_identifier=third["identifier"], reason="Bivirkning", key="l3"),
        Decision(
            "change",
            fmk_identifier=fourth["identifier"],
            dose_text="1 tablet dagligt",
            reason="Nyrefunktion",
            key="l4",
        ),  # fmt: skip
        Decision(
            "new",
            new=OrderData.from_drug(
                ibuprofen,
                dose_text="1 tablet 3 gange daglig",
                times=["08:00", "12:00", "18:00"],
                indication="Smerter",
            ),
            key="n1",
        ),  # fmt: skip
    ]
    with pytest.raises(ChecksNeedReasons) as checks:
        reconciliation_confirm(
            access=doctor_access, kind="admission", card_version=snapshot.version,
            decisions=decisions, course=cast.course,
        )  # fmt: skip
    interactions = [w for w in checks.value.warnings if w.kind == "interaction"]
    assert any("Marevan" in w.text for w in interactions)
    reasons = {w.key: "Kortvarigt, med PPI og INR-kontrol" for w in checks.value.warnings}
    reconciliation = reconciliation_confirm(
        access=doctor_access, kind="admission", card_version=snapshot.version,
        decisions=decisions, reasons=reasons, course=cast.course,
    )  # fmt: skip
    # The hospital's orders changed in the confirmation itself.
    orders = MedicationOrder.objects.filter(patient=cast.patient, status="active")
    assert {o.fmk_identifier for o in orders} >= {
        first["identifier"],
        second["identifier"],
        fourth["identifier"],
    }
    changed = orders.get(fmk_identifier=fourth["identifier"])
    assert changed.dose_text == "1 tablet dagligt"
    new = orders.get(atc_code="M01AE01")
    overrides = CheckOverride.objects.filter(order=new, kind="interaction")
    assert overrides and all(o.reason.startswith("Kortvarigt") for o in overrides)

    assert drained(reconciliation).status == Reconciliation.Status.UPDATED
    after = fmksim.card(cpr)
    by_id = {d["identifier"]: d for d in after["drug_medications"]}
    assert by_id[third["identifier"]]["withdrawn"]
    assert by_id[fourth["identifier"]]["dosage"] == "1 tablet dagligt"
    assert [d["name"] for d in after["drug_medications"]].count(ibuprofen.name) == 1
    # What the clinician typed is on FMK's card as typed: the dose text and the indication.
    (created,) = [d for d in after["drug_medications"] if d["name"] == ibuprofen.name]
    assert (created["dosage"], created["indication"]) == ("1 tablet 3 gange daglig", "Smerter")
    # Field by field: the new drug as the catalogue names it, the change with its reason, the
    # withdrawal with its reason (FMK 2015_06_01 carries a reason as ModificationMetadata).
    assert (created["atc"], created["withdrawn"], created["paused"]) == ("M01AE01", False, False)
    changed_on_fmk = by_id[fourth["identifier"]]
    assert (changed_on_fmk["name"], changed_on_fmk["atc"]) == (fourth["name"], fourth["atc"])
    assert changed_on_fmk["indication"] == fourth["indication"]  # kept as it was
    assert changed_on_fmk["reasons"][-1] == "Årsag: Nyrefunktion"
    assert by_id[third["identifier"]]["reasons"][-1] == "Årsag: Bivirkning"
    assert after["reviewed"] and after["version"] != card["version"]
    writes = FmkWrite.objects.filter(reconciliation=reconciliation)
    assert [w.operation for w in writes.order_by("sequence")] == [
        "withdraw", "update", "create", "reviewed"
    ]  # fmt: skip
    assert all(w.status == "sent" for w in writes)
    # Each write to FMK is a change on the log, by the doctor, with the legal basis.
    events = AccessEvent.objects.filter(
        patient_id=cast.patient.pk, data_kind=DataKind.FMK_CARD, action__in=["create", "update"]
    )
    assert events.count() == 4 and {e.user_id for e in events} == {cast.treating_doctor.pk}


def test_fmk_down_the_outbox_waits_and_drains_in_order_when_it_is_back(
    cast, fmksim, celery_worker, doctor_access
):
    cpr = cast.patient.cpr
    card = card_with_lines(fmksim, cpr, 2)
    read_card(cast.treating_doctor, cast.patient)
    first, second = active_lines(card)[:2]
    fmksim.mode("refuse")
    reconciliation = reconciliation_confirm(
        access=doctor_access, kind="admission",
        card_version=CardSnapshot.objects.latest("fetched_at").version,
        decisions=[
            Decision("withdraw", fmk_identifier=first["identifier"], reason="Ophørt"),
            Decision("change", fmk_identifier=second["identifier"], dose_text="2 tabletter nat"),
        ],
    )  # fmt: skip
    writes = FmkWrite.objects.filter(reconciliation=reconciliation).order_by("sequence")
    wait_for(lambda: writes.first().attempts >= 2, what="two attempts while FMK is down")
    assert {w.status for w in writes} <= {"pending", "sending"}
    assert Reconciliation.objects.get(pk=reconciliation.pk).status == "sending"
    seen = len(fmksim.requests_seen())
    fmksim.mode("up")
    assert drained(reconciliation).status == Reconciliation.Status.UPDATED
    sent = list(writes.all())  # fresh rows, not the ones read while FMK was down
    assert [w.operation for w in sent] == ["withdraw", "update", "reviewed"]
    assert [w.finished_at for w in sent] == sorted(w.finished_at for w in sent)
    operations = [
        r["operation"] for r in fmksim.requests_seen()[seen:] if "Get" not in r["operation"]
    ]
    assert operations == [
        "WithdrawDrugMedication_2015_06_01",
        "UpdateDrugMedication_2015_06_01_E2",
        "SetMedicineCardReviewed_2015_06_01",
    ]


def test_a_card_changed_on_fmk_meanwhile_is_a_conflict_shown_and_resolved(
    cast, fmksim, celery_worker, doctor_access
):
    cpr = cast.patient.cpr
    card = card_with_lines(fmksim, cpr, 2)
    read_card(cast.treating_doctor, cast.patient)
    shown = CardSnapshot.objects.latest("fetched_at")
    fmksim.gp_change(cpr)  # the GP changes the card behind the hospital's back
    first = active_lines(card)[0]
    reconciliation = reconciliation_confirm(
        access=doctor_access, kind="admission", card_version=shown.version,
        decisions=[Decision("withdraw", fmk_identifier=first["identifier"], reason="Ophørt")],
    )  # fmt: skip
    conflicted = drained(reconciliation)
    assert conflicted.status == Reconciliation.Status.CONFLICT
    assert "Hent kortet igen" in conflicted.problem
    # The card is read again by itself; the new version holds the GP's drug.
    newer = wait_for(
        lambda: CardSnapshot.objects.exclude(pk=shown.pk).order_by("-fetched_at").first(),
        what="the card read again",
    )
    assert newer.version == fmksim.card(cpr)["version"]
    assert newer.lines.count() == shown.lines.count() + 1
    # Asked again on the new card, the doctor confirms, and it goes through.
    again = reconciliation_confirm(
        access=doctor_access, kind="admission", card_version=newer.version,
        decisions=[Decision("withdraw", fmk_identifier=first["identifier"], reason="Ophørt")],
    )  # fmt: skip
    assert drained(again).status == Reconciliation.Status.UPDATED
    assert {d["identifier"]: d for d in fmksim.card(cpr)["drug_medications"]}[first["identifier"]][
        "withdrawn"
    ]


def test_a_worker_killed_while_sending_loses_no_write_and_makes_none_twice(
    cast, fmksim, celery_worker, doctor_access, settings, tmp_path
):
    """The sends go to a worker of this test's own queue (killed and started again); the
    session's worker does the rest (the read of the card after the changes)."""
    import dataclasses

    from outbox import engine, kinds

    # The writes go to a worker of this test's own queue; reads stay with the session's worker.
    queue = f"fmk-kill-{os.getpid()}"
    write_kind = kinds.get("medicinkort.fmkwrite")
    kinds.register(dataclasses.replace(write_kind, queue=queue))
    settings.SUNDHED_FMK_SWEEP_AFTER = 3
    cpr = cast.patient.cpr
    card = card_with_lines(fmksim, cpr, 2)
    from medicinkort.services import card_read_request, card_read_run

    read = card_read_request(access=doctor_access, occasion="demand")
    # The session's worker may have claimed the read first (it is queued on commit): then this
    # run leaves it alone and the worker writes the snapshot a moment later.
    card_read_run(read_id=read.pk)
    wait_for(lambda: CardSnapshot.objects.exists(), what="the card read")
    snapshot = CardSnapshot.objects.latest("fetched_at")
    drug = Drug.objects.filter(atc_code="J01FA09").first()
    before = [d["name"] for d in fmksim.card(cpr)["drug_medications"]].count(drug.name)
    reconciliation = reconciliation_confirm(
        access=doctor_access, kind="admission", card_version=snapshot.version,
        decisions=[Decision("new", new=OrderData.from_drug(
            drug, dose_text="1 tablet morgen og aften", times=["08:00", "18:00"]))],
    )  # fmt: skip
    create = FmkWrite.objects.get(reconciliation=reconciliation, operation="create")
    fmksim.mode("up", delay=3.0)  # FMK takes its time: the worker dies waiting for the answer
    worker = start_worker(tmp_path, queues=queue)  # the confirm's commit dispatched the writes
    try:
        wait_for(lambda: FmkWrite.objects.get(pk=create.pk).status == "sending", what="sending")
        time.sleep(1.0)  # the request is at FMK (which takes 3 s to answer) when the worker dies
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
    finally:
        stop_worker(worker)
    # FMK did the write; the answer was lost with the worker.
    wait_for(lambda: drug.name in [d["name"] for d in fmksim.card(cpr)["drug_medications"]],
             what="FMK doing the write")  # fmt: skip
    assert FmkWrite.objects.get(pk=create.pk).status == "sending"
    fmksim.mode("up", delay=0)
    wait_for(
        lambda: (
            FmkWrite.objects.get(pk=create.pk).claimed_at
            < timezone.now() - timezone.timedelta(seconds=3)
        ),
        what="the row getting old enough for the sweeper",
    )
    again = start_worker(tmp_path, queues=queue)
    try:
        # The sweeper takes the stale claim back and hands the row to a worker again.
        assert engine.sweep(kinds.get("medicinkort.fmkwrite"))["again"] == 1
        assert drained(reconciliation).status == Reconciliation.Status.UPDATED
    finally:
        stop_worker(again)
        kinds.register(write_kind)
    names = [d["name"] for d in fmksim.card(cpr)["drug_medications"]]
    assert names.count(drug.name) == before + 1  # exactly once on FMK
    replays = [r for r in fmksim.requests_seen() if r["message_id"] == str(create.message_id)]
    assert [r["replayed"] for r in replays] == [False, True]
    assert len(card["drug_medications"]) + 1 == len(fmksim.card(cpr)["drug_medications"])


def test_a_reconciliation_confirmed_twice_reaches_fmk_once(
    cast, fmksim, celery_worker, doctor_access
):
    """A double click or a resubmitted form: the second is based on the card the doctor saw,
    which the first changed, so FMK refuses it as a conflict instead of writing it again."""
    cpr = cast.patient.cpr
    card_with_lines(fmksim, cpr, 1)
    read_card(cast.treating_doctor, cast.patient)
    version = CardSnapshot.objects.latest("fetched_at").version
    drug = Drug.objects.filter(atc_code="J01FA09").first()

    def confirm():
        return reconciliation_confirm(
            access=doctor_access, kind="admission", card_version=version,
            decisions=[Decision("new", new=OrderData.from_drug(
                drug, dose_text="1 tablet morgen og aften", times=["08:00", "18:00"]))],
        )  # fmt: skip

    before = [d["name"] for d in fmksim.card(cpr)["drug_medications"]].count(drug.name)
    first, second = confirm(), confirm()
    statuses = {drained(first).status, drained(second).status}
    assert statuses == {Reconciliation.Status.UPDATED, Reconciliation.Status.CONFLICT}
    names = [d["name"] for d in fmksim.card(cpr)["drug_medications"]]
    assert names.count(drug.name) == before + 1  # fmksim's cards live for the whole run


def test_a_discharge_stops_the_orders_of_its_own_stay_only(cast, settings, doctor_access):
    from patients.models import CareCourse
    from patients.services import care_course_create

    settings.SUNDHED_OUTBOX_DISPATCH = False
    other_course = care_course_create(
        patient=cast.patient, department=cast.orthopaedics, kind=CareCourse.Kind.OUTPATIENT,
        title="Knæ", started_at=timezone.now(),
    )  # fmt: skip
    warfarin = Drug.objects.filter(atc_code="B01AA03").first()
    ours = order_create(access=doctor_access, course=cast.course, data=OrderData.from_drug(
        warfarin, dose_text="1 tablet aften", times=["18:00"]))  # fmt: skip
    theirs = order_create(access=doctor_access, course=other_course, data=OrderData.from_drug(
        Drug.objects.filter(atc_code="N02BE01").first(), dose_text="1 g morgen",
        times=["08:00"]), warnings=[])  # fmt: skip
    CardSnapshot.objects.create(
        patient=cast.patient, version="5", fetched_at=timezone.now(), raw="<MedicineCard/>"
    )
    reconciliation = reconciliation_confirm(
        access=doctor_access, kind="discharge", card_version="5", decisions=[],
        course=cast.course,
    )  # fmt: skip
    reconciliation.refresh_from_db()
    assert reconciliation.status == Reconciliation.Status.UPDATED  # nothing to send
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.status, theirs.status) == ("stopped", "active")
    cast.course.refresh_from_db()
    assert cast.course.ended_at is not None


def test_a_discharge_reconciled_during_an_outage_builds_on_the_admissions_queued_writes(
    cast, fmksim, celery_worker, client
):
    """Finding 8: the admission's writes wait for FMK; the discharge is reconciled on the card
    as those writes will make it, every pending write is listed, the same page confirmed twice
    is refused, and when FMK is back everything arrives in order with no conflict."""
    import re

    from django.urls import reverse

    from tests.conftest import force_login_with_second_factor

    cpr = cast.patient.cpr
    first, second, third = active_lines(card_with_lines(fmksim, cpr, 3))[:3]
    read_card(cast.treating_doctor, cast.patient)
    version = CardSnapshot.objects.latest("fetched_at").version
    force_login_with_second_factor(client, cast.treating_doctor)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def page(kind):
        url = reverse("medicinkort:reconcile",
                      kwargs={"patient_id": cast.patient.public_id, "kind": kind})  # fmt: skip
        html = client.get(url).content.decode()
        return url, html, re.search(r'name="queue_position" value="(\d+)"', html).group(1)

    def confirm(url, body):
        """Post the page; warnings of the checks (the random card may hold an interaction)
        are answered with a reason, as the doctor would."""
        answer = client.post(url, body)
        warned = re.findall(r'name="(warn:[^"]+)"', answer.content.decode())
        if answer.status_code == 400 and warned:
            answer = client.post(url, body | dict.fromkeys(warned, "Vurderet"))
        return answer

    fmksim.mode("refuse")
    url, _, position = page("admission")
    antibiotic = Drug.objects.filter(atc_code="J01FA09").first()  # on no seeded card
    answer = confirm(url, {
        "card_version": version, "queue_position": position,
        f"decision-{first['identifier']}": "withdraw", f"reason-{first['identifier']}": "Ophørt",
        f"decision-{second['identifier']}": "change",
        f"dose-{second['identifier']}": "2 tabletter nat",
        "new-drug-1": str(antibiotic.public_id), "new-dose-1": "1 tablet x 2",
        "new-reason-1": "Pneumoni",
    })  # fmt: skip
    assert answer.status_code == 302
    admission = Reconciliation.objects.get(patient=cast.patient, kind="admission")
    wait_for(lambda: FmkWrite.objects.filter(reconciliation=admission, attempts__gte=1).exists(),
             what="a first attempt while FMK is down")  # fmt: skip

    url, html, position = page("discharge")
    queued = html.split('data-testid="fmk-queued"')[1].split("</ol>")[0]
    assert queued.count('data-testid="fmk-queued-write"') == 4  # withdraw, change, new, reviewed
    assert "2 tabletter nat" in queued and antibiotic.name in queued
    # The line withdrawn at admission is not offered again; the new drug's order is not
    # offered for FMK again either (its creation is on its way).
    assert f'name="decision-{first["identifier"]}"' not in html
    assert f'name="decision-{second["identifier"]}"' in html
    order = MedicationOrder.objects.get(patient=cast.patient, atc_code="J01FA09", fmk_identifier="")
    assert f'name="order-{order.public_id}"' not in html
    body = {
        "card_version": version, "queue_position": position,
        f"decision-{second['identifier']}": "change",
        f"dose-{second['identifier']}": "1 tablet nat",
        f"decision-{third['identifier']}": "withdraw", f"reason-{third['identifier']}": "Ophørt",
    }  # fmt: skip
    assert confirm(url, body).status_code == 302
    discharge = Reconciliation.objects.get(patient=cast.patient, kind="discharge")
    assert discharge.builds_on == FmkWrite.objects.filter(reconciliation=admission).count()
    # The same page posted again (a double click) is refused and queues nothing; it goes to
    # the tab to be seen (never a redrawn page that a third click would confirm).
    again = client.post(url, body, follow=True)
    assert "Other changes for FMK" in again.content.decode()
    assert again.redirect_chain[-1][0].endswith(f"/medication/{cast.patient.public_id}/")
    assert client.post(url, body).status_code == 302  # the third click: refused the same way
    assert Reconciliation.objects.filter(patient=cast.patient).count() == 2
    # The tab lists every write still on its way, of both reconciliations.
    tab = client.get(
        reverse("medicinkort:medication", kwargs={"patient_id": cast.patient.public_id})
    ).content.decode()
    assert tab.count('data-testid="fmk-queued-write"') == 6

    seen = len(fmksim.requests_seen())
    fmksim.mode("up")
    assert drained(admission).status == Reconciliation.Status.UPDATED
    assert drained(discharge).status == Reconciliation.Status.UPDATED
    writes = list(FmkWrite.objects.filter(patient=cast.patient).order_by("sequence"))
    assert [w.status for w in writes] == ["sent"] * 6
    assert [w.finished_at for w in writes] == sorted(w.finished_at for w in writes)
    operations = [
        r["operation"] for r in fmksim.requests_seen()[seen:] if "Get" not in r["operation"]
    ]
    # FMK received the writes in the order they were queued: the admission's, then the
    # discharge's (within one reconciliation, in the order of the card's lines).
    assert [w.reconciliation_id for w in writes] == [admission.pk] * 4 + [discharge.pk] * 2
    assert sorted(w.operation for w in writes[:4]) == ["create", "reviewed", "update", "withdraw"]
    assert sorted(w.operation for w in writes[4:]) == ["update", "withdraw"]
    assert writes[3].operation == "reviewed"
    fmk_name = {
        "withdraw": "WithdrawDrugMedication_2015_06_01",
        "update": "UpdateDrugMedication_2015_06_01_E2",
        "create": "CreateDrugMedication_2015_06_01_E2",
        "reviewed": "SetMedicineCardReviewed_2015_06_01",
    }
    assert operations == [fmk_name[w.operation] for w in writes]
    # The discharge's first write was based on the card the admission's last write made.
    assert writes[4].based_on_version == writes[3].result_version
    card = {d["identifier"]: d for d in fmksim.card(cpr)["drug_medications"]}
    assert card[first["identifier"]]["withdrawn"] and card[third["identifier"]]["withdrawn"]
    assert card[second["identifier"]]["dosage"] == "1 tablet nat"
    (created,) = [d for d in card.values() if d["name"] == antibiotic.name
                  and d["indication"] == "Pneumoni"]  # fmt: skip
    assert created["dosage"] == "1 tablet x 2" and not created["withdrawn"]


def test_when_fmk_answers_again_a_waiting_write_leaves_within_seconds_and_failed_reads_run(
    cast, fmksim, celery_worker, doctor_access
):
    """Finding 9: a write deep in its backoff, and a read that could not reach FMK, both go as
    soon as the breaker's probe (beat's outbox.probe) finds FMK answering again."""
    from medicinkort.models import CardRead
    from medicinkort.services import card_read_request
    from outbox.breaker import Breaker, probe_all

    cpr = cast.patient.cpr
    first = active_lines(card_with_lines(fmksim, cpr, 1))[0]
    read_card(cast.treating_doctor, cast.patient)
    fmksim.mode("refuse")
    reconciliation = reconciliation_confirm(
        access=doctor_access, kind="discharge",
        card_version=CardSnapshot.objects.latest("fetched_at").version,
        decisions=[Decision("withdraw", fmk_identifier=first["identifier"], reason="Ophørt")],
    )  # fmt: skip
    write = FmkWrite.objects.get(reconciliation=reconciliation)
    wait_for(lambda: FmkWrite.objects.get(pk=write.pk).attempts >= 2, what="two failed attempts")
    failed_read = card_read_request(access=doctor_access, occasion="demand")
    wait_for(lambda: CardRead.objects.get(pk=failed_read.pk).status == "unreachable",
             what="the read failing while FMK is down")  # fmt: skip
    # FMK kept failing: the breaker opened (its probe is what finds FMK back).
    wait_for(Breaker("fmk").is_tripped, 60, "the breaker opening")
    # As after a long outage: the write's next try is five minutes away.
    FmkWrite.objects.filter(pk=write.pk, status="pending").update(
        due_at=timezone.now() + timezone.timedelta(minutes=5)
    )
    fmksim.mode("up")
    back = time.monotonic()
    wait_for(lambda: probe_all().get("fmk") == "back", what="the probe finding FMK back")
    sent = wait_for(lambda: FmkWrite.objects.filter(pk=write.pk, status="sent").first(),
                    what="the write leaving")  # fmt: skip
    # The breaker's pause (10 s) and a probe at most, not the five minutes of the backoff.
    assert time.monotonic() - back < 25
    assert sent.finished_at < timezone.now()
    again = wait_for(
        lambda: CardRead.objects.filter(patient=cast.patient, occasion="retry", status="done")
        .exclude(pk=failed_read.pk).first(),
        what="the failed read asked again and done",
    )  # fmt: skip
    assert again.requested_by_id == cast.treating_doctor.pk and again.snapshot_id
    assert drained(reconciliation).status == Reconciliation.Status.UPDATED


def test_an_orders_structured_dosage_goes_to_fmk_as_fmks_structures_and_reads_back_the_same(
    cast, fmksim, celery_worker, doctor_access
):
    """A weekly order continued at home: FMK gets the structure (DosageStructureForRequest,
    validated by fmksim against FMK's schema), its text is FMK's translation of that structure,
    and the card read back holds the same structure as the order."""
    from medicinkort.dosage import Dosage
    from medicinkort.models import CardLine
    from medicinkort.services.orders import dosage_propose

    cpr = cast.patient.cpr
    card_with_lines(fmksim, cpr, 1)
    read_card(cast.treating_doctor, cast.patient)
    drug = Drug.objects.filter(atc_code="J01FA09").first()
    weekly = dosage_propose("1 tablet ugentligt", start=timezone.localdate(), times=["08:00"],
                            unit_singular="tablet", unit_plural="tabletter")  # fmt: skip
    order = order_create(access=doctor_access, course=cast.course, reasons=None,
                         data=OrderData.from_drug(drug, dose_text="1 tablet ugentligt",
                                                  dosage=weekly))  # fmt: skip
    try:
        reconciliation = reconciliation_confirm(
            access=doctor_access, kind="discharge",
            card_version=CardSnapshot.objects.latest("fetched_at").version,
            decisions=[Decision("new", order=order, key="o1")],
        )  # fmt: skip
    except ChecksNeedReasons as checks:
        reconciliation = reconciliation_confirm(
            access=doctor_access, kind="discharge",
            card_version=CardSnapshot.objects.latest("fetched_at").version,
            decisions=[Decision("new", order=order, key="o1")],
            reasons={w.key: "Vurderet" for w in checks.value.unanswered},
        )  # fmt: skip
    assert drained(reconciliation).status == Reconciliation.Status.UPDATED
    write = FmkWrite.objects.get(reconciliation=reconciliation, operation="create")
    on_fmk = {d["identifier"]: d for d in fmksim.card(cpr)["drug_medications"]}
    assert on_fmk[write.result_identifier]["dosage"] == "1 tablet kl. 08:00 hver 7. dag"
    line = CardLine.objects.filter(identifier=write.result_identifier).latest(
        "snapshot__fetched_at"
    )
    read_back = Dosage.from_json(line.dosage)
    assert read_back is not None and read_back.periods == weekly.periods


def test_a_dose_dispensed_patient_is_shown_so_and_changes_say_to_tell_the_pharmacy(
    cast, fmksim, celery_worker, client
):
    """Dose dispensing, as FMK's card says it (open dose dispensing prescriptions): the card and
    the reconciliation say so, and confirming a change tells the doctor to inform the pharmacy;
    a card without it says nothing of the kind."""
    from django.urls import reverse

    from tests.conftest import force_login_with_second_factor

    cpr = cast.patient.cpr
    first = active_lines(card_with_lines(fmksim, cpr, 1))[0]
    fmksim.dose_dispensing(cpr, on=False)
    read_card(cast.treating_doctor, cast.patient)
    force_login_with_second_factor(client, cast.treating_doctor)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    tab = reverse("medicinkort:medication", kwargs={"patient_id": cast.patient.public_id})
    assert 'data-testid="fmk-dose-dispensed"' not in client.get(tab).content.decode()
    fmksim.dose_dispensing(cpr)
    assert fmksim.card(cpr)["dose_dispensed"]
    read_card(cast.treating_doctor, cast.patient)
    assert CardSnapshot.objects.latest("fetched_at").dose_dispensed
    assert 'data-testid="fmk-dose-dispensed"' in client.get(tab).content.decode()
    url = reverse("medicinkort:reconcile",
                  kwargs={"patient_id": cast.patient.public_id, "kind": "discharge"})  # fmt: skip
    assert 'data-testid="fmk-dose-dispensed"' in client.get(url).content.decode()
    answer = client.post(url, {
        "card_version": CardSnapshot.objects.latest("fetched_at").version,
        f"decision-{first['identifier']}": "withdraw",
        f"reason-{first['identifier']}": "Ophørt",
    }, follow=True)  # fmt: skip
    import html

    said = html.unescape(answer.content.decode())
    assert "tell the pharmacy of the changes" in said
    assert first["name"] in said.split("tell the pharmacy")[1][:300]
