"""A worker that lost Redis frees its dead RQ scheduler child's locks, and only a dead child's."""

from __future__ import annotations

import multiprocessing
import time

from redis import Redis
from rq.scheduler import RQScheduler

from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker, release_dead_scheduler_locks

LOCK = "rq:scheduler-lock:default"


def _worker_with_locks(redis: Redis) -> ServiceWorker:
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    worker.scheduler = RQScheduler(worker.queues, connection=redis)
    worker.scheduler.acquire_locks()
    assert redis.exists(LOCK)
    return worker


def test_the_locks_of_a_dead_child_are_released(redis: Redis) -> None:
    worker = _worker_with_locks(redis)
    release_dead_scheduler_locks(worker)
    assert not redis.exists(LOCK)


def test_a_living_child_keeps_its_locks(redis: Redis) -> None:
    worker = _worker_with_locks(redis)
    child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
    child.start()
    try:
        worker.scheduler._process = child
        release_dead_scheduler_locks(worker)
        assert redis.exists(LOCK)
    finally:
        child.terminate()
        child.join()


def test_another_schedulers_lock_is_left_alone(redis: Redis) -> None:
    worker = _worker_with_locks(redis)
    redis.set(LOCK, "someone-else")
    release_dead_scheduler_locks(worker)
    assert redis.get(LOCK) == b"someone-else"
