"""Keeping a worker process alive: a fresh RQ worker after a Redis outage, until SIGTERM.

RQ's worker quits when Redis goes away; the process instead waits for Redis and starts
a new one. The job the lost worker was running (if any) is recovered like any abandoned job,
and the metrics it could not write are handed to the new one.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from workers.observability.tally import Pending
from workers.rq_seam.worker import release_dead_scheduler_locks

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # prctl(2)


def work_until_stopped(build_worker: Callable[[], Any], connection: Redis, logging_level: str) -> None:
    """Run workers until SIGTERM: RQ's worker quits when Redis goes away, so start a fresh one.

    The job the lost worker was running (if any) is recovered like any abandoned job; the
    metrics it could not write (observability/tally.py) go to the next worker, which writes them.
    """
    os.register_at_fork(after_in_child=die_with_parent)
    unwritten: Pending = {}
    while True:
        worker = _build_when_redis_answers(build_worker, connection)
        worker.meter.tally.put_back(unwritten)
        try:
            worker.work(with_scheduler=True, logging_level=logging_level)
        except (RedisConnectionError, RedisTimeoutError) as error:
            worker.log.warning("worker %s lost Redis: %s", worker.name, error)
            _stop_listening(worker)
        if worker.stop_signalled:
            return
        unwritten = worker.meter.tally.take()
        _wait_for_redis(connection, worker.log)
        _quietly(partial(release_dead_scheduler_locks, worker))


def _build_when_redis_answers(build_worker: Callable[[], Any], connection: Redis) -> Any:
    """A new RQ worker; building one talks to Redis (CLIENT SETNAME), which may be failing over right now."""
    while True:
        try:
            return build_worker()
        except (RedisConnectionError, RedisTimeoutError) as error:
            log.warning("cannot start a worker yet, Redis is unavailable: %s", error)
            _wait_for_redis(connection, log)


def die_with_parent() -> None:
    """In a forked child (RQ's scheduler process): get SIGTERM when the worker dies, even by kill -9.

    Otherwise the orphan keeps RQ's scheduler lock and replacement workers never start their own.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the orphan lives on, as with plain RQ
        pass


def _stop_listening(worker: Any) -> None:
    """Stop the pub/sub thread of a worker that lost Redis.

    rq's `unsubscribe` sends UNSUBSCRIBE before it stops its thread; with Redis
    gone that raises, so the thread lived on, reconnected when Redis came back
    and kept the dead worker's channel: one more thread and channel per outage.
    """
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None:
        thread.stop()  # its loop ends at the next message, error or timeout
    pubsub = getattr(worker, "pubsub", None)
    if pubsub is not None:
        _quietly(pubsub.close)  # closes the socket, so that comes now


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - best-effort cleanup of a worker whose Redis is gone
        pass


def _wait_for_redis(connection: Redis, log: Any) -> None:
    delay = 0.5
    while True:
        try:
            connection.ping()
            return
        except (RedisConnectionError, RedisTimeoutError):
            log.warning("waiting for Redis; next try in %.1f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
