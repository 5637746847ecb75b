"""The citizen's overview in Min Sundhedsplatform for a patient with ten years of history,
beside the clinician's overview of the same patient, in the same run.

The citizen's session is made as the MitID sign-in makes it (a user linked to the patient, the
session marked for the portal), so the measured request runs the whole stack: the boundary
middleware, the gate with the patient as the audience, the release rules over every report,
and the access event. Results: bench/results/portal.{json,md}.
"""

import json
import platform
from pathlib import Path

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench.chart import _build_patient, _cores, _measure

RESULTS = Path(__file__).resolve().parent / "results"
HEAVY = {"years": 10, "notes": 2000, "courses": 400, "vitals": 5000, "results": 3000}


def _citizen_client(patient) -> Client:
    from accounts.models import User
    from portal.signin import SESSION_KEY

    user = patient.user or User.objects.create(
        username=f"bench-borger-{patient.pk}", first_name=patient.given_names,
        last_name=patient.family_name,
    )  # fmt: skip
    if patient.user_id is None:
        patient.user = user
        patient.save(update_fields=["user"])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = patient.pk
    session.save()
    return client


def run(*, requests: int = 300) -> dict:
    from allauth.mfa.models import Authenticator

    from accounts.models import User
    from labresults.models import LabReport
    from organisation.models import StaffMember
    from sundhed.demo.seed import seed_demo
    from sundhed.testing.factories import sign_in_with_second_factor

    seed_demo()
    doctor = StaffMember.objects.select_related("user", "active_department").get(
        user__username="laege"
    )
    if not Authenticator.objects.filter(user=doctor.user).exists():
        Authenticator.objects.create(
            user=doctor.user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
        )
    patient = _build_patient("0101700021", "Borger", HEAVY, doctor, doctor.active_department)
    clinician = Client(HTTP_HOST="localhost")
    sign_in_with_second_factor(clinician, User.objects.get(pk=doctor.user_id))
    citizen = _citizen_client(patient)
    chart = reverse("chart:overview", kwargs={"patient_id": patient.public_id})
    pages = {
        "clinician overview": (clinician, chart),
        "citizen overview": (citizen, reverse("portal:overview")),
        "citizen results": (citizen, reverse("portal:results")),
        "citizen who has looked": (citizen, reverse("portal:access_log")),
    }  # fmt: skip
    results = {name: _measure(client, url, requests) for name, (client, url) in pages.items()}
    report = {
        "when": timezone.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {_cores()} cores",
        "history": HEAVY,
        "reports": LabReport.objects.filter(patient=patient).count(),
        "results": results,
        "ratio_citizen_to_clinician_overview_p95": round(
            results["citizen overview"]["p95_ms"] / results["clinician overview"]["p95_ms"], 2
        ),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "portal.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "portal.md").write_text(_markdown(report))
    print(_markdown(report))
    return report


def _markdown(report: dict) -> str:
    lines = [
        "# Portal benchmark: the citizen's overview beside the clinician's",
        "",
        f"{report['when']} on {report['machine']}. Server-side, through the whole request stack,",
        f"one patient with {report['history']} ({report['reports']} laboratory reports), "
        "beside the demo's 2,000 patients; measured one after the other in this run.",
        "",
        "| page | requests | p50 ms | p95 ms | max ms | queries |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for page, r in report["results"].items():
        lines.append(
            f"| {page} | {r['requests']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} "
            f"| {r['queries']} |"
        )
    lines += [
        "",
        f"Citizen overview ÷ clinician overview (p95): "
        f"**{report['ratio_citizen_to_clinician_overview_p95']}×**.",
        "",
    ]
    return "\n".join(lines)
