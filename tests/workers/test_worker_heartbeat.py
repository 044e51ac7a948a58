"""The worker's own heartbeat (its RQ worker hash) at most every few seconds, the job beat's always."""

from __future__ import annotations

import inspect

from redis import Redis
from rq.suspension import is_suspended

from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker


def beat(redis: Redis, worker: ServiceWorker, timeout: int | None = None) -> bytes | None:
    redis.hdel(worker.key, "last_heartbeat")
    with redis.pipeline() as pipeline:
        worker.heartbeat(timeout, pipeline=pipeline)
        pipeline.execute()
    return redis.hget(worker.key, "last_heartbeat")  # type: ignore[return-value]


def test_a_beat_soon_after_the_last_is_skipped_with_or_without_a_pipeline(redis: Redis) -> None:
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    assert beat(redis, worker) is not None  # the first one goes
    assert beat(redis, worker) is None  # the batch's and the suspension check's, moments later
    redis.hdel(worker.key, "last_heartbeat")
    worker.heartbeat()
    assert redis.hget(worker.key, "last_heartbeat") is None


def test_the_job_beat_with_its_timeout_always_goes(redis: Redis) -> None:
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    beat(redis, worker)
    assert beat(redis, worker, timeout=worker.job_monitoring_interval + 60) is not None
    assert redis.ttl(worker.key) > worker.job_monitoring_interval


def test_rqs_suspension_check_sends_the_workers_heartbeat_with_no_timeout() -> None:
    """What the rate limit above applies to: RQ's check before each dequeue."""
    assert "worker.heartbeat(pipeline=pipeline)" in inspect.getsource(is_suspended)
