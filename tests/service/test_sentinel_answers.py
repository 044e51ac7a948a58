"""What the API answers when Sentinel names no master, or a write meets a read-only replica: 503, never 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench.harness.ports import free_port
from bench.harness.redis import RedisServer
from bench.harness.sentinel import NODE_ARGS
from bench.harness.wait import wait_until
from service.app import create_app
from service.settings import ServiceSettings
from tests.support.keys import ADMIN, KEYS

REQUESTS = [
    ("GET", "/healthz", None),
    ("POST", "/jobs", {"task": "tests.echo", "args": [1]}),
    ("POST", "/jobs/batch", {"jobs": [{"task": "tests.echo"}]}),
    ("PUT", "/schedules/s", {"task": "tests.echo", "interval": 60}),
    ("GET", "/jobs/some-id", None),
    ("GET", "/jobs/some-id/result?wait=1", None),
    ("GET", "/dashboard/0/data/queues.json", None),
    ("GET", "/dashboard/", None),  # rq-dashboard's home page would answer 200 with its own error page
]


def test_no_sentinel_answering_is_503_on_every_route() -> None:
    hosts = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    settings = ServiceSettings(redis_url=f"redis+sentinel://{hosts}/rqs-master", api_keys=KEYS)
    with TestClient(create_app(settings)) as client:
        for method, path, body in REQUESTS:
            answer = client.request(method, path, json=body, headers=ADMIN)
            assert answer.status_code == 503, (path, answer.text)
            assert int(answer.headers["retry-after"]) > 0


@pytest.fixture
def replica(tmp_path: Path, redis_server: RedisServer) -> Iterator[RedisServer]:
    """A read-only replica of the suite's Redis: what a demoted master looks like to a client that kept its URL."""
    server = RedisServer(tmp_path, extra_args=(*NODE_ARGS, "--replicaof", "127.0.0.1", str(redis_server.port)))
    server.start()
    try:
        wait_until(lambda: server.client.info("replication")["master_link_status"] == "up", 20, "the replica")
        yield server
    finally:
        server.stop()


def test_a_write_to_a_read_only_replica_is_503(replica: RedisServer) -> None:
    settings = ServiceSettings(redis_url=replica.url, api_keys=KEYS, task_modules=["tests.tasks"])
    with TestClient(create_app(settings)) as client:
        for method, path, body in REQUESTS[1:4]:
            answer = client.request(method, path, json=body, headers=ADMIN)
            assert answer.status_code == 503, (path, answer.text)
            assert "read-only" in answer.json()["detail"]
