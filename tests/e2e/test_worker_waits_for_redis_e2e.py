"""A worker started while Redis is away (a failover in progress, a Redis not up yet) waits for it, never exits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness.redis import RedisServer
from tests.support.stack import Stack, eventually

pytestmark = pytest.mark.e2e


def test_a_worker_started_before_redis_waits_then_runs_jobs(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")  # not started yet
    stack = Stack(server.url, tmp_path / "logs")
    try:
        worker = stack.start("worker")
        assert eventually(lambda: "cannot start a worker yet" in worker.log(), timeout=30), worker.log()[-2000:]
        assert worker.popen.poll() is None
        server.start()
        stack.start("web")
        job = stack.http.post("/jobs", json={"task": "tests.echo", "args": ["late redis"]}).json()
        assert stack.wait_for(job["id"])["status"] == "finished"
        assert worker.popen.poll() is None
    finally:
        stack.stop_all()
        server.stop()
