"""A private real Redis per test session, flushed before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from bench.harness.redis import RedisServer
from service.app import create_app
from service.settings import ServiceSettings
from tests.support.keys import KEYS
from tests.support.leftovers import pytest_configure, pytest_sessionfinish  # noqa: F401 - hooks, found by name
from workers.core.connection import connect
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker
from workers.tasks.registry import load_task_modules


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _test_tasks(redis_server: RedisServer) -> None:
    import os

    os.environ["TEST_LEDGER_URL"] = redis_server.url.replace("/0", "/1")
    load_task_modules(["tests.tasks"])


@pytest.fixture
def settings(redis_server: RedisServer) -> ServiceSettings:
    return ServiceSettings(redis_url=redis_server.url, api_keys=KEYS, task_modules=["tests.tasks"])


@pytest.fixture
def redis(settings: ServiceSettings) -> Iterator[Redis]:
    client = connect(settings)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def client(settings: ServiceSettings, redis: Redis) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def run_worker(settings: ServiceSettings) -> Iterator[object]:
    """Drain the queues with a real worker in burst mode, as arq's tests do."""
    connection = connect(settings)

    def run(queues: tuple[str, ...] = ("high", "default", "low"), with_scheduler: bool = False) -> ServiceWorker:
        worker = ServiceWorker([get_queue(q, connection) for q in queues], connection=connection)
        worker.work(burst=True, with_scheduler=with_scheduler)
        return worker

    yield run
    connection.close()


@pytest.fixture
def tmp_file(tmp_path: Path) -> Path:
    return tmp_path / "ran.txt"
