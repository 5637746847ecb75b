"""A ward's morning under load: many clinicians at once against gunicorn, measured with locust.

- The ward: the demo's cardiology department with `patients` patients of a year's history each
  (notes, vital signs, courses, results), an inbox of results to acknowledge, and one clinician
  (password and TOTP second factor) per locust user.
- The web tier: gunicorn as `docker-compose.yml` runs it (`sundhed.wsgi`), on loopback, with the
  worker model and count asked for, one or two instances (`--web-instances 2` splits the users
  over two gunicorns against the one database), beside the database on the same cores.
- The load: `bench/locustfile.py`, a clinician's day with think times, bounded in time.
- The report: requests/s, p50/p95/p99 per page, errors, the CPU of the web tier, the database
  and locust itself, and each page's cost beside the sign-in page's measured in the same run;
  drift is the p95 of the last minute against the first. Runs are kept by label in
  bench/results/load.json; bench/results/load.md shows them side by side.

The settings are the development ones without DEBUG: the cookies are not marked Secure (the
load is plain HTTP on loopback); everything else is as in production.
"""

import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from bench.harness import Processes, machine_cpu_seconds, processes_cpu
from sundhed.devstack import ROOT, free_port

RESULTS = Path(__file__).resolve().parent / "results"
WORK = ROOT / ".data" / "bench" / "load"
PASSWORD = "bench-load-password"  # noqa: S105 - bench users on a throw-away database
WARD = {"years": 1, "notes": 200, "courses": 40, "vitals": 500, "results": 300}
GOALS = {"requests_per_s": 200, "p95_ms": 300, "drift": 0.20, "cost_ratio": 3.0}
# The pages the profile reports on (URL name: label).
PROFILED = {
    "chart:overview": "chart overview",
    "chart:worklist": "work list",
    "labresults:results": "results tab",
    "account_login": "sign-in page",
}
CHART_PAGES = ["chart overview", "timeline", "results tab", "trend", "work list"]


def _secret(number: int) -> str:
    """A base32 TOTP secret per clinician (16 characters)."""
    import base64

    return base64.b32encode(f"benchload{number:07d}".encode()).decode()[:16]


def prepare(*, clinicians: int, patients: int) -> dict:
    """The ward, its clinicians and patients (kept between runs on the bench database)."""
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from accounts.models import User
    from bench.chart import _build_patient
    from labresults.models import InboxItem, LabReport
    from organisation.models import Membership, Role, StaffMember
    from sundhed.demo.seed import seed_demo

    seed_demo()
    doctor = StaffMember.objects.select_related("active_department").get(user__username="laege")
    ward = doctor.active_department
    ward_patients = [
        _build_patient(f"0101710{n:03d}", f"Stue{n}", WARD, doctor, ward) for n in range(patients)
    ]
    have = set(
        User.objects.filter(username__startswith="bench-load-").values_list("username", flat=True)
    )
    wanted = [n for n in range(clinicians) if f"bench-load-{n:04d}" not in have]
    if wanted:
        password = make_password(PASSWORD)
        since = timezone.localdate() - timedelta(days=365)
        with transaction.atomic():
            users = User.objects.bulk_create(
                User(username=f"bench-load-{n:04d}", first_name="Belastning", last_name=f"{n}",
                     password=password)
                for n in wanted
            )  # fmt: skip
            staff = StaffMember.objects.bulk_create(
                StaffMember(user=user, role=Role.LAEGE, title="Afdelingslæge",
                            authorisation_id=f"L{n:05d}", active_department=ward)
                for user, n in zip(users, wanted, strict=True)
            )  # fmt: skip
            Membership.objects.bulk_create(
                Membership(staff=member, department=ward, valid_from=since) for member in staff
            )  # fmt: skip
            Authenticator.objects.bulk_create(
                Authenticator(user=user, type=Authenticator.Type.TOTP, data={"secret": _secret(n)})
                for user, n in zip(users, wanted, strict=True)
            )  # fmt: skip
    # Results waiting in the ward's inbox: enough for every acknowledgement of a run.
    open_items = InboxItem.objects.filter(department=ward, acknowledged_at__isnull=True).count()
    if open_items < 3000:
        taken = InboxItem.objects.values("report_id")
        reports = LabReport.objects.filter(patient__in=ward_patients).exclude(pk__in=taken)
        InboxItem.objects.bulk_create(
            InboxItem(patient_id=r.patient_id, report=r, department=ward, clinician=doctor,
                      abnormal_count=1, arrived_at=timezone.now())
            for r in reports[: 3000 - open_items]
        )  # fmt: skip
    return {
        "password": PASSWORD,
        "clinicians": [
            {"username": f"bench-load-{n:04d}", "totp_secret": _secret(n)}
            for n in range(clinicians)
        ],
        "patients": [{"id": str(p.public_id), "cpr": p.cpr} for p in ward_patients],
    }


def _session_cookie(username: str) -> str:
    """A signed-in session of a bench clinician, as after password and second factor."""
    from django.test import Client

    from accounts.models import User
    from sundhed.testing.factories import sign_in_with_second_factor

    client = Client(HTTP_HOST="localhost")
    sign_in_with_second_factor(client, User.objects.get(username=username))
    return client.cookies["sessionid"].value


def pages_alone(
    host: str, pages: dict[str, str], *, cookie: str, seconds: float = 10.0, connections: int = 16
) -> dict:
    """Each page on its own, `connections` clients without think time: requests/s and the CPU
    each request costs the web tier and the database (the cost the ratio is taken of)."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    where = urlsplit(host)
    found: dict[str, dict] = {}
    for name, path in pages.items():
        headers = {"Host": "localhost", "Cookie": f"sessionid={cookie}"}
        if name == "sign-in page":
            headers.pop("Cookie")
        counts, stop = [0] * connections, threading.Event()

        def client(slot: int, path: str, headers: dict, counts: list, stop) -> None:
            conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
            while not stop.is_set():
                conn.request("GET", path, headers=headers)
                answer = conn.getresponse()
                answer.read()
                if answer.status == 200:
                    counts[slot] += 1

        threads = [
            threading.Thread(target=client, args=(i, path, headers, counts, stop))
            for i in range(connections)
        ]
        for thread in threads:
            thread.start()
        time.sleep(2)  # warm: connections open, workers busy
        start_counts, before, started = (
            sum(counts),
            processes_cpu(exited_children=True),
            time.monotonic(),
        )
        time.sleep(seconds)
        done, after, elapsed = (
            sum(counts) - start_counts,
            processes_cpu(exited_children=True),
            time.monotonic() - started,
        )
        stop.set()
        for thread in threads:
            thread.join(30)
        cpu = _cpu_by_role(before, after, 0.0)
        per_s = done / elapsed
        found[name] = {
            "per_s": round(per_s, 1),
            "web_ms": round(cpu["web"] * 1000 / max(done, 1), 1),
            "database_ms": round(cpu["database"] * 1000 / max(done, 1), 1),
        }
    yardstick = found.get("sign-in page")
    for page in found.values():
        total = page["web_ms"] + page["database_ms"]
        base = (yardstick["web_ms"] + yardstick["database_ms"]) if yardstick else 0
        page["cost_vs_sign_in"] = round(total / base, 1) if base else None
    return found


def _read_stats(prefix: Path) -> dict:
    pages = {}
    with open(f"{prefix}_stats.csv", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            pages[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "per_s": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "mean_ms": round(float(row["Average Response Time"]), 1),
            }
    return pages


def _drift(prefix: Path, seconds: int, ramp: int) -> dict:
    """p95 of the first and the last minute of the measured time, after the ramp (locust's
    history is a sliding window of recent requests, one row a second)."""
    rows = []
    with open(f"{prefix}_stats_history.csv", encoding="utf-8") as history:
        for row in csv.DictReader(history):
            if row["Name"] == "Aggregated" and row["95%"] not in ("N/A", "0"):
                rows.append((int(row["Timestamp"]), float(row["95%"]), float(row["Requests/s"])))
    if not rows:
        return {}
    start = rows[0][0] + ramp
    rows = [row for row in rows if row[0] >= start] or rows
    minute = min(60, max(seconds // 4, 10))
    first = [p for t, p, _ in rows if minute // 2 <= t - start < minute]
    last = [p for t, p, _ in rows if t - start >= rows[-1][0] - start - minute]
    first_p95 = statistics.median(first or [rows[0][1]])
    last_p95 = statistics.median(last or [rows[-1][1]])
    return {
        "window_s": minute,
        "first_p95_ms": first_p95,
        "last_p95_ms": last_p95,
        "change": round((last_p95 - first_p95) / first_p95, 3) if first_p95 else None,
    }


def run(
    *,
    label: str = "now",
    users: int = 400,
    spawn_rate: float = 4,
    seconds: int = 180,
    patients: int = 40,
    web_instances: int = 1,
    workers: int = 4,
    worker_class: str = "sync",
    threads: int = 1,
    think: str = "2,8",
    profile: bool = False,
) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    plan = prepare(clinicians=users, patients=patients)
    env = {
        **os.environ, "SUNDHED_ENV": "development", "DEBUG": "False",
        "DJANGO_SETTINGS_MODULE": "sundhed.settings",
    }  # fmt: skip
    profiles = WORK / f"profile-{_safe(label)}"
    if profile:
        import shutil

        shutil.rmtree(profiles, ignore_errors=True)
        env["SUNDHED_PROFILE_DIR"] = str(profiles)
    ports = [free_port() for _ in range(web_instances)]
    web = Processes(env, WORK)
    for port in ports:
        web.gunicorn(port, workers=workers, worker_class=worker_class, threads=threads)
    plan["hosts"] = [f"http://127.0.0.1:{port}" for port in ports]
    plan_file = WORK / "plan.json"
    plan_file.write_text(json.dumps(plan))
    prefix = WORK / f"locust-{_safe(label)}"
    first = plan["patients"][0]["id"]
    alone_pages = {
        "sign-in page": "/accounts/login/",
        "work list": "/chart/worklist/",
        "chart overview": f"/chart/{first}/",
        "timeline": f"/chart/{first}/timeline/",
        "results tab": f"/lab/{first}/results/",
        "trend": f"/lab/{first}/results/NPU03429/",
    }
    try:
        alone = pages_alone(
            plan["hosts"][0], alone_pages, cookie=_session_cookie(plan["clinicians"][0]["username"])
        )
        import resource

        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        before = processes_cpu(exited_children=True)
        busy_before, started = machine_cpu_seconds(), time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")),
             "--headless", "--users", str(users), "--spawn-rate", str(spawn_rate),
             "--run-time", f"{seconds + int(users / spawn_rate)}s",
             "--csv", str(prefix), "--csv-full-history",
             "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
             # Figures from when every clinician is signed in: not the ramp's sign-in storm.
             "--reset-stats"],
            cwd=ROOT, env={**env, "SUNDHED_LOAD_PLAN": str(plan_file), "SUNDHED_LOAD_THINK": think},
            check=False, timeout=seconds + int(users / spawn_rate) + 300,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        after, busy_after = processes_cpu(exited_children=True), machine_cpu_seconds()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        locust_cpu = (children.ru_utime + children.ru_stime) - (
            children_before.ru_utime + children_before.ru_stime
        )
    finally:
        web.stop_all()
    cpu = _cpu_by_role(before, after, locust_cpu)
    pages = _read_stats(prefix)
    total = pages.get("Aggregated", {})
    yardstick = pages.get("sign-in page", {})
    costs = {
        name: round(pages[name]["mean_ms"] / yardstick["mean_ms"], 2)
        for name in CHART_PAGES
        if name in pages and yardstick.get("mean_ms")
    }
    report = {
        "label": label,
        "when": timezone.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores",
        "setup": {
            "users": users,
            "seconds": seconds,
            "think_s": think,
            "patients": patients,
            "web_instances": web_instances,
            "workers": workers,
            "worker_class": worker_class,
            "threads": threads,
        },  # fmt: skip
        "pages": pages,
        "total": total,
        "errors": total.get("failures", 0),
        "cost_vs_sign_in": costs,
        "pages_alone": alone,
        "drift": _drift(prefix, seconds, int(users / spawn_rate)),
        "cpu_s": cpu,
        "elapsed_s": round(elapsed, 1),
        "machine_busy": round((busy_after - busy_before) / elapsed / (os.cpu_count() or 1), 3),
    }
    if profile:
        from bench.profiling import summary

        report["profile"] = summary(profiles, PROFILED)
    kept = _load_kept()
    kept[label] = report
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / "load.md").write_text(markdown(kept))
    print(markdown({label: report}))
    return report


def _cpu_by_role(before: dict, after: dict, locust_seconds: float) -> dict[str, float]:
    """CPU seconds of the run by role: the web tier, the database, locust, the rest."""
    roles = {"web": 0.0, "database": 0.0, "locust": locust_seconds, "other": 0.0}
    for pid, (line, seconds) in after.items():
        spent = seconds - before.get(pid, (line, 0.0))[1]
        if spent <= 0:
            continue
        if "gunicorn" in line:
            role = "web"
        elif line.startswith("postgres") or "bin/postgres" in line:
            role = "database"
        elif "locust" in line or pid == os.getpid():
            continue  # locust is counted from its usage once it ended; this process is idle
        else:
            role = "other"
            # Which processes, by their command's name: the report names the largest.
            name = "other: " + (line.split(" ")[0].rsplit("/", 1)[-1] or "kernel threads")
            if "celery" in line:
                name = "other: celery"
            roles[name] = roles.get(name, 0.0) + spent
        roles[role] += spent
    return {k: round(v, 1) for k, v in roles.items() if v >= 0.5 or ":" not in k}


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in label)


def _load_kept() -> dict:
    path = RESULTS / "load.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _cpu_line(cpu: dict, seconds: float) -> str:
    return ", ".join(f"{role} {spent / seconds:.2f} cores" for role, spent in cpu.items())


def markdown(kept: dict) -> str:
    lines = [
        "# A ward's morning under load",
        "",
        "Written by `bench/load.py` (`make bench` runs it; `python -m bench load --label L`"
        " runs one labelled run). Every figure of a run comes from that one run: the sign-in"
        " page is the yardstick measured beside the chart pages.",
        "",
        f"Goals: {GOALS['requests_per_s']} requests/s of the mix with p95 ≤ {GOALS['p95_ms']} ms"
        f" and 0 errors; p95 of the last minute within {int(GOALS['drift'] * 100)} % of the"
        f" first; each chart page ≤ {GOALS['cost_ratio']:.0f}× the sign-in page.",
        "",
    ]
    for label, report in kept.items():
        setup, total = report["setup"], report["total"]
        drift = report.get("drift") or {}
        lines += [
            f"## {label}",
            "",
            f"{report['when']}, {report['machine']}. {setup['users']} clinicians signing in"
            f" {setup.get('spawn_rate', 4)} a second, then measured for {setup['seconds']} s,"
            f" think time {setup['think_s']} s, {setup['patients']}"
            f" patients; {setup['web_instances']} gunicorn instance(s) × {setup['workers']}"
            f" {setup['worker_class']} workers × {setup['threads']} thread(s).",
            "",
            f"- **All requests:** {total.get('per_s')} requests/s, p50 {total.get('p50_ms')} ms,"
            f" p95 {total.get('p95_ms')} ms, p99 {total.get('p99_ms')} ms,"
            f" {report['errors']} errors of {total.get('requests')}.",
            f"- **Drift:** p95 {drift.get('first_p95_ms')} ms in the first"
            f" {drift.get('window_s')} s, {drift.get('last_p95_ms')} ms in the last"
            f" ({_percent(drift.get('change'))}).",
            f"- **CPU** (whole run, ramp included):"
            f" {_cpu_line(report['cpu_s'], report.get('elapsed_s', setup['seconds']))}; the machine"
            f" {report['machine_busy'] * 100:.0f} % busy.",
            "- **Mean time beside the sign-in page's in the mix** (queueing included): "
            + ", ".join(f"{k} {v}×" for k, v in report["cost_vs_sign_in"].items())
            + ".",
            "",
            *_alone_lines(report.get("pages_alone") or {}),
            "| page | requests | per s | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, page in sorted(report["pages"].items(), key=lambda kv: kv[0] == "Aggregated"):
            lines.append(
                f"| {name} | {page['requests']} | {page['per_s']} | {page['p50_ms']:.0f} |"
                f" {page['p95_ms']:.0f} | {page['p99_ms']:.0f} | {page['failures']} |"
            )
        lines.append("")
        if report.get("profile"):
            lines += _profile_lines(report["profile"])
    return "\n".join(lines) + "\n"


def _alone_lines(alone: dict) -> list[str]:
    if not alone:
        return []
    lines = [
        "Each page alone before the mix (16 clients without think time, 10 s): the CPU a"
        " request costs, and that cost beside the sign-in page's (the goal is ≤ 3×):",
        "",
        "| page | requests/s | web CPU ms | database CPU ms | cost × sign-in page |",
        "|---|---|---|---|---|",
    ]
    for name, page in alone.items():
        lines.append(
            f"| {name} | {page['per_s']} | {page['web_ms']} | {page['database_ms']} |"
            f" {page['cost_vs_sign_in']} |"
        )
    return [*lines, ""]


def _profile_lines(profile: dict) -> list[str]:
    parts = list(next(iter(profile.values()))["share"])
    lines = [
        "Where the time goes (cProfile in every gunicorn worker during this run, which slows"
        " it; shares of a request's time; SQL counts every query, so it overlaps the parts"
        " that make queries):",
        "",
        "| page | requests | ms/request (profiled) | " + " | ".join(parts) + " |",
        "|---|---|---|" + "---|" * len(parts),
    ]
    for label, page in profile.items():
        shares = " | ".join(f"{page['share'][p] * 100:.0f} %" for p in parts)
        lines.append(f"| {label} | {page['requests']} | {page['ms_per_request']} | {shares} |")
    lines.append("")
    for label, page in profile.items():
        top = ", ".join(f"`{name}` {ms} ms" for name, ms in page["our_functions_ms"][:6])
        lines.append(f"- {label}, our functions by cumulative time: {top}.")
    lines.append("")
    return lines


def _percent(value) -> str:
    return "n/a" if value is None else f"{value * 100:+.0f} %"
