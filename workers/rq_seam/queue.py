"""Queues built one way (JSON, our job class) and a dequeue that never loses a job.

Plain RQ pops with BLPOP when a worker listens on several queues, so a crash between
the pop and the started-registry write loses the job. Here every dequeue moves the job
id atomically into its queue's intermediate list (one Lua call over the queues in
priority order), which rq's maintenance already knows how to recover, and "stuck"
there means seconds, not a minute.
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from redis import Redis
from rq import Queue
from rq.exceptions import DequeueTimeout
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.utils import as_text, now

from workers.core.errors import InvalidJobError
from workers.core.keys import QUEUE_NAME_PATTERN, check_queue_name
from workers.rq_seam.job import SERIALIZER, TaskJob

STUCK_AFTER = timedelta(seconds=5)
MAINTENANCE_LOCK_TTL = 60  # rq's is 899 s; see ReliableQueue.acquire_maintenance_lock
IDLE_POLL = 0.25  # longest a job on a lower-priority queue waits while a worker is idle


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
        move = connection.register_script(PRIORITY_MOVE)  # a local object: EVALSHA, loaded once per server
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


# Queues kept per client, released with it: building a Queue resolves its serializer the slow way.
_QUEUES: weakref.WeakKeyDictionary[Redis, dict[str, Queue]] = weakref.WeakKeyDictionary()


def get_queue(name: str, connection: Redis) -> Queue:
    """A queue by name; the name is checked so no odd Redis key is ever built from input."""
    cache = _QUEUES.setdefault(connection, {})
    queue = cache.get(name)
    if queue is None:
        try:
            check_queue_name(name)
        except ValueError as error:
            raise InvalidJobError(str(error)) from None
        queue = cache[name] = ReliableQueue(name, connection=connection, serializer=SERIALIZER, job_class=TaskJob)
    return queue


def known_queues(connection: Redis, configured: list[str]) -> list[Queue]:
    """The configured queues first, in priority order, then any other queue Redis knows.

    A name stored before names were restricted (`default:intermediate`) is left out, so no
    listing fails on it.
    """
    names = list(configured)
    for queue in Queue.all(connection=connection, serializer=SERIALIZER, job_class=TaskJob):
        if queue.name not in names and re.match(QUEUE_NAME_PATTERN, queue.name):
            names.append(queue.name)
    return [get_queue(name, connection) for name in names]
