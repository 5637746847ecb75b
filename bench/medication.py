"""Medication pages with FMK answering in 2 s, and the outbox's drain rate.

The medication tab and the overview (with its panel "Current medication") must stay at the
speed of the other chart pages although FMK is slow: the page never waits, a worker reads the
card in the background (SUNDHED_FMK_REFRESH_AFTER=0 here, so every opening of the tab asks for a
read while fmksim takes 2 s to answer each). The reconciliation page is measured for a card of
30 lines beside 20 hospital orders. Then fmksim answers at once and the outbox drains writes for
several patients; the rate is writes per second. Ratios are to the overview of the same run.

Server-side through Django's whole request stack (the test client in this process), as
bench/chart.py. Results: bench/results/medication.{json,md}.
"""

import json
import os
import platform
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench.chart import _measure

RESULTS = Path(__file__).resolve().parent / "results"
CARD_LINES, ORDERS = 30, 20
WRITE_PATIENTS, WRITES_EACH = 4, 50


def _control(port: int, path: str, data: dict | None = None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(data).encode() if data is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if data is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own port)
        return json.loads(response.read())


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not happen within {timeout} s")


def _patient(cpr: str, name: str, doctor):
    from patients.models import CareCourse, Patient

    patient = Patient.objects.filter(cpr=cpr).first() or Patient.objects.create(
        cpr=cpr, given_names=name, family_name="Medicin", birth_date=timezone.localdate()
    )
    if not CareCourse.objects.filter(patient=patient, ended_at__isnull=True).exists():
        CareCourse.objects.create(
            patient=patient, department=doctor.active_department, kind="admission",
            title="Benchmark", started_at=timezone.now(), responsible=doctor,
        )  # fmt: skip
    return patient


def run(*, requests: int = 300) -> dict:
    from django.conf import settings

    from accounts.models import User
    from bench.harness import Processes
    from medicinkort.models import CardRead, Drug, FmkWrite, MedicationOrder
    from medicinkort.services import OrderData, card_read_request, order_create
    from organisation.models import StaffMember
    from patients.access import access_decide
    from sundhed.demo.seed import seed_demo
    from sundhed.testing.factories import sign_in_with_second_factor

    seed_demo()
    doctor = StaffMember.objects.select_related("user", "active_department__hospital").get(
        user__username="laege"
    )
    processes = Processes(dict(os.environ), Path(tempfile.mkdtemp(prefix="bench-medication-")))
    try:
        _, _, control = processes.fmksim()
        settings.SUNDHED_FMK_URL = processes.env["SUNDHED_FMK_URL"]
        processes.env["SUNDHED_FMK_REFRESH_AFTER"] = "0"
        settings.SUNDHED_FMK_REFRESH_AFTER = 0
        processes.worker("medication", concurrency=2)
        patient = _patient("0101600013", "Tredive", doctor)
        _control(control, "/seed", {"cprs": [patient.cpr]})
        while len(_control(control, f"/card/{patient.cpr}")["drug_medications"]) < CARD_LINES:
            _control(control, "/gp-change", {"cpr": patient.cpr})
        access = access_decide(user=doctor.user, patient=patient, data_kind="medication")
        read = card_read_request(access=access, occasion="demand")
        _wait(
            lambda: CardRead.objects.get(pk=read.pk).status not in ("pending", "reading"),
            60,
            "the first read",
        )
        drugs = list(Drug.objects.filter(is_active=True).order_by("atc_code")[:200:10])
        have = MedicationOrder.objects.filter(patient=patient, status="active").count()
        for drug in drugs[: max(0, ORDERS - have)]:
            order_create(
                access=access,
                data=OrderData.from_drug(drug, dose_text="1 tablet morgen", times=["08:00"]),
                reasons={"*": ""},
                warnings=[],
            )

        from allauth.mfa.models import Authenticator

        # A real clinician has a second factor: the gate checks for it on every request.
        if not Authenticator.objects.filter(user=doctor.user).exists():
            Authenticator.objects.create(
                user=doctor.user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
            )
        client = Client(HTTP_HOST="localhost")
        sign_in_with_second_factor(client, User.objects.get(pk=doctor.user_id))
        _control(control, "/mode", {"mode": "up", "delay": 2.0})
        kwargs = {"patient_id": patient.public_id}
        pages = {
            "overview (with the medication panel)": reverse("chart:overview", kwargs=kwargs),
            "medication tab": reverse("medicinkort:medication", kwargs=kwargs),
            "medication panel (live part)": reverse("medicinkort:card_live", kwargs=kwargs)
            + "?panel=1",
            "reconciliation page": reverse(
                "medicinkort:reconcile", kwargs={**kwargs, "kind": "admission"}
            ),
        }
        results = {name: _measure(client, url, requests) for name, url in pages.items()}
        reads = CardRead.objects.filter(patient=patient)
        results["medication tab"]["reads_asked"] = reads.count()
        results["medication tab"]["reads_done_meanwhile"] = reads.filter(status="done").count()
        base = results["overview (with the medication panel)"]["p95_ms"]
        for values in results.values():
            values["p95_ratio_to_overview"] = round(values["p95_ms"] / base, 2) if base else None

        # The outbox: writes for several patients, FMK answering at once.
        _control(control, "/mode", {"mode": "up", "delay": 0})
        CardRead.objects.filter(status__in=["pending", "reading"]).update(status="done")
        settings.SUNDHED_OUTBOX_DISPATCH = True
        # New patients each run: fmksim starts empty, so cards written in an earlier run (whose
        # versions the kept bench database remembers) would be conflicts.
        run_id = int(time.time()) % 10_000
        writers = [
            _patient(f"03{i + 1:02d}60{run_id:04d}", f"Skriv{i}", doctor)
            for i in range(WRITE_PATIENTS)
        ]
        paracetamol = Drug.objects.filter(atc_code="N02BE01").first()
        assert paracetamol is not None, "the drug list holds paracetamol"
        drug = paracetamol
        from medicinkort.services.outbox import next_sequence
        from medicinkort.services.reconciliation import _order_data_payload
        from outbox import engine, kinds

        payload = _order_data_payload(OrderData.from_drug(drug, dose_text="1 tablet morgen"))
        since = timezone.now()  # rows of this run only (the bench database is kept)
        started = time.perf_counter()
        for writer in writers:
            first = next_sequence(writer)
            FmkWrite.objects.bulk_create(
                FmkWrite(
                    patient=writer, sequence=first + i, operation="create", payload=payload,
                    message_id=uuid.uuid4(), requested_by=doctor.user,
                )
                for i in range(WRITES_EACH)
            )  # fmt: skip
            engine.dispatch(kinds.get("medicinkort.fmkwrite"))
        total = WRITE_PATIENTS * WRITES_EACH
        _wait(
            lambda: (
                FmkWrite.objects.filter(
                    patient__in=writers, status="sent", created_at__gte=since
                ).count()
                >= total
            ),
            600,
            "the outbox draining",
        )
        elapsed = time.perf_counter() - started
        failed = (
            FmkWrite.objects.filter(patient__in=writers, created_at__gte=since)
            .exclude(status="sent")
            .count()
        )
        outbox = {
            "writes": total,
            "patients": WRITE_PATIENTS,
            "seconds": round(elapsed, 2),
            "writes_per_second": round(total / elapsed, 1),
            "not_sent": failed,
        }
    finally:
        processes.stop_all()
        connection.close()
    report = {
        "when": timezone.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores",
        "card_lines": CARD_LINES,
        "orders": ORDERS,
        "fmk_delay_s": 2.0,
        "results": results,
        "outbox": outbox,
        "goal": "the medication tab and panel at the speed of the overview (the page never "
        "waits on FMK); reconciliation of 30 lines and 20 orders usable at once",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "medication.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "medication.md").write_text(_markdown(report))
    print(_markdown(report))
    return report


def _markdown(report: dict) -> str:
    lines = [
        "# Medication benchmark",
        "",
        f"{report['when']} on {report['machine']}. Server-side, through the whole request stack;",
        f"fmksim answers each call in {report['fmk_delay_s']} s while the pages are measured "
        "(a worker reads the card in the background on every opening of the tab);",
        f"the card has {report['card_lines']} drug medications, the patient "
        f"{report['orders']} hospital orders.",
        "",
        "| page | requests | p50 ms | p95 ms | max ms | queries | p95 / overview |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page, r in report["results"].items():
        lines.append(
            f"| {page} | {r['requests']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} "
            f"| {r['queries']} | {r['p95_ratio_to_overview']} |"
        )
    tab = report["results"]["medication tab"]
    outbox = report["outbox"]
    lines += [
        "",
        f"While the tab was measured it asked for {tab['reads_asked']} reads of the card (one "
        f"at a time: a pending read is not asked again); {tab['reads_done_meanwhile']} were "
        "done by the worker meanwhile, each taking FMK's 2 s, and no page waited for one.",
        "",
        f"Outbox: {outbox['writes']} writes for {outbox['patients']} patients (in order per "
        f"patient, one worker with 2 processes, FMK answering at once): "
        f"{outbox['seconds']} s, **{outbox['writes_per_second']} writes/s**, "
        f"{outbox['not_sent']} not sent.",
        "",
        f"Goal: {report['goal']}.",
        "",
    ]
    return "\n".join(lines)
