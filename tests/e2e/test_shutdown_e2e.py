"""SIGTERM: every process exits within 30 s and no job is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness.redis import RedisServer
from tests.support.stack import Stack, eventually


@pytest.fixture
def fresh_stack(redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(redis_server.url, tmp_path, QUEUES="shutdown")
    stack.start("web")
    yield stack
    stack.stop_all()


def test_short_job_finishes_before_exit(fresh_stack: Stack) -> None:
    worker = fresh_stack.start("worker")
    job = fresh_stack.http.post("/jobs", json={"task": "tests.sleep", "args": [2], "queue": "shutdown"}).json()
    assert eventually(lambda: fresh_stack.http.get(f"/jobs/{job['id']}").json()["status"] == "started")
    assert worker.terminate() < 30
    assert fresh_stack.http.get(f"/jobs/{job['id']}").json()["status"] == "finished"


def test_long_job_is_put_back_after_grace(fresh_stack: Stack) -> None:
    worker = fresh_stack.start("worker", WORKER_SHUTDOWN_GRACE="2")
    job = fresh_stack.http.post("/jobs", json={"task": "tests.sleep", "args": [120], "queue": "shutdown"}).json()
    assert eventually(lambda: fresh_stack.http.get(f"/jobs/{job['id']}").json()["status"] == "started")
    assert worker.terminate() < 30
    assert fresh_stack.http.get(f"/jobs/{job['id']}").json()["status"] == "queued"
    fresh_stack.http.delete(f"/jobs/{job['id']}")


def test_web_stops_within_30s(fresh_stack: Stack) -> None:
    web = fresh_stack.processes[0]
    assert web.terminate() < 30
    assert web.popen.returncode is not None


def test_scheduler_stops_within_30s_and_releases_the_lock(fresh_stack: Stack) -> None:
    from redis import Redis

    from workers.core import keys

    scheduler = fresh_stack.start("scheduler")
    client = Redis.from_url(fresh_stack.env["REDIS_URL"])
    assert eventually(lambda: client.get(keys.SCHEDULER_LOCK) is not None)
    assert scheduler.terminate() < 30
    assert scheduler.popen.returncode is not None
    assert client.get(keys.SCHEDULER_LOCK) is None  # released by its owner, not left to expire
