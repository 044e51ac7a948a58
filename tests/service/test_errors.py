"""413 before the body is read whole, and 503 with Retry-After when Redis is gone."""

import time

from fastapi.testclient import TestClient
from redis import Redis

from bench.harness.ports import free_port
from service.app import create_app
from service.settings import ServiceSettings
from tests.support.keys import ADMIN, KEYS


def test_body_over_limit_is_413(client: TestClient) -> None:
    big = {"task": "tests.echo", "args": ["x" * (1024 * 1024 + 10)]}
    answer = client.post("/jobs", json=big, headers=ADMIN)
    assert answer.status_code == 413
    assert "larger than" in answer.json()["detail"]


def test_streamed_body_over_limit_is_413(client: TestClient) -> None:
    def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(20):
            yield b"x" * 100_000

    answer = client.post("/jobs", content=chunks(), headers={**ADMIN, "content-type": "application/json"})
    assert answer.status_code == 413


def test_redis_down_is_503_fast() -> None:
    # given: nothing listens at REDIS_URL
    settings = ServiceSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0", api_keys=KEYS)
    with TestClient(create_app(settings)) as client:
        # when each kind of request arrives, then a quick 503
        for method, path, body in [
            ("GET", "/healthz", None),
            ("POST", "/jobs", {"task": "tests.echo", "args": [1]}),
            ("GET", "/jobs/some-id", None),
            ("GET", "/queues", None),
        ]:
            started = time.monotonic()
            answer = client.request(method, path, json=body, headers=ADMIN)
            assert time.monotonic() - started < 2
            assert answer.status_code == 503, (path, answer.text)
            assert int(answer.headers["retry-after"]) > 0

        assert client.get("/healthz").json()["redis"] == "down"


def test_redis_out_of_memory_is_503_and_nothing_is_half_written(client: TestClient, redis: Redis) -> None:
    assert client.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers=ADMIN).status_code == 202
    used = int(redis.info("memory")["used_memory"])
    redis.config_set("maxmemory-policy", "noeviction")
    redis.config_set("maxmemory", str(used - 1024))
    try:
        answer = client.post("/jobs", json={"task": "tests.echo", "args": ["x" * 10_000]}, headers=ADMIN)
        assert answer.status_code == 503
        assert int(answer.headers["retry-after"]) > 0
    finally:
        redis.config_set("maxmemory", "0")
    assert client.get("/jobs", headers=ADMIN).json()["total"] == 1  # the refused job left nothing behind
    assert client.post("/jobs", json={"task": "tests.echo", "args": [2]}, headers=ADMIN).status_code == 202
