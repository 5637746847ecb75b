"""The Celery app and the one beat schedule of the project."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from common.context import current_request_id, request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sundhed.settings")

app = Celery("sundhed")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes every database connection before and after every task, so each
# task opened a new PostgreSQL session (a backend process forked and set up: more CPU than a
# batch of results costs). Connections are kept instead, and `close_old_connections` before
# each task drops those past CONN_MAX_AGE or broken (with CONN_HEALTH_CHECKS), as Django does
# for each request. The fixup reads this key as it is written.
app.conf["CELERY_DB_REUSE_MAX"] = 1_000_000_000
app.autodiscover_tasks()

# Every periodic job of every app, in one place. Apps add entries here.
app.conf.beat_schedule = {
    # Laboratories that offer FHIR are asked for new reports.
    "labresults-pull-fhir": {
        "task": "labresults.pull_fhir_sources",
        "schedule": 20.0,
    },
    # Every kind of durable work (outbox/kinds.py): stale claims taken back, what is due and
    # waiting handed to a worker. The same environment variable as the setting.
    "outbox-sweep": {
        "task": "outbox.sweep",
        "schedule": float(os.environ.get("SUNDHED_OUTBOX_SWEEP_INTERVAL", "30")),
    },
    # Outside systems whose breaker failed asked whether they answer again (outbox/breaker.py):
    # the first write after FMK returns leaves within seconds, not after its backoff.
    "outbox-probe": {
        "task": "outbox.probe",
        "schedule": float(os.environ.get("SUNDHED_OUTBOX_PROBE_INTERVAL", "5")),
    },
    # The SMS gateway asked what it delivered.
    "outbox-poll-delivery": {"task": "outbox.poll_delivery", "schedule": 120.0},
    # Reminders of coming appointments planned (sent by the outbox when due).
    "booking-plan-reminders": {"task": "booking.plan_reminders", "schedule": 300.0},
    # The access log's monthly partitions, three months ahead (audit/tasks.py).
    "audit-add-partitions": {"task": "audit.add_partitions", "schedule": 6 * 3600.0},
    # The results' yearly partitions, next year's ready (labresults/tasks.py).
    "labresults-add-partitions": {"task": "labresults.add_partitions", "schedule": 6 * 3600.0},
    # Offers of freed times nobody answered in time go to the next on the waiting list.
    "booking-expire-offers": {"task": "booking.expire_offers", "schedule": 60.0},
    # Admitted patients' FMK cards read again when older than SUNDHED_FMK_ADMITTED_REFRESH.
    "medicinkort-refresh-cards": {"task": "medicinkort.refresh_cards", "schedule": 300.0},
    # Critical values nobody acknowledged climb one escalation level at a time.
    "labresults-escalate-critical": {
        "task": "labresults.escalate_critical_results",
        "schedule": 60.0,
    },
}


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    """Carry the request id of the web request into the task, for logs and audit."""
    if headers is not None:
        headers.setdefault("sundhed_request_id", current_request_id())


_tokens: dict = {}


@task_prerun.connect
def _reuse_database_connections(**kwargs):
    from django.db import close_old_connections

    close_old_connections()


@task_prerun.connect
def _enter_request_id(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, "sundhed_request_id", None) or f"task-{task_id[:8]}"
    _tokens[task_id] = request_id_var.set(request_id)


@task_postrun.connect
def _leave_request_id(task_id=None, **kwargs):
    token = _tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
