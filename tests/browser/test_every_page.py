"""Every page, for every eye and on a phone.

Each page a clinician, a citizen or hospital IT opens is checked twice in headless Chromium:
- axe-core (vendored in tests/vendor/axe-core) finds no critical and no serious violation, and
  the browser reports no content-security-policy violation;
- at 390 px (a phone) nothing makes the page wider than the screen, and the navigation (with
  sign-out) is reachable through the collapsed menu.
The report lists every finding of every page at once, so one run shows all there is to fix.
"""

import os
from datetime import time
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from journal import services as journal
from journal.models import NoteType
from labresults.services import inbound_message_process, inbound_message_receive
from patients.access import access_decide
from patients.models import CaveEntry
from tests.conftest import browser_sign_in as sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js").read_text()
PHONE = {"width": 390, "height": 844}
# SUNDHED_SCREENSHOTS=dir keeps a full-page phone screenshot of every page, for a human look.
_SHOTS = os.environ.get("SUNDHED_SCREENSHOTS", "")
SCREENSHOTS = Path(_SHOTS) if _SHOTS else None

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|EP1|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR\r"
    "OBR|1||FEP1|PAKKE^Væsketal|||20261124093000|||||||||||||||20261124101000|||F\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||128|mmol/L|137-145|L|||F\r"
    "OBX|2|NM|NPU03230^P-Kalium^NPU||6.9|mmol/L|3.5-4.6|HH|||F\r"
)


def the_record(cast):
    """A chart with something on every tab: notes (signed, draft, to co-sign), a long CAVE,
    vital signs, diagnoses, results with a critical value."""
    doctor = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="journal")
    signed = journal.note_create(
        access=doctor, note_type=NoteType.CONTINUATION, title="Stuegang",
        text="Har det bedre. Fortsætter behandlingen.", care_course=cast.course,
    )  # fmt: skip
    journal.note_sign(access=doctor, note=signed)
    draft = journal.note_create(
        access=doctor, note_type=NoteType.CONTINUATION, title="Kladde", text="Under skrivning",
        care_course=cast.course,
    )  # fmt: skip
    junior = access_decide(user=cast.junior_doctor, patient=cast.patient, data_kind="journal")
    journal.note_sign(
        access=junior,
        note=journal.note_create(
            access=junior,
            note_type=NoteType.CONTINUATION,
            title="Aftenvagt",
            text="Tilset, stabil.",
            care_course=cast.course,
        ),  # fmt: skip
    )
    nurse = access_decide(user=cast.nurse, patient=cast.patient, data_kind="vitals")
    journal.vital_signs_record(
        access=nurse, care_course=cast.course, respiration_rate=22, spo2=94, on_oxygen=False,
        systolic=105, diastolic=60, pulse=112, consciousness="A", temperature="38.4",
    )  # fmt: skip
    CaveEntry.objects.create(
        patient=cast.patient,
        substance="Kontrastmiddel-jodholdigt-til-intravenøs-brug-ved-CT-skanning-af-thorax",
        reaction="Anafylaktisk reaktion med blodtryksfald, bronkospasme og urticaria over hele "
        "kroppen, krævede adrenalin og indlæggelse på intensiv i tre døgn",
        severity=CaveEntry.Severity.HIGH,
        source=CaveEntry.Source.RECORD,
        recorded_by=cast.treating_doctor,
    )
    receipt = inbound_message_receive(raw=ORU.encode(), transport="mllp")
    inbound_message_process(message_id=receipt.message.pk)
    return {"signed": signed, "draft": draft}


def pages_for(cast, notes, clinic):
    p = {"patient_id": cast.patient.public_id}
    clinician = [
        reverse("home"),
        reverse("chart:worklist"),
        reverse("patients:search") + "?q=Karen",
        reverse("patients:detail", kwargs=p),
        reverse("chart:overview", kwargs=p),
        reverse("chart:timeline", kwargs=p),
        reverse("journal:notes", kwargs=p),
        reverse("journal:note", kwargs={"note_id": notes["signed"].public_id}),
        reverse("journal:note_edit", kwargs={"note_id": notes["draft"].public_id}),
        reverse("journal:search", kwargs=p) + "?q=behandling",
        reverse("journal:diagnoses", kwargs=p),
        reverse("journal:vitals", kwargs=p),
        reverse("journal:cosign_queue"),
        reverse("labresults:results", kwargs=p),
        reverse("labresults:trend", kwargs={**p, "code": "NPU03429"}),
        reverse("labresults:imaging", kwargs=p),
        reverse("labresults:inbox"),
        reverse("medicinkort:medication", kwargs=p),
        reverse("medicinkort:reconcile", kwargs={**p, "kind": "admission"}),
        reverse("medicinkort:mar"),
        reverse("patients:access_log", kwargs=p),
        reverse("booking:patient", kwargs=p) + f"?type={clinic.control.public_id}",
        reverse("booking:follow_up", kwargs=p),
        reverse("booking:calendar") + "?scope=department&days=7",
        reverse("account_change_password"),
        reverse("mfa_index"),
    ]
    return [
        ("treating_doctor", clinician),
        (
            "other_doctor",
            [
                reverse("patients:break_glass", kwargs=p),
                reverse("patients:review_queue"),
            ],
        ),  # fmt: skip
        (
            "administrator",
            [
                reverse("labresults:queues"),
                reverse("patients:blockings", kwargs=p),
            ],
        ),  # fmt: skip
        ("it_administrator", [reverse("admin:index")]),
        ("patient_user", [reverse("home")]),
    ]


def check_page(page, url) -> list[str]:
    """What is wrong with the page at this URL: axe's serious findings and CSP violations."""
    problems = []
    violations_csp = []
    page.on(
        "console",
        lambda message: (
            violations_csp.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    if response is None or response.status >= 400:
        problems.append(f"status {response.status if response else 'none'}")
    # Playwright's evaluate runs outside the page's CSP, as a browser extension would.
    page.evaluate(AXE)
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.filter(v => v.impact === 'critical' || v.impact === 'serious')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"
    )
    for v in result:
        problems.append(f"axe {v['impact']} {v['id']}: {v['help']} at {v['nodes']}")
    problems.extend(f"CSP: {text}" for text in violations_csp)
    return problems


def check_phone(page, url) -> list[str]:
    problems = []
    page.goto(url)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        wide = page.evaluate(
            "() => [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".filter(e => !e.closest('.table-responsive, .scroll-x'))"
            ".slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
            " + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')"
            ".join('.') : ''))"
        )
        problems.append(f"{width} px wide at 390 px: {wide}")
    # A CPR number is read as one token: never broken across two lines.
    broken = page.evaluate(
        "() => [...document.querySelectorAll('main *')]"
        ".filter(e => e.children.length === 0 && /^\\d{6}-\\d{4}$/.test(e.textContent.trim()))"
        ".filter(e => { const r = document.createRange(); r.selectNodeContents(e);"
        " const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));"
        " return tops.size > 1; })"
        ".map(e => e.textContent.trim())"
    )
    if broken:
        problems.append(f"CPR broken across lines at 390 px: {broken[:3]}")
    if SCREENSHOTS:
        name = url.split("//", 1)[1].split("/", 1)[1].replace("/", "_").replace("?", "_")[:80]
        page.screenshot(path=str(SCREENSHOTS / f"phone-{name or 'home'}.png"), full_page=True)
    toggler = page.locator(".navbar-toggler")
    if page.locator("#user-menu").count():
        if not toggler.is_visible():
            problems.append("no collapsed menu at 390 px")
        else:
            toggler.click()
            page.locator("#user-menu").click()
            if not page.locator("#sign-out").is_visible():
                problems.append("sign-out not reachable at 390 px")
    return problems


def test_every_page_passes_axe_and_fits_a_phone(live_server, page, cast, settings, clinic):
    settings.SUNDHED_OUTBOX_DISPATCH = False  # the medication tab without FMK: its tests read it
    notes = the_record(cast)
    findings = {}
    started = timezone.now()
    from booking import services as booking

    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="booking")
    booking.booking_create(
        access=access, appointment_type=clinic.control,
        starts_at=timezone.make_aware(timezone.datetime.combine(clinic.day, time(9))),
    )  # fmt: skip
    for username, urls in pages_for(cast, notes, clinic):
        sign_in(page, live_server, username, cast.PASSWORD)
        for url in urls:
            page.set_viewport_size({"width": 1280, "height": 900})
            found = check_page(page, live_server.url + url)
            page.set_viewport_size(PHONE)
            found += check_phone(page, live_server.url + url)
            if found:
                findings[f"{username} {url}"] = found
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    found = check_page(page, live_server.url + reverse("account_login"))
    page.set_viewport_size(PHONE)
    found += check_phone(page, live_server.url + reverse("account_login"))
    if found:
        findings["anonymous sign-in"] = found
    report = "\n".join(f"{where}\n  " + "\n  ".join(found) for where, found in findings.items())
    took = timezone.now() - started
    assert not findings, f"{len(findings)} pages with problems ({took}):\n{report}"
