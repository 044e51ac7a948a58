"""Queue objects built one way, with the JSON serializer and our job class."""

from __future__ import annotations

import re

from redis import Redis
from rq import Queue

from workers.errors import InvalidJobError
from workers.keys import QUEUE_NAME_PATTERN, check_queue_name
from workers.recovery import ReliableQueue
from workers.serialization import SERIALIZER, TaskJob


def get_queue(name: str, connection: Redis) -> Queue:
    """A queue by name; the name is checked so no odd Redis key is ever built from input."""
    cache: dict[str, Queue] = connection.__dict__.setdefault("_rqs_queues", {})
    queue = cache.get(name)
    if queue is None:
        try:
            check_queue_name(name)
        except ValueError as error:
            raise InvalidJobError(str(error)) from None
        # Kept per client: building a Queue resolves its serializer the slow way every time.
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
