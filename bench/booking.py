"""Free-slot search with 2,000 resources and 16 weeks of schedules, and booking under contention.

Fifty departments each have 20 scanners and 20 rooms (2,000 resources), weekday rules from 08 to
16 for 16 weeks, one 30-minute appointment type that needs a scanner and a room, and a fifth of
the first four weeks already booked (about 64,000 bookings, 128,000 allocations). Measured side
by side in one run:

- the free-slot search of one department (first 20 from a random day in the 16 weeks), and of
  the same type code across all fifty departments (the region);
- the baseline: one indexed range query on the same tables, the active allocations of the
  department's resources in the search's first week (what the search cannot do without);
- the alternative design, slots generated ahead: every slot of the 16 weeks written as a row
  (`bench_generated_slot`, a table of this benchmark only, with a booked flag kept from the
  allocations), what writing them costs (all of them, and one department again, as a changed
  rule would), and the same one-department search as one query on them;
- booking under contention: many clients (threads, each its own connection) racing for a few
  free times, bookings per second and refused attempts, and the deadlocks PostgreSQL resolved.

Results: bench/results/booking.{json,md}.
"""

import json
import platform
import random
import statistics
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone

RESULTS = Path(__file__).resolve().parent / "results"
DEPARTMENTS, SCANNERS, ROOMS, WEEKS = 50, 20, 20, 16


def _p95(values):
    values = sorted(values)
    return values[int(len(values) * 0.95) - 1] * 1000


def _build(rng):
    from booking.models import Allocation, AppointmentType, Booking, Resource, ScheduleRule
    from organisation.models import Department, Hospital, Region
    from patients.models import Patient

    if Department.objects.filter(short_name="B000").exists():
        return
    region = Region.objects.create(name="Benchmarkregionen", code="9999")
    hospital = Hospital.objects.create(region=region, name="Benchmarkhospitalet", short_name="BH")
    today = timezone.localdate()
    user = _booker()
    # One patient per department and scanner: no patient is in two appointments at once.
    patients = Patient.objects.bulk_create(
        Patient(
            cpr=f"01010{n:05d}",
            given_names=f"Bench{n}",
            family_name="Mark",
            birth_date=date(2001, 1, 1),
        )  # fmt: skip
        for n in range(DEPARTMENTS * SCANNERS)
    )
    through = ScheduleRule.appointment_types.through
    for d in range(DEPARTMENTS):
        department = Department.objects.create(
            hospital=hospital, name=f"Billeddiagnostik {d}", short_name=f"B{d:03d}",
            sor_code=f"99{d:010d}", kind="radiology",
        )  # fmt: skip
        kind = AppointmentType.objects.create(
            department=department, code="ct", name="CT-skanning", duration_minutes=30,
            resource_kinds=["equipment", "room"],
        )  # fmt: skip
        resources = Resource.objects.bulk_create(
            [Resource(department=department, kind="equipment", name=f"CT {d}-{i}")
             for i in range(SCANNERS)]
            + [Resource(department=department, kind="room", name=f"Rum {d}-{i}")
               for i in range(ROOMS)]
        )  # fmt: skip
        rules = ScheduleRule.objects.bulk_create(
            ScheduleRule(
                resource=r,
                weekdays=[1, 2, 3, 4, 5],
                start_time=clock(8),
                end_time=clock(16),
                valid_from=today,
                valid_until=today + timedelta(weeks=WEEKS),
            )  # fmt: skip
            for r in resources
        )
        through.objects.bulk_create(
            through(schedulerule_id=rule.pk, appointmenttype_id=kind.pk) for rule in rules
        )
        scanners, rooms = resources[:SCANNERS], resources[SCANNERS:]
        bookings, pairs = [], []
        for day in range(1, 29):
            when = today + timedelta(days=day)
            if when.isoweekday() > 5:
                continue
            for slot in range(16):
                start = timezone.make_aware(datetime.combine(when, clock(8))) + timedelta(
                    minutes=30 * slot
                )
                for i in range(SCANNERS):
                    if rng.random() < 0.2:
                        bookings.append(Booking(
                            patient=patients[d * SCANNERS + i], department=department,
                            appointment_type=kind,
                            starts_at=start, ends_at=start + timedelta(minutes=30),
                            booked_by=user,
                        ))  # fmt: skip
                        pairs.append((scanners[i], rooms[i], start))
        bookings = Booking.objects.bulk_create(bookings, batch_size=2000)
        Allocation.objects.bulk_create(
            [
                Allocation(booking=b, resource=r, period=(s, s + timedelta(minutes=30)))
                for b, (scanner, room, s) in zip(bookings, pairs, strict=True)
                for r in (scanner, room)
            ],
            batch_size=4000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE booking_allocation; ANALYZE booking_booking;")


def _booker():
    from accounts.models import User

    return User.objects.get_or_create(username="bench-booker")[0]


def run(*, requests: int = 300) -> dict:
    from booking.models import Allocation, AppointmentType, Resource
    from booking.slots import free_slots

    rng = random.Random(15)
    started = time.perf_counter()
    _build(rng)
    built = time.perf_counter() - started
    today = timezone.localdate()
    types = list(AppointmentType.objects.filter(department__short_name__startswith="B0"))
    by_department: dict = {}
    for r in Resource.objects.filter(department__in=[t.department_id for t in types]):
        by_department.setdefault(r.department_id, []).append(r.pk)
    generated = _generate_ahead(types, today)
    one, region, baseline, ahead = [], [], [], []
    for _ in range(requests):
        kind = rng.choice(types)
        start = today + timedelta(days=rng.randint(1, WEEKS * 7 - 7))
        # Side by side: the baseline range query, one department's search, the region's.
        t0 = time.perf_counter()
        window = (
            timezone.make_aware(datetime.combine(start, clock.min)),
            timezone.make_aware(datetime.combine(start + timedelta(days=7), clock.min)),
        )
        list(
            Allocation.objects.filter(
                resource_id__in=by_department[kind.department_id], active=True,
                period__overlap=window,
            ).values_list("resource_id", "period")
        )  # fmt: skip
        t1 = time.perf_counter()
        found = free_slots(
            appointment_types=[kind], start_date=start, end_date=start + timedelta(weeks=4)
        )
        t2 = time.perf_counter()
        assert len(found) == 20
        free_slots(appointment_types=types, start_date=start, end_date=start + timedelta(weeks=4))
        t3 = time.perf_counter()
        pregenerated = _search_generated(kind, start, start + timedelta(weeks=4))
        t4 = time.perf_counter()
        assert len(pregenerated) == 20
        baseline.append(t1 - t0)
        one.append(t2 - t1)
        region.append(t3 - t2)
        ahead.append(t4 - t3)
    contention = _contention(rng, types[0])
    result: dict[str, Any] = {
        "when": timezone.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "resources": Resource.objects.filter(department__short_name__startswith="B0").count(),
        "allocations": Allocation.objects.count(),
        "build_seconds": round(built, 1),
        "requests": requests,
        "p95_ms": {
            "baseline_range_query": round(_p95(baseline), 2),
            "search_one_department": round(_p95(one), 2),
            "search_region": round(_p95(region), 2),
            "generated_ahead_search": round(_p95(ahead), 2),
        },
        "median_ms": {
            "baseline_range_query": round(statistics.median(baseline) * 1000, 2),
            "search_one_department": round(statistics.median(one) * 1000, 2),
            "search_region": round(statistics.median(region) * 1000, 2),
            "generated_ahead_search": round(statistics.median(ahead) * 1000, 2),
        },
        "generated_ahead": generated,
        "contention": contention,
    }
    result["ratio_one_department_to_baseline"] = round(
        result["p95_ms"]["search_one_department"] / result["p95_ms"]["baseline_range_query"], 2
    )
    _write(result)
    return result


def _generate_ahead(types, today) -> dict:
    """Write every slot of the 16 weeks as a row, as a generated-ahead design keeps them, with
    a booked flag from the allocations; then once more for one department (a changed rule)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_generated_slot")
        cursor.execute(
            """CREATE TABLE bench_generated_slot (
                   id bigserial PRIMARY KEY, department_id bigint NOT NULL,
                   appointment_type_id bigint NOT NULL, resource_id bigint NOT NULL,
                   kind varchar(20) NOT NULL, starts_at timestamptz NOT NULL,
                   ends_at timestamptz NOT NULL, booked boolean NOT NULL DEFAULT false)"""
        )
        t0 = time.perf_counter()
        _generate_for(cursor, [t.department_id for t in types], today)
        cursor.execute(
            "CREATE INDEX bench_generated_slot_find ON bench_generated_slot "
            "(department_id, kind, starts_at) WHERE NOT booked"
        )
        cursor.execute("ANALYZE bench_generated_slot")
        t1 = time.perf_counter()
        cursor.execute("SELECT count(*), pg_total_relation_size('bench_generated_slot') "
                       "FROM bench_generated_slot")  # fmt: skip
        rows, size = cursor.fetchone()
        one_department = types[0].department_id
        t2 = time.perf_counter()
        cursor.execute(
            "DELETE FROM bench_generated_slot WHERE department_id = %s", [one_department]
        )
        _generate_for(cursor, [one_department], today)
        t3 = time.perf_counter()
    return {
        "rows": rows, "megabytes": round(size / 1e6, 1), "write_all_seconds": round(t1 - t0, 1),
        "rewrite_one_department_seconds": round(t3 - t2, 2),
    }  # fmt: skip


def _generate_for(cursor, departments, today) -> None:
    """The slots of the departments' rules, stepped by the type's duration, booked where an
    active allocation overlaps (holidays are left in: this favours the alternative)."""
    cursor.execute(
        """INSERT INTO bench_generated_slot
               (department_id, appointment_type_id, resource_id, kind, starts_at, ends_at, booked)
           SELECT r.department_id, t.id, r.id, r.kind, s.start,
                  s.start + make_interval(mins => t.duration_minutes),
                  EXISTS (SELECT 1 FROM booking_allocation a
                          WHERE a.resource_id = r.id AND a.active
                            AND a.period && tstzrange(s.start,
                                s.start + make_interval(mins => t.duration_minutes)))
           FROM booking_schedulerule rule
           JOIN booking_resource r ON r.id = rule.resource_id
           JOIN booking_schedulerule_appointment_types rt ON rt.schedulerule_id = rule.id
           JOIN booking_appointmenttype t ON t.id = rt.appointmenttype_id
           CROSS JOIN LATERAL generate_series(%s::date, %s::date, interval '1 day') AS d(day)
           CROSS JOIN LATERAL generate_series(
               (d.day::date + rule.start_time) AT TIME ZONE 'Europe/Copenhagen',
               (d.day::date + rule.end_time) AT TIME ZONE 'Europe/Copenhagen'
                   - make_interval(mins => t.duration_minutes),
               make_interval(mins => t.duration_minutes)) AS s(start)
           WHERE r.department_id = ANY(%s)
             AND extract(isodow FROM d.day)::int = ANY(rule.weekdays)
             AND d.day::date BETWEEN rule.valid_from AND coalesce(rule.valid_until, d.day::date)
        """,
        [today, today + timedelta(weeks=WEEKS), list(departments)],
    )


def _search_generated(kind, start, end) -> list:
    """The first 20 free (scanner, room) pairs of one department from generated slots: one
    query, each free scanner paired with the free room of the same rank at the same start."""
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH free AS (
                   SELECT resource_id, kind, starts_at,
                          row_number() OVER (PARTITION BY kind, starts_at ORDER BY resource_id) n
                   FROM bench_generated_slot
                   WHERE department_id = %(d)s AND NOT booked
                     AND starts_at >= %(start)s AND starts_at < %(end)s AND starts_at > now())
               SELECT e.starts_at, e.resource_id, r.resource_id
               FROM free e JOIN free r ON r.starts_at = e.starts_at AND r.n = e.n
                                      AND r.kind = 'room'
               WHERE e.kind = 'equipment'
               ORDER BY e.starts_at, e.n LIMIT 20""",
            {
                "d": kind.department_id,
                "start": timezone.make_aware(datetime.combine(start, clock.min)),
                "end": timezone.make_aware(datetime.combine(end, clock.min)),
            },
        )
        return cursor.fetchall()


def _contention(rng, kind, clients: int = 40, rounds: int = 5) -> dict:
    """Rounds of `clients` threads racing for the first 8 free times of one department."""
    from booking import services
    from booking.slots import free_slots
    from patients.access import access_decide

    booked = refused = errors = 0
    elapsed = 0.0
    deadlocks_before = _deadlocks()
    kinds_of_error: Counter = Counter()
    capacity = 0
    patients = _patients(clients * rounds)
    # The racing patients' bookings of an earlier run are cancelled: each attempt is a patient
    # free at that time, so a refusal means the time was taken.
    from booking.models import Allocation, Booking

    Allocation.objects.filter(booking__patient__in=patients).update(active=False)
    Booking.objects.filter(patient__in=patients, status="booked").update(
        status="cancelled", cancelled_by="hospital", cancel_reason="Benchmark"
    )
    _clinician()  # once, before the threads (it gives the racing patients their referral)
    for round_ in range(rounds):
        day = timezone.localdate() + timedelta(weeks=WEEKS - 2 - round_)
        while day.isoweekday() > 5:
            day += timedelta(days=1)
        slots = free_slots(appointment_types=[kind], start_date=day, end_date=day, limit=8)
        # What can be booked at those starts at most: every free scanner-and-room pair there.
        capacity += sum(
            len(free_slots(appointment_types=[kind], start_date=day, end_date=day,
                           exact_start=start, limit=100))
            for start in {s.starts_at for s in slots}
        )  # fmt: skip
        barrier = threading.Barrier(clients)
        outcomes: list = []
        lock = threading.Lock()

        def client(i, slots=slots, barrier=barrier, outcomes=outcomes, lock=lock, r=round_):
            patient = patients[r * clients + i]
            access = access_decide(user=_clinician(), patient=patient, data_kind="booking")
            barrier.wait()
            try:
                services.booking_create(
                    access=access, appointment_type=kind, starts_at=slots[i % len(slots)].starts_at
                )
                outcome = "booked"
            except services.SlotTaken:
                outcome = "refused"
            except Exception as error:  # noqa: BLE001 (counted: it would be a 500)
                outcome = f"error: {type(error).__name__}: {str(error)[:300]}"
            finally:
                connection.close()
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed += time.perf_counter() - t0
        booked += outcomes.count("booked")
        refused += outcomes.count("refused")
        failures = [o for o in outcomes if o.startswith("error")]
        errors += len(failures)
        kinds_of_error.update(failures)
    return {
        "clients": clients, "rounds": rounds, "free_times_per_round": 8,
        "capacity": capacity,
        "booked": booked, "refused": refused, "errors": errors,
        "attempts_per_second": round(clients * rounds / elapsed, 1),
        "bookings_per_second": round(booked / elapsed, 1),
        "deadlocks_resolved": _deadlocks() - deadlocks_before,
        "error_kinds": dict(kinds_of_error.most_common(5)),
    }  # fmt: skip


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _patients(count):
    from patients.models import Patient

    found = list(Patient.objects.filter(family_name="Kø").order_by("pk")[:count])
    for i in range(len(found), count):
        found.append(Patient.objects.create(
            cpr=f"02020{i:05d}", given_names=f"Kø{i}", family_name="Kø",
            birth_date=date(2002, 2, 2),
        ))  # fmt: skip
    return found


_CLINICIAN: dict = {}


def _clinician():
    if "user" not in _CLINICIAN:
        from django.contrib.auth import get_user_model

        from organisation.models import Department, Membership, StaffMember
        from patients.models import CareCourse, Patient

        user, _ = get_user_model().objects.get_or_create(username="bench-clinician")
        department = Department.objects.get(short_name="B000")
        staff, created = StaffMember.objects.get_or_create(
            user=user, defaults={"role": "laege", "active_department": department,
                                 "authorisation_id": "B9X9Z"},
        )  # fmt: skip
        if created:
            Membership.objects.create(
                staff=staff, department=department, valid_from=date(2020, 1, 1)
            )
        # The racing patients are referred to the department: a care relation.
        for patient in Patient.objects.filter(family_name="Kø"):
            if not CareCourse.objects.filter(patient=patient, department=department).exists():
                CareCourse.objects.create(
                    patient=patient, department=department, kind="referral", title="Henvisning",
                    started_at=timezone.now() - timedelta(days=1),
                )  # fmt: skip
        _CLINICIAN["user"] = user
    return _CLINICIAN["user"]


def _write(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "booking.json").write_text(json.dumps(result, indent=2) + "\n")
    p95, c, g = result["p95_ms"], result["contention"], result["generated_ahead"]
    lines = [
        "# Booking: free-slot search and booking under contention",
        "",
        f"{result['when']}, {result['machine']}; {result['resources']} resources, "
        f"{result['allocations']} allocations, {WEEKS} weeks of weekday rules; "
        f"{result['requests']} searches, each beside its baseline in the same loop.",
        "",
        "| | p95 | median |",
        "|---|---|---|",
        f"| Baseline: one indexed range query (a department's allocations, one week) | "
        f"{p95['baseline_range_query']} ms | {result['median_ms']['baseline_range_query']} ms |",
        f"| Free-slot search, one department, first 20 | {p95['search_one_department']} ms | "
        f"{result['median_ms']['search_one_department']} ms |",
        f"| Free-slot search, the region (50 departments), first 20 | {p95['search_region']} ms | "
        f"{result['median_ms']['search_region']} ms |",
        f"| Alternative, slots generated ahead: the same search as one query | "
        f"{p95['generated_ahead_search']} ms | "
        f"{result['median_ms']['generated_ahead_search']} ms |",
        "",
        "Search of one department ÷ baseline (p95): "
        f"**{result['ratio_one_department_to_baseline']}×** (goal ≤ 2×); goal ≤ 50 ms p95.",
        "",
        f"Contention: {c['clients']} clients × {c['rounds']} rounds, each client for one of the "
        f"first {c['free_times_per_round']} free slots of a day (at most {c['capacity']} "
        f"bookings in all at their starts): {c['booked']} booked, "
        f"{c['refused']} refused in words, {c['errors']} errors; "
        f"{c['attempts_per_second']} attempts/s, {c['bookings_per_second']} bookings/s, "
        f"{c['deadlocks_resolved']} deadlocks resolved by PostgreSQL.",
        "",
        f"Slots generated ahead (the alternative): {g['rows']} rows, {g['megabytes']} MB, "
        f"{g['write_all_seconds']} s to write all; {g['rewrite_one_department_seconds']} s to "
        "write one department's again (what each changed rule, absence or closed room costs).",
    ]
    (RESULTS / "booking.md").write_text("\n".join(lines) + "\n")
