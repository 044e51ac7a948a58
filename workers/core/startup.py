"""What every process does first: settings, logging, tasks, the Redis client, the Redis checks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis

from workers.core.banner import log_banner
from workers.core.connection import connect
from workers.core.logs import configure_logging
from workers.core.redis_checks import check_redis
from workers.core.settings import Settings, get_settings
from workers.rq_seam.serializer import make_json_the_only_serializer, refuse_unpickling
from workers.tasks.registry import load_task_modules

log = logging.getLogger(__name__)


@dataclass
class Started:
    settings: Settings
    connection: Redis


def start_process(process: str, doing: Callable[[Settings], str], buffered_logs: bool = False) -> Started:
    """JSON only, pickle refused; read the environment, set up logging, import the tasks, connect, check Redis.

    `process` and `doing(settings)` make the one start-up line (workers/core/banner.py);
    `buffered_logs`: lines written a few at a time (the worker's two lines per job).
    """
    make_json_the_only_serializer()
    refuse_unpickling()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, buffered=buffered_logs)
    load_task_modules(settings.task_modules)
    connection = connect(settings)
    log_banner(process, doing(settings), settings)
    check_redis(connection)
    return Started(settings, connection)
