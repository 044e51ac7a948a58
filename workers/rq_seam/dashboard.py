"""What the mounted rq-dashboard needs from rq, so the web side imports no rq module itself."""

from __future__ import annotations

from pathlib import Path

import rq_dashboard
import rq_dashboard.web
from flask import Blueprint
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError

from workers.rq_seam.serializer import SERIALIZER

# The registries rq-dashboard's URLs may name; any other name is a 404, not its NameError.
REGISTRIES = frozenset({"queued", "started", "finished", "failed", "deferred", "scheduled", "canceled"})

__all__ = [
    "DEFAULT_SETTINGS",
    "REGISTRIES",
    "STATIC_FOLDER",
    "NoSuchJobError",
    "blueprint",
    "queue_is_known",
    "queued_count",
    "use_json",
]
DEFAULT_SETTINGS = rq_dashboard.default_settings
STATIC_FOLDER = str(Path(rq_dashboard.__file__).parent / "static")  # jQuery, CSS, favicon


def blueprint() -> Blueprint:
    """rq-dashboard's Flask blueprint."""
    return rq_dashboard.blueprint  # type: ignore[no-any-return]


def use_json() -> None:
    """rq-dashboard's views that do pass a serializer take it from this module-level config."""
    rq_dashboard.web.config.serializer = SERIALIZER


def queue_is_known(connection: Redis, name: str, configured: list[str]) -> bool:
    """A configured queue, or one Redis knows (rq registers every queue it enqueues to)."""
    if name in configured:
        return True
    return bool(connection.sismember(Queue.redis_queues_keys, Queue(name, connection=connection).key))


def queued_count(connection: Redis, name: str) -> int:
    """Jobs waiting in the queue (rq's compact fails on an empty one)."""
    return int(Queue(name, connection=connection).count)
