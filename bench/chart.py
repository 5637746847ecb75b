"""The chart's speed: overview, first timeline page and a note page, for a patient with ten
years of history beside one with a single year, on top of the demo data.

Measured server-side through Django's whole request stack (middleware, gate, audit insert,
templates) with the test client in this process: p50 and p95 over N requests, and the number
of queries of each page. Results go to bench/results/chart.{json,md}.
"""

import json
import platform
import statistics
import time
from pathlib import Path

from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

RESULTS = Path(__file__).resolve().parent / "results"
HEAVY = {"years": 10, "notes": 2000, "courses": 400, "vitals": 5000}
LIGHT = {"years": 1, "notes": 200, "courses": 40, "vitals": 500}


def _build_patient(cpr: str, name: str, size: dict, doctor, department):
    """A patient with `size` history, one open course in the doctor's department."""
    from patients.models import Patient
    from sundhed.testing.factories import history_build

    existing = Patient.objects.filter(cpr=cpr).first()
    if existing is not None:  # built by an earlier run on the same bench database
        return existing
    patient = Patient.objects.create(
        cpr=cpr, given_names=name, family_name="Benchmark", birth_date=timezone.localdate()
    )
    history_build(
        patient,
        department=department,
        author=doctor,
        years=size["years"],
        courses=size["courses"],
        notes=size["notes"],
        vitals=size["vitals"],
        results=size.get("results", 0),
        diagnoses=True,
    )
    return patient


def _measure(client: Client, url: str, requests: int) -> dict:
    for _ in range(20):
        assert client.get(url).status_code == 200, url
    # Each request resets Django's query log, so start the capture from an empty log.
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    # Read the count now: the captured list is a view of the log the next request clears.
    query_count = len(queries)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return {
        "requests": requests,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "max_ms": round(times[-1], 1),
        "queries": query_count,
    }


def run(*, requests: int = 300) -> dict:
    from allauth.mfa.models import Authenticator

    from accounts.models import User
    from journal.models import Note
    from organisation.models import StaffMember
    from sundhed.demo.seed import seed_demo
    from sundhed.testing.factories import sign_in_with_second_factor

    seed_demo()
    doctor = StaffMember.objects.select_related("user", "active_department").get(
        user__username="laege"
    )
    # A real clinician has a second factor: the gate checks for it on every request.
    if not Authenticator.objects.filter(user=doctor.user).exists():
        Authenticator.objects.create(
            user=doctor.user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
        )
    patients = {
        "10 years": _build_patient("0101700011", "Tiår", HEAVY, doctor, doctor.active_department),
        "1 year": _build_patient("0101700012", "Etår", LIGHT, doctor, doctor.active_department),
    }
    client = Client(HTTP_HOST="localhost")
    # A real sign-in's session: password and the second factor, which the gate asks for.
    sign_in_with_second_factor(client, User.objects.get(pk=doctor.user_id))
    results = {}
    for label, patient in patients.items():
        note = Note.objects.filter(patient=patient).order_by("-written_at").first()
        assert note is not None, "the bench's patients have notes"
        pages = {
            "overview": reverse("chart:overview", kwargs={"patient_id": patient.public_id}),
            "timeline": reverse("chart:timeline", kwargs={"patient_id": patient.public_id}),
            "note": reverse("journal:note", kwargs={"note_id": note.public_id}),
        }
        results[label] = {name: _measure(client, url, requests) for name, url in pages.items()}
    report = {
        "when": timezone.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {_cores()} cores",
        "heavy": HEAVY,
        "light": LIGHT,
        "results": results,
        "goal": "overview p95 <= 100 ms with <= 15 queries, independent of history length",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "chart.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "chart.md").write_text(_markdown(report))
    print(_markdown(report))
    return report


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def _markdown(report: dict) -> str:
    lines = [
        "# Chart benchmark",
        "",
        f"{report['when']} on {report['machine']}. Server-side, through the whole request stack;",
        f"10 years = {report['heavy']}, 1 year = {report['light']}, beside 2,000 demo patients.",
        "",
        "| history | page | requests | p50 ms | p95 ms | max ms | queries |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for label, pages in report["results"].items():
        for page, r in pages.items():
            lines.append(
                f"| {label} | {page} | {r['requests']} | {r['p50_ms']} | {r['p95_ms']} "
                f"| {r['max_ms']} | {r['queries']} |"
            )
    lines += ["", f"Goal: {report['goal']}.", ""]
    return "\n".join(lines)
