"""Queues built one way (JSON, our job class) and a dequeue that never loses a job.

Plain RQ pops with BLPOP when a worker listens on several queues, so a crash between
the pop and the started-registry write loses the job. Here every dequeue moves the job
id atomically into its queue's intermediate list (one Lua call over the queues in
priority order, for a whole batch of ids, returning their job data too), which rq's
maintenance already knows how to recover, and "stuck" there means seconds, not a minute.
"""

from __future__ import annotations

import re
import weakref
from datetime import timedelta
from typing import Any

from redis import Redis
from rq import Queue
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.utils import as_text, now

from workers.core.errors import InvalidJobError
from workers.core.keys import QUEUE_NAME_PATTERN, check_queue_name
from workers.rq_seam.job import SERIALIZER, TaskJob

STUCK_AFTER = timedelta(seconds=5)
MAINTENANCE_LOCK_TTL = 60  # rq's is 899 s; see ReliableQueue.acquire_maintenance_lock
IDLE_POLL = 0.25  # longest a job on a lower-priority queue waits while a worker is idle


# Up to ARGV[1] ids, queues in priority order, each moved atomically into its queue's
# intermediate list, returned with its job hash (ARGV[2] is rq's job key prefix):
# {queue index, id, hash, queue index, id, hash, ...}. One round trip for a batch.
PRIORITY_TAKE = """
local taken = {}
local wanted = tonumber(ARGV[1])
local count = 0
for i, source in ipairs(KEYS) do
  while count < wanted do
    local id = redis.call('LMOVE', source, source .. ':intermediate', 'LEFT', 'RIGHT')
    if not id then break end
    count = count + 1
    taken[#taken + 1] = i
    taken[#taken + 1] = id
    taken[#taken + 1] = redis.call('HGETALL', ARGV[2] .. id)
  end
  if count >= wanted then break end
end
return taken
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
    def take(
        cls, queues: list[Queue], count: int, connection: Redis, job_class: type[Job], block: float | None
    ) -> list[tuple[Job, Queue]]:
        """Up to `count` jobs, highest-priority queue first, each moved into its intermediate list.

        One round trip for the batch (ids and job data together). With nothing queued and
        `block` set, waits up to `block` seconds on the highest-priority queue for one job.
        A job id whose hash is gone is dropped from the intermediate list.
        """
        take = connection.register_script(PRIORITY_TAKE)
        flat = take(keys=[queue.key for queue in queues], args=[count, job_class.redis_job_namespace_prefix])
        triples = [(queues[int(flat[i]) - 1], as_text(flat[i + 1]), flat[i + 2]) for i in range(0, len(flat), 3)]
        if not triples and block:
            triples = cls._block_for_one(queues[0], connection, block)
        return [job for job in (_restore(connection, job_class, *triple) for triple in triples) if job is not None]

    @staticmethod
    def _block_for_one(queue: Queue, connection: Redis, seconds: float) -> list[tuple[Queue, str, Any]]:
        job_id = connection.blmove(queue.key, queue.intermediate_queue_key, seconds)
        if job_id is None:
            return []
        return [(queue, as_text(job_id), connection.hgetall(Job.key_for(as_text(job_id))))]


def _restore(
    connection: Redis, job_class: type[Job], queue: Queue, job_id: str, fields: Any
) -> tuple[Job, Queue] | None:
    """The job from its hash as read by the take step, as `Job.fetch_many` builds it; None if it is gone."""
    data = _pairs(fields)
    if not data:
        connection.lrem(queue.intermediate_queue_key, 1, job_id)
        return None
    job = job_class(job_id, connection=connection)
    job.restore(data)
    return job, queue


def _pairs(fields: Any) -> dict[bytes, bytes]:
    """HGETALL's answer as a dict, whether it came from a script (a flat list) or a command (a dict)."""
    if isinstance(fields, dict):
        return fields
    return dict(zip(fields[::2], fields[1::2], strict=True))


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
