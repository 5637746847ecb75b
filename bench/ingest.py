"""Ingest: from the MLLP socket to results visible through the results tab's query.

Real processes: the MLLP receiver, two Celery workers' worth of processing (one worker,
concurrency 2, on the 2-core machine), Redis and PostgreSQL from the bench stack. Measured:
1. throughput: N messages of ten results each, sent as fast as eight connections allow, until
   every result is visible; messages/s and results/s;
2. the same rows written by a raw COPY into the same tables in the same run (rolled back), and
   the ratio between the two;
3. latency at half the measured rate: p50/p95 of receipt (row stored) to processed (visible);
4. the worker's peak resident memory.
Results go to bench/results/ingest.{json,md}.
"""

import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from bench.harness import (
    SENDER,
    Processes,
    cpu_by_kind,
    cpu_seconds,
    ingest_through_crashes,
    machine_cpu_seconds,
    oru,
    peak_memory_kib,
    processes_cpu,
    send_all,
    sender_register,
)

RESULTS = Path(__file__).resolve().parent / "results"
ANALYSES = 10


def _visible(run: str) -> int:
    from labresults.models import LabResult

    return LabResult.objects.filter(
        report__sender=SENDER, report__filler_order_number__startswith=run
    ).count()


def _wait_visible(run: str, expected: int, timeout: float, *, after_id: int) -> float:
    """The moment every result of the run is visible. A message is processed in the same
    transaction that makes its results visible, so the poll counts processed messages by key
    (cheap: it must not load the database it measures); the results are counted once at the
    end."""
    from labresults.models import InboundMessage

    waiting = InboundMessage.objects.filter(pk__gt=after_id, sender=SENDER)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if waiting.filter(status="processed").count() >= expected // ANALYSES:
            done = time.monotonic()
            if _visible(run) >= expected:
                return done
        time.sleep(0.1)
    raise TimeoutError(f"only {_visible(run)} of {expected} results visible after {timeout} s")


def _last_message_id() -> int:
    from labresults.models import InboundMessage

    return InboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _copy_baseline(cprs_to_ids: dict, count: int, *, triggers: bool) -> float:
    """COPY `count` reports and ten results each into the same tables; time it; roll back.

    Without triggers (session_replication_role = replica) it is the raw speed of the tables;
    with them, every row also writes its history row, as the application's inserts do.
    """
    patient_ids = list(cprs_to_ids.values())
    now = timezone.now().isoformat()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if not triggers:
                cursor.execute("SET LOCAL session_replication_role = replica")
            started = time.perf_counter()
            with cursor.copy(
                "COPY labresults_labreport (public_id, created_at, updated_at, patient_id, "
                "sender, filler_order_number, placer_order_number, service_code, service_name, "
                "status, observed_at, reported_at, notes, section, study_uid) FROM STDIN"
            ) as copy:
                for i in range(count):
                    copy.write_row(
                        (
                            str(uuid.uuid4()),
                            now,
                            now,
                            patient_ids[i % len(patient_ids)],
                            "COPY",
                            f"C{i}",
                            "",
                            "PAKKE",
                            "Benchmark",
                            "final",
                            now,
                            now,
                            "",
                            "",
                            "",
                        )
                    )
            cursor.execute("SELECT id FROM labresults_labreport WHERE sender = 'COPY' ORDER BY id")
            report_ids = [row[0] for row in cursor.fetchall()]
            with cursor.copy(
                "COPY labresults_labresult (public_id, created_at, updated_at, report_id, "
                "patient_id, code, name, coding_system, value_numeric, value_text, unit, "
                "reference_range, flag, flag_computed, is_critical, status, observed_at, "
                "arrived_at) FROM STDIN"
            ) as copy:
                for i, report_id in enumerate(report_ids):
                    patient = patient_ids[i % len(patient_ids)]
                    for code in range(ANALYSES):
                        copy.write_row(
                            (
                                str(uuid.uuid4()),
                                now,
                                now,
                                report_id,
                                patient,
                                f"NPU{code:05d}",
                                "Analyse",
                                "NPU",
                                "140",
                                "140",
                                "mmol/L",
                                "",
                                "",
                                False,
                                False,
                                "final",
                                now,
                                now,  # the report's created_at
                            )
                        )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def _reliability(cpr_list: list[str], run_id: str, log_dir: Path, count: int) -> dict:
    """The reliability test at ten times its size, as fast as the receiver takes messages: the
    worker SIGKILLed and Redis killed and started empty while `count` messages arrive; then
    every message must be processed exactly once (one history insert per result, no update)."""
    from labresults.models import InboundMessage, LabResult

    env = dict(
        os.environ,
        SUNDHED_OUTBOX_DISPATCH="true",
        SUNDHED_LAB_SWEEP_AFTER="3",
        SUNDHED_OUTBOX_SWEEP_INTERVAL="1",
    )
    after_id = _last_message_id()
    prefix = f"{run_id}X"
    messages = [
        oru(cpr_list[i % len(cpr_list)], control_id=f"{run_id}-X{i}", filler=f"{prefix}{i}")
        for i in range(count)
    ]
    processes = Processes(env, log_dir / "reliability")
    started = time.monotonic()
    try:
        sent, events = ingest_through_crashes(processes, messages, rate=0, connections=8)
        stored = InboundMessage.objects.filter(pk__gt=after_id, sender=SENDER)
        deadline = time.monotonic() + 900
        while stored.exclude(status="processed").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        processes.stop_all()
    results = LabResult.objects.filter(
        report__sender=SENDER, report__filler_order_number__startswith=prefix
    )
    result_events = LabResult.pgh_event_model.objects  # type: ignore[attr-defined]  # pghistory's
    history = result_events.filter(pgh_obj_id__in=results.values("id"))
    outcome = {
        "messages": count,
        "events": events,
        "acks": sent.acks,
        "seconds": round(elapsed, 1),
        "messages_per_s": round(count / elapsed, 1),
        "stored": stored.count(),
        "processed": stored.filter(status="processed").count(),
        "retried": stored.filter(attempts__gt=1).count(),
        "results": results.count(),
        "distinct_keys": results.values("report__filler_order_number", "code").distinct().count(),
        "history_inserts": history.filter(pgh_label="insert").count(),
        "history_updates": history.filter(pgh_label="update").count(),
    }
    expected = count * ANALYSES
    outcome["exactly_once"] = (
        outcome["stored"] == outcome["processed"] == count
        and outcome["results"] == outcome["distinct_keys"] == expected
        and outcome["history_inserts"] == expected
        and outcome["history_updates"] == 0
    )
    return outcome


def run(
    *, requests: int = 0, messages: int = 5000, concurrency: int = 2, reliability: int = 20_000
) -> dict:
    from labresults.models import InboundMessage
    from patients.models import Patient
    from sundhed.demo.seed import seed_demo

    seed_demo()
    cprs = dict(Patient.objects.filter(is_replacement_cpr=False).values_list("cpr", "id")[:2000])
    cpr_list = list(cprs)
    run_id = f"B{int(time.time())}"
    log_dir = Path(tempfile.mkdtemp(prefix="sundhed-bench-ingest-"))
    env = dict(os.environ, SUNDHED_OUTBOX_DISPATCH="true")
    sender_register()
    processes = Processes(env, log_dir)
    report: dict = {
        "messages": messages,
        "results_per_message": ANALYSES,
        "worker_concurrency": concurrency,
    }
    try:
        receiver, port = processes.receiver()
        worker = processes.worker("bench-worker", concurrency=concurrency)
        time.sleep(3)  # the worker connects to the broker
        batch = [
            oru(cpr_list[i % len(cpr_list)], control_id=f"{run_id}-T{i}", filler=f"{run_id}T{i}")
            for i in range(messages)
        ]
        # Every run starts from a vacuumed database: autovacuum of the earlier runs' rows
        # must not land in the middle of this one's measurement.
        with connection.cursor() as cursor:
            for table in (
                "labresults_inboundmessage",
                "labresults_labreport",
                "labresults_labresult",
            ):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        cpu_before = {
            "machine": machine_cpu_seconds(),
            "receiver": cpu_seconds(receiver.pid),
            "worker": cpu_seconds(worker.pid),
            "load generator and bench": cpu_seconds(os.getpid(), children=False),
        }
        after_id = _last_message_id()
        snapshot = processes_cpu()
        started = time.monotonic()
        sent = send_all(port, batch, connections=8)
        acked = time.monotonic()
        done = _wait_visible(run_id + "T", messages * ANALYSES, timeout=1800, after_id=after_id)
        elapsed = done - started
        cpu = {
            "receiver": cpu_seconds(receiver.pid),
            "worker": cpu_seconds(worker.pid),
            "load generator and bench": cpu_seconds(os.getpid(), children=False),
        }
        cpu = {name: round(value - cpu_before[name], 2) for name, value in cpu.items()}
        busy = machine_cpu_seconds() - cpu_before["machine"]
        cpu["PostgreSQL, Redis and the rest"] = round(busy - sum(cpu.values()), 2)
        cpu["machine busy"] = round(busy, 2)
        cpu["machine capacity"] = round(elapsed * (os.cpu_count() or 1), 2)
        report["cpu_by_process_kind"] = cpu_by_kind(snapshot, processes_cpu())
        report["cpu_seconds"] = cpu
        report["throughput"] = {
            "seconds": round(elapsed, 2),
            "receive_seconds": round(acked - started, 2),
            "acks": sent.acks,
            "messages_per_s": round(messages / elapsed, 1),
            "results_per_s": round(messages * ANALYSES / elapsed, 1),
        }
        raw = _copy_baseline(cprs, messages, triggers=False)
        with_history = _copy_baseline(cprs, messages, triggers=True)
        rows = messages * (ANALYSES + 1)
        report["copy"] = {
            "seconds": round(raw, 3),
            "rows_per_s": round(rows / raw, 1),
            "ingest_to_copy_ratio": round(elapsed / raw, 1),
            "with_history_seconds": round(with_history, 3),
            "with_history_ratio": round(elapsed / with_history, 2),
        }
        # Latency at half the measured rate, for about twenty seconds.
        rate = max(1.0, min(500.0, messages / elapsed / 2))
        count = int(rate * 20)
        paced = [
            oru(cpr_list[i % len(cpr_list)], control_id=f"{run_id}-L{i}", filler=f"{run_id}L{i}")
            for i in range(count)
        ]
        after_id = _last_message_id()
        send_all(port, paced, connections=4, rate=rate)
        _wait_visible(run_id + "L", count * ANALYSES, timeout=600, after_id=after_id)
        delays = sorted(
            (m.finished_at - m.received_at).total_seconds()
            for m in InboundMessage.objects.filter(
                sender=SENDER, control_id__startswith=f"{run_id}-L", status="processed"
            ).only("received_at", "finished_at")
            if m.finished_at is not None
        )
        report["latency"] = {
            "rate_per_s": round(rate, 1),
            "messages": len(delays),
            "p50_s": round(statistics.median(delays), 3),
            "p95_s": round(delays[int(len(delays) * 0.95) - 1], 3),
            "max_s": round(delays[-1], 3),
        }
        report["worker_peak_rss_mib"] = round(peak_memory_kib(worker.pid) / 1024, 1)
        report["receiver_peak_rss_mib"] = round(peak_memory_kib(receiver.pid) / 1024, 1)
    finally:
        processes.stop_all()
    if reliability:
        report["reliability"] = _reliability(cpr_list, run_id, log_dir, reliability)
    report |= {
        "when": timezone.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, CPython {platform.python_version()}, "
        f"{os.cpu_count()} cores",
        "goal": "1,000 messages/s (10,000 results/s), at least 500; ingest <= 25x the raw COPY; "
        "p95 receipt-to-visible <= 2 s at half rate; exactly once through crashes",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "ingest.md").write_text(_markdown(report))
    print(_markdown(report))
    return report


def _markdown(r: dict) -> str:
    t, c, lat = r["throughput"], r["copy"], r["latency"]
    return "\n".join(
        [
            "# Ingest benchmark",
            "",
            f"{r['when']} on {r['machine']}; MLLP receiver, one Celery worker (concurrency "
            f"{r['worker_concurrency']}),",
            "PostgreSQL and Redis of the bench stack, all on the same machine.",
            "",
            f"- {r['messages']} messages of {r['results_per_message']} results, 8 connections: "
            f"**{t['messages_per_s']} messages/s, {t['results_per_s']} results/s** "
            f"({t['seconds']} s to all visible; the receiver had acknowledged all after "
            f"{t['receive_seconds']} s; ACKs {t['acks']}).",
            f"- Raw COPY of the same rows into the same tables (triggers off): {c['seconds']} s "
            f"({c['rows_per_s']} rows/s); ingest takes **{c['ingest_to_copy_ratio']}×** as long. "
            f"The same COPY with the tables' history triggers on, in one statement: "
            f"{c['with_history_seconds']} s (ingest/COPY {c['with_history_ratio']}).",
            f"- At {lat['rate_per_s']} messages/s (half the rate): receipt to visible p50 "
            f"{lat['p50_s']} s, **p95 {lat['p95_s']} s**, max {lat['max_s']} s "
            f"({lat['messages']} messages).",
            f"- Peak resident memory: worker {r['worker_peak_rss_mib']} MiB (main process and "
            f"pool), receiver {r['receiver_peak_rss_mib']} MiB.",
            "- CPU seconds during the throughput run: "
            + ", ".join(f"{name} {value}" for name, value in r["cpu_seconds"].items())
            + ".",
            "- The same by kind of process: "
            + ", ".join(f"{k} {v}" for k, v in r["cpu_by_process_kind"].items())
            + ".",
            *_reliability_lines(r.get("reliability")),
            "",
            "| bar | measured | met |",
            "|---|---|---|",
            *_bar_lines(r),
            "",
            f"Goal: {r['goal']}.",
            "",
        ]
    )


def _reliability_lines(rel: dict | None) -> list[str]:
    if not rel:
        return []
    return [
        f"- Reliability, {rel['messages']} messages as fast as the receiver takes them, "
        f"{'; '.join(rel['events'])}: {rel['messages_per_s']} messages/s to all processed "
        f"({rel['seconds']} s); ACKs {rel['acks']}; stored {rel['stored']}, processed "
        f"{rel['processed']} ({rel['retried']} after a retry); results {rel['results']} "
        f"({rel['distinct_keys']} distinct keys), history inserts {rel['history_inserts']}, "
        f"updates {rel['history_updates']}: **"
        + ("exactly once" if rel["exactly_once"] else "NOT exactly once")
        + "**.",
    ]


def _bar_lines(r: dict) -> list[str]:
    t, c, lat = r["throughput"], r["copy"], r["latency"]
    rel = r.get("reliability")
    bars = [
        (
            "at least 500 messages/s end to end",
            f"{t['messages_per_s']}",
            t["messages_per_s"] >= 500,
        ),
        (
            "ingest at most 25× the raw COPY",
            f"{c['ingest_to_copy_ratio']}×",
            c["ingest_to_copy_ratio"] <= 25,
        ),
        ("p95 receipt to visible at half rate at most 2 s", f"{lat['p95_s']} s", lat["p95_s"] <= 2),
        (
            "worker memory bounded (peak)",
            f"{r['worker_peak_rss_mib']} MiB",
            r["worker_peak_rss_mib"] < 512,
        ),
    ]
    if rel:
        bars.append(
            ("reliability exactly once", f"{rel['messages']} messages", rel["exactly_once"])
        )
    return [f"| {name} | {value} | {'yes' if met else 'no'} |" for name, value, met in bars]
