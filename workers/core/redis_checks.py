"""Start-up checks of the Redis every process runs on: settings that can lose jobs get a WARNING.

Redis is the only state (docs/architecture.md), so two of its settings decide whether jobs and
schedules survive: `maxmemory-policy` (anything but `noeviction` lets Redis delete
keys when it fills up) and persistence (with neither AOF nor RDB save points, a
restart loses everything). `CONFIG GET` reads both; managed hosts often forbid
CONFIG, so `INFO` is the fallback, and when that is refused too the check says at
INFO level that it could not look. A check never stops a process from starting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)


@dataclass
class RedisFacts:
    """What could be learnt; None where it could not."""

    eviction_policy: str | None
    aof: bool | None
    rdb: bool | None  # RDB save points (CONFIG), or snapshots seen so far (INFO)
    source: str


def check_redis(connection: Redis) -> list[str]:
    """Log a WARNING for each risky setting and return them; never raises."""
    try:
        facts = read_facts(connection)
    except (RedisConnectionError, RedisTimeoutError) as error:
        log.info("could not check Redis settings: Redis is unreachable (%s)", error)
        return []
    except ResponseError as error:
        log.info("could not check Redis settings: CONFIG and INFO were both refused (%s)", error)
        return []
    except Exception as error:  # noqa: BLE001 - a check must never stop a process from starting
        log.info("could not check Redis settings: %r", error)
        return []
    warnings = findings(facts)
    for warning in warnings:
        log.warning("%s", warning, extra={"redis_check": facts.source})
    if facts.rdb is None and facts.aof is False:
        log.info("Redis AOF is off, and whether RDB snapshots are on could not be read without CONFIG")
    return warnings


def read_facts(connection: Redis) -> RedisFacts:
    """From `CONFIG GET`, else from `INFO` (managed Redis); raises what `INFO` raises."""
    try:
        return _from_config(connection)
    except ResponseError as error:  # CONFIG forbidden (ACL) or renamed away
        log.debug("CONFIG GET refused (%s); reading INFO instead", error)
    return _from_info(connection)


def _from_config(connection: Redis) -> RedisFacts:
    with connection.pipeline(transaction=False) as pipe:
        for name in ("maxmemory-policy", "appendonly", "save"):
            pipe.config_get(name)
        replies = pipe.execute(raise_on_error=False)
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    config: dict[str, Any] = {_text(k): _text(v) for reply in replies for k, v in reply.items()}
    return RedisFacts(
        eviction_policy=config.get("maxmemory-policy"),
        aof=config["appendonly"] == "yes" if "appendonly" in config else None,
        rdb=bool(config["save"].strip()) if "save" in config else None,
        source="CONFIG GET",
    )


def _from_info(connection: Redis) -> RedisFacts:
    memory = connection.info("memory")
    persistence = connection.info("persistence")
    policy = memory.get("maxmemory_policy")
    aof = persistence.get("aof_enabled")
    saves = persistence.get("rdb_saves")
    return RedisFacts(
        eviction_policy=str(policy) if policy is not None else None,
        aof=bool(int(aof)) if aof is not None else None,
        rdb=True if saves and int(saves) > 0 else None,  # no snapshot yet proves nothing
        source="INFO",
    )


def findings(facts: RedisFacts) -> list[str]:
    """The warnings `facts` call for."""
    warnings = []
    if facts.eviction_policy is not None and facts.eviction_policy != "noeviction":
        warnings.append(
            f"Redis maxmemory-policy is {facts.eviction_policy!r}, not 'noeviction': when Redis is full "
            "it deletes keys, jobs and schedules among them. Set maxmemory-policy noeviction."
        )
    if facts.aof is False and facts.rdb is False:
        warnings.append(
            "Redis has no persistence (appendonly no, no RDB save points): a Redis restart loses every "
            "job and schedule. Turn on AOF (appendonly yes) or RDB snapshots (save)."
        )
    return warnings


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
