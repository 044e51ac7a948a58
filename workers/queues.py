"""Queue objects built one way, with the JSON serializer and our job class."""

from __future__ import annotations

import re

from redis import Redis
from rq import Queue

from workers.errors import InvalidJobError
from workers.recovery import ReliableQueue
from workers.serialization import SERIALIZER, TaskJob

QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def get_queue(name: str, connection: Redis) -> Queue:
    """A queue by name; the name is checked so no odd Redis key is ever built from input."""
    cache: dict[str, Queue] = connection.__dict__.setdefault("_rqs_queues", {})
    queue = cache.get(name)
    if queue is None:
        if not QUEUE_NAME.match(name):
            raise InvalidJobError(f"invalid queue name {name!r}: use 1-100 of A-Z a-z 0-9 _ . : -")
        # Kept per client: building a Queue resolves its serializer the slow way every time.
        queue = cache[name] = ReliableQueue(name, connection=connection, serializer=SERIALIZER, job_class=TaskJob)
    return queue


def known_queues(connection: Redis, configured: list[str]) -> list[Queue]:
    """The configured queues first, in priority order, then any other queue Redis knows."""
    names = list(configured)
    for queue in Queue.all(connection=connection, serializer=SERIALIZER, job_class=TaskJob):
        if queue.name not in names:
            names.append(queue.name)
    return [get_queue(name, connection) for name in names]
