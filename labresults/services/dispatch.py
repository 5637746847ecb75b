"""Handing work to Celery after the commit; the sweepers pick up what a broker outage loses."""

import logging

from celery import current_app
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


PROCESS_MESSAGE = "labresults.process_inbound_message"
# A group of messages stored together; the task files them (and others waiting) in one batch.
PROCESS_MESSAGES = "labresults.process_inbound_messages"


def dispatch_on_commit(task_name: str, object_id: int | list[int]) -> None:
    """Once the caller's transaction commits, hand the row (or rows) to a worker by task name.

    A broker that is down (or dispatch switched off) loses nothing: the row stays in its waiting
    state and the sweeper hands it over later.
    """
    transaction.on_commit(lambda: dispatch_now(task_name, object_id))


def messages_dispatch(message_ids: list[int]) -> None:
    """Hand stored messages to workers, a batch (SUNDHED_LAB_BATCH_SIZE) per task."""
    size = settings.SUNDHED_LAB_BATCH_SIZE
    for start in range(0, len(message_ids), size):
        dispatch_now(PROCESS_MESSAGES, message_ids[start : start + size])


def dispatch_now(task_name: str, object_id: int | list[int]) -> None:
    """Hand committed rows to a worker at once (the caller committed them)."""
    if not settings.SUNDHED_LAB_ENQUEUE:
        return  # the sweeper (or a person) processes it later
    try:
        current_app.send_task(task_name, args=[object_id])
    except Exception:  # noqa: BLE001 - the broker may be down; the sweeper picks the row up
        logger.warning("could not hand %s %s to a worker", task_name, object_id)
