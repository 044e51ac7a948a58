"""Start-up checks against the suite's real redis-server (run with `--save "" --appendonly no`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from bench.harness.ports import free_port
from service.app import create_app
from service.settings import ServiceSettings
from workers.core import startup as process
from workers.core.connection import connect
from workers.core.redis_checks import check_redis, read_facts
from workers.core.settings import Settings
from workers.scheduler import __main__ as scheduler
from workers.worker import __main__ as worker

LOGGER = "workers.core.redis_checks"


@contextmanager
def config_set(redis: Redis, name: str, value: str) -> Iterator[None]:
    """Change one server setting for the test, and put it back whatever happens."""
    old = redis.config_get(name)[name]
    redis.config_set(name, value)
    try:
        yield
    finally:
        redis.config_set(name, old)


@contextmanager
def limited_client(redis: Redis, settings: Settings, *denied: str) -> Iterator[Redis]:
    """A client logged in as a user refused `denied` commands, as managed Redis hosts do with CONFIG."""
    redis.acl_setuser("limited", enabled=True, passwords=["+limited-pw"], keys=["*"], channels=["*"])
    redis.execute_command("ACL", "SETUSER", "limited", "+@all", *(f"-{command}" for command in denied))
    url = settings.redis_url.replace("redis://", "redis://limited:limited-pw@")
    client = connect(Settings(redis_url=url))
    try:
        yield client
    finally:
        client.close()
        redis.acl_deluser("limited")


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_no_persistence_is_a_warning(redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        found = check_redis(redis)
    assert len(found) == 1
    assert "no persistence" in found[0]
    assert warnings_in(caplog) == found


def test_eviction_policy_is_a_warning(redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    with config_set(redis, "maxmemory-policy", "allkeys-lru"), caplog.at_level(logging.INFO, logger=LOGGER):
        found = check_redis(redis)
    assert any("'allkeys-lru', not 'noeviction'" in warning for warning in found)
    assert len(warnings_in(caplog)) == 2
    assert redis.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"


def test_rdb_save_points_or_aof_count_as_persistence(redis: Redis) -> None:
    with config_set(redis, "save", "3600 1"):
        assert check_redis(redis) == []
    facts = read_facts(redis)
    assert (facts.eviction_policy, facts.aof, facts.rdb, facts.source) == ("noeviction", False, False, "CONFIG GET")


def test_without_config_it_reads_info(redis: Redis, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with (
        limited_client(redis, settings, "config") as client,
        config_set(redis, "maxmemory-policy", "volatile-lru"),
        caplog.at_level(logging.INFO, logger=LOGGER),
    ):
        facts = read_facts(client)
        found = check_redis(client)
    assert (facts.eviction_policy, facts.aof, facts.rdb, facts.source) == ("volatile-lru", False, None, "INFO")
    assert len(found) == 1
    assert "'volatile-lru'" in found[0]  # persistence cannot be judged from INFO alone
    assert "whether RDB snapshots are on could not be read" in caplog.text


def test_without_config_or_info_it_says_so(redis: Redis, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with limited_client(redis, settings, "config", "info") as client, caplog.at_level(logging.INFO, logger=LOGGER):
        assert check_redis(client) == []
    assert "could not check Redis settings" in caplog.text
    assert warnings_in(caplog) == []


def test_unreachable_redis_never_fails(caplog: pytest.LogCaptureFixture) -> None:
    dead = connect(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert check_redis(dead) == []
    assert "unreachable" in caplog.text


def test_web_process_checks_at_start(settings: ServiceSettings, redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER), TestClient(create_app(settings)):
        pass
    assert any("no persistence" in warning for warning in warnings_in(caplog))


class Started(Exception):
    """Raised by the spy to stop `main()` right after its check, before its loop."""


@pytest.mark.parametrize("module", [worker, scheduler])
def test_worker_and_scheduler_check_at_start(
    module: Any, settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def check_then_stop(connection: Redis) -> list[str]:
        check_redis(connection)
        raise Started

    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setattr(process, "configure_logging", lambda *args, **kwargs: None)  # keep caplog's handler
    monkeypatch.setattr(process, "check_redis", check_then_stop)
    with caplog.at_level(logging.INFO, logger=LOGGER), pytest.raises(Started):
        module.main()
    assert any("no persistence" in warning for warning in warnings_in(caplog))
