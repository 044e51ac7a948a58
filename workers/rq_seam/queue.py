"""Queues built one way (JSON, our job class), whose intermediate lists are recovered in seconds.

Plain RQ pops with BLPOP when a worker listens on several queues, so a crash between
the pop and the started-registry write loses the job. Here a dequeue takes and starts a
batch in one atomic step (workers/rq_seam/start_step.py), and whatever waits between the
two (an id BLMOVE took, a limited task's job awaiting admission) sits in its queue's
intermediate list, which rq's maintenance already knows how to recover, and "stuck"
there means seconds, not a minute.
"""

from __future__ import annotations

import re
import weakref
from datetime import timedelta

from redis import Redis
from rq import Queue
from rq.intermediate_queue import IntermediateQueue
from rq.utils import now

from workers.core.errors import InvalidJobError
from workers.core.keys import QUEUE_NAME_PATTERN, check_queue_name
from workers.rq_seam.job import SERIALIZER, TaskJob

STUCK_AFTER = timedelta(seconds=5)
MAINTENANCE_LOCK_TTL = 60  # rq's is 899 s; see ReliableQueue.acquire_maintenance_lock
IDLE_POLL = 0.25  # longest a job on a lower-priority queue waits while a worker is idle


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
