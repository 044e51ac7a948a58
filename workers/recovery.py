"""At-least-once delivery: no dequeue window loses a job, and a dead worker's job runs again.

Plain RQ pops with BLPOP when a worker listens on several queues, so a crash
between the pop and the started-registry write loses the job; and a SimpleWorker
sends no heartbeat while a job runs, so a killed worker's job is noticed only
after `timeout + 60 s` plus a 10-minute maintenance pass. Here:
- every dequeue moves the job id atomically into its queue's intermediate list
  (one Lua call over the queues in priority order), which rq's maintenance
  already knows how to recover, and our threshold for "stuck" is seconds;
- a heartbeat thread keeps the running job's started-registry entry alive for
  HEARTBEAT_TTL seconds at a time, so an entry that stops being renewed means a
  dead worker, found by the next maintenance pass (every MAINTENANCE_INTERVAL)
  and retried (counting as an attempt) or failed with the reason.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import DequeueTimeout
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.queue import Queue
from rq.utils import as_text, now

HEARTBEAT_EVERY = 5.0
HEARTBEAT_TTL = 15
MAINTENANCE_INTERVAL = 10
WORKER_TTL = 25  # an idle worker heartbeats (and maybe runs maintenance) every WORKER_TTL - 15 s
STUCK_AFTER = timedelta(seconds=5)
MAINTENANCE_LOCK_TTL = 60  # rq's is 899 s; see ReliableQueue.acquire_maintenance_lock
IDLE_POLL = 0.25  # longest a job on a lower-priority queue waits while a worker is idle
PR_SET_PDEATHSIG = 1  # prctl(2)

PRIORITY_MOVE = """
for i, source in ipairs(KEYS) do
  local id = redis.call('LMOVE', source, source .. ':intermediate', 'LEFT', 'RIGHT')
  if id then return {source, id} end
end
return nil
"""


class FastIntermediateQueue(IntermediateQueue):
    """rq's intermediate list, with "stuck" meaning seconds rather than a minute."""

    def should_be_cleaned_up(self, job_id: str) -> bool:
        first_seen = self.get_first_seen(job_id)
        return first_seen is not None and now() - first_seen > STUCK_AFTER


class ReliableQueue(Queue):
    """A queue whose dequeue never holds a job id only in a client's memory."""

    @property
    def intermediate_queue(self) -> IntermediateQueue:
        return FastIntermediateQueue(self.key, connection=self.connection)

    def acquire_maintenance_lock(self) -> bool:
        """rq's per-queue maintenance lock, expiring after a minute instead of 15.

        A worker killed, or losing Redis, in the middle of a pass never releases
        it; with rq's TTL no other worker would clean that queue, and so recover
        its abandoned jobs, for 15 minutes.
        """
        return bool(self.connection.set(self.registry_cleaning_key, 1, nx=True, ex=MAINTENANCE_LOCK_TTL))

    @classmethod
    def dequeue_any(
        cls, queues: Iterable[Queue], timeout: int | None, connection: Redis, **kwargs: Any
    ) -> tuple[Job, Queue] | None:
        """Move the first job of the highest-priority non-empty queue, atomically; poll while idle."""
        queue_keys = [queue.key for queue in queues]
        move = connection.__dict__.get("_rqs_priority_move") or connection.register_script(PRIORITY_MOVE)
        connection.__dict__["_rqs_priority_move"] = move
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            moved = move(keys=queue_keys)
            if moved:
                queue_key, job_id = (as_text(part) for part in moved)
                found = cls._fetch_dequeued_job(connection, queue_key, job_id, **kwargs)
                if found is not None:
                    return found  # type: ignore[no-any-return]
                continue
            if deadline is None:
                return None
            if time.monotonic() >= deadline:
                raise DequeueTimeout(timeout, queue_keys)
            # Block on the highest-priority queue for a moment; the others are polled.
            job_id = connection.blmove(queue_keys[0], f"{queue_keys[0]}:intermediate", IDLE_POLL)
            if job_id is not None:
                found = cls._fetch_dequeued_job(connection, queue_keys[0], as_text(job_id), **kwargs)
                if found is not None:
                    return found  # type: ignore[no-any-return]


class JobHeartbeat:
    """One thread per worker that renews the running job's started-registry entry.

    Long-lived rather than a thread per job: starting a thread costs more than a no-op job.
    """

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.current: tuple[Job, Any] | None = None
        self._thread: threading.Thread | None = None

    def running(self, job: Job, execution: Any) -> JobHeartbeat:
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
            self._thread.start()
        self.current = (job, execution)
        return self

    def __enter__(self) -> JobHeartbeat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.current = None

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_EVERY)
            current = self.current
            if current is None:
                continue
            try:
                self.worker.maintain_heartbeats(*current)
            except Exception:  # noqa: BLE001 - Redis away: the next beat retries; the job keeps running
                self.worker.log.warning("heartbeat for job %s failed", current[0].id, exc_info=True)


class RecoveryMixin:
    """Worker behaviour for at-least-once delivery; mix in before an rq worker class."""

    queue_class = ReliableQueue

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        kwargs.setdefault("queue_class", ReliableQueue)
        super().__init__(*args, **kwargs)
        self._job_heartbeat = JobHeartbeat(self)
        self.stop_signalled = False

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop_signalled = True  # tells work_until_stopped not to start another worker
        super().request_stop(signum, frame)  # type: ignore[misc]

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # Every dequeue goes through an intermediate list here, not only single-queue ones.
        super().prepare_job_execution(job, remove_from_intermediate_queue=True)  # type: ignore[misc]

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        with self._job_heartbeat.running(job, execution):
            return super().perform_job(job, queue, execution)  # type: ignore[misc, no-any-return]


def work_until_stopped(build_worker: Callable[[], Any], connection: Redis, logging_level: str) -> None:
    """Run workers until SIGTERM: RQ's worker quits when Redis goes away, so start a fresh one.

    The job the lost worker was running (if any) is recovered like any abandoned job.
    """
    os.register_at_fork(after_in_child=die_with_parent)
    while True:
        worker = build_worker()
        try:
            worker.work(with_scheduler=True, logging_level=logging_level)
        except (RedisConnectionError, RedisTimeoutError) as error:
            worker.log.warning("worker %s lost Redis: %s", worker.name, error)
            _stop_listening(worker)
        if worker.stop_signalled:
            return
        _wait_for_redis(connection, worker.log)


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
