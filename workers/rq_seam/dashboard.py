"""What the mounted rq-dashboard needs from rq, so the web side imports no rq module itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rq_dashboard
import rq_dashboard.web
from flask import Blueprint, current_app, has_app_context
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError

from workers.rq_seam.serializer import SERIALIZER

# The registries rq-dashboard's URLs may name; any other name is a 404, not its NameError.
REGISTRIES = frozenset({"queued", "started", "finished", "failed", "deferred", "scheduled", "canceled"})

__all__ = [
    "CONFIGURED_QUEUES",
    "DEFAULT_SETTINGS",
    "REGISTRIES",
    "STATIC_FOLDER",
    "NoSuchJobError",
    "blueprint",
    "list_configured_queues",
    "queue_is_known",
    "queued_count",
    "use_json",
]
DEFAULT_SETTINGS = rq_dashboard.default_settings
STATIC_FOLDER = str(Path(rq_dashboard.__file__).parent / "static")  # jQuery, CSS, favicon
CONFIGURED_QUEUES = "RQ_SERVICE_QUEUES"  # the Flask config key naming the QUEUES of the app


class ConfiguredQueue(Queue):
    """rq's Queue, whose `all()` also lists every configured queue, before it has had a job.

    rq knows a queue only once something was enqueued to it, so rq-dashboard (which
    lists `Queue.all()`) showed `default` and hid the others a worker listens on.
    """

    @classmethod
    def all(cls, connection: Redis, *args: Any, **kwargs: Any) -> list[Queue]:
        known = Queue.all(connection, *args, **kwargs)
        names = {queue.name for queue in known}
        configured = current_app.config.get(CONFIGURED_QUEUES, []) if has_app_context() else []
        missing = [Queue(name, connection=connection, serializer=kwargs.get("serializer")) for name in configured]
        return known + [queue for queue in missing if queue.name not in names]


def list_configured_queues() -> None:
    """rq-dashboard's views name `Queue` from their module: every queue in QUEUES is listed there."""
    rq_dashboard.web.Queue = ConfiguredQueue


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
