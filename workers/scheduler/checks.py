"""Start-up warnings of the scheduler process."""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError

from workers.core import keys
from workers.core.settings import Settings

log = logging.getLogger(__name__)
MANY_SCHEDULES = 2_000  # above this, per-schedule metrics make scrapes slow


def warn_if_metrics_too_many(connection: Redis, settings: Settings) -> None:
    """Per-schedule metrics are 19 series a schedule: with many schedules, /metrics gets slow and huge."""
    try:
        count = connection.scard(keys.SCHEDULE_NAMES)
    except RedisError as error:  # Redis failing over as the process starts: the loop waits for it, not this
        log.info("could not count the schedules (Redis unavailable: %s)", error)
        return
    if settings.schedule_metrics == "per_schedule" and count > MANY_SCHEDULES:
        log.warning(
            "%d schedules with per-schedule metrics (%d series): set SCHEDULE_METRICS=combined",
            count,
            count * 19,
            extra={"schedules": count},
        )
