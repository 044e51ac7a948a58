"""What every process does first: settings, logging, tasks, the Redis client, the Redis checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis import Redis

from workers.core.connection import connect
from workers.core.logs import configure_logging
from workers.core.redact import mask_url
from workers.core.redis_checks import check_redis
from workers.core.settings import Settings, get_settings
from workers.rq_seam.serializer import make_json_the_only_serializer, refuse_unpickling
from workers.tasks.registry import load_task_modules

log = logging.getLogger(__name__)


@dataclass
class Started:
    settings: Settings
    connection: Redis


def start_process() -> Started:
    """JSON only, pickle refused; read the environment, set up logging, import the tasks, connect, check Redis."""
    make_json_the_only_serializer()
    refuse_unpickling()
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    load_task_modules(settings.task_modules)
    connection = connect(settings)
    log.info("Redis at %s", mask_url(settings.redis_url))
    check_redis(connection)
    return Started(settings, connection)
