"""Each process's start-up line: what it is, what it will do, on which Redis, with which tasks.

One INFO line, so an operator reading any process's log sees at once whether it
listens on the queues they expect, on the Redis they expect (credentials masked),
with the task modules they expect.
"""

from __future__ import annotations

import logging

from workers.core.redact import mask_url
from workers.core.settings import Settings
from workers.tasks.registry import BUILTIN_MODULES, registry

log = logging.getLogger(__name__)


def banner(process: str, doing: str, settings: Settings) -> str:
    """`worker: queues high, default, low, up to 8 jobs at once; Redis redis://...; 4 tasks from ...`."""
    modules = ", ".join((*BUILTIN_MODULES, *settings.task_modules))
    tasks = len(registry.all())
    return f"{process}: {doing}; Redis {mask_url(settings.redis_url)}; {tasks} tasks from {modules}"


def log_banner(process: str, doing: str, settings: Settings) -> None:
    log.info("%s", banner(process, doing, settings))
