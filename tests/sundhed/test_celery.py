"""A task goes through the real Redis broker to a real worker process and is done."""

import time
import uuid

import pytest
from django.core.cache import cache

from common.tasks import ping
from sundhed.celery import app


@pytest.mark.worker
def test_a_task_travels_through_redis_to_a_real_worker(transactional_db, celery_worker):
    token = uuid.uuid4().hex
    ping.delay(token)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and cache.get(f"ping:{token}") is None:
        time.sleep(0.1)
    assert cache.get(f"ping:{token}") == "pong", celery_worker.output()


def test_celery_is_configured_for_reliability():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
