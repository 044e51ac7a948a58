"""Hostile input to /jobs and /schedules: refused with a 422 that names the field, nothing written."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from tests.support.keys import ADMIN

READ = {"X-API-Key": "test-read-key"}
JSON = {"content-type": "application/json"}
UNREPRESENTABLE = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def job_keys(redis: Redis) -> list[bytes]:
    return sorted(redis.scan_iter("rq:job:*"))


def send(client: TestClient, method: str, path: str, raw: bytes, **headers: str) -> Any:
    return client.request(method, path, content=raw, headers={**ADMIN, **JSON, **headers})


WRITES = [
    ("POST", "/jobs", lambda item: item),
    ("POST", "/jobs/batch", lambda item: {"jobs": [{"task": "tests.echo"}, item]}),
    ("PUT", "/schedules/s", lambda item: {**item, "cron": "0 3 * * *"}),
]


@pytest.mark.parametrize(("method", "path", "wrap"), WRITES)
def test_deep_args_are_refused_naming_the_limit(client: TestClient, redis: Redis, method, path, wrap) -> None:
    answer = send(client, method, path, json.dumps(wrap({"task": "tests.echo", "args": [nested(300)]})).encode())
    assert answer.status_code == 422
    assert "32" in str(answer.json()["detail"])
    assert redis.keys("rq*") == []


@pytest.mark.parametrize(("method", "path", "wrap"), WRITES)
def test_args_deeper_than_the_limit_inside_the_body_limit_are_refused(
    client: TestClient, redis: Redis, method, path, wrap
) -> None:
    answer = send(client, method, path, json.dumps(wrap({"task": "tests.echo", "kwargs": {"a": nested(33)}})).encode())
    assert answer.status_code == 422
    assert "kwargs" in str(answer.json()["detail"])


@pytest.mark.parametrize(("method", "path", "wrap"), WRITES)
def test_large_args_are_refused_naming_the_limit(client: TestClient, redis: Redis, method, path, wrap) -> None:
    answer = send(client, method, path, json.dumps(wrap({"task": "tests.echo", "args": ["x" * 70_000]})).encode())
    assert answer.status_code == 422
    assert "65536" in str(answer.json()["detail"])
    assert redis.keys("rq*") == []


NON_FINITE = [
    (b'{"task": "tests.echo", "delay": NaN}', "delay"),
    (b'{"task": "tests.echo", "delay": Infinity}', "delay"),
    (b'{"task": "tests.echo", "args": [1, {"x": -Infinity}]}', "args[1].x"),
    (b'{"task": "tests.echo", "kwargs": {"a": [NaN]}}', "kwargs.a[0]"),
]


@pytest.mark.parametrize(("raw", "field"), NON_FINITE)
def test_nan_and_infinity_are_refused_naming_the_field(client: TestClient, redis: Redis, raw, field) -> None:
    answer = send(client, "POST", "/jobs", raw)
    assert answer.status_code == 422
    assert field in answer.json()["detail"]
    assert redis.keys("rq*") == []


def test_nan_is_refused_on_schedules_and_batches(client: TestClient, redis: Redis) -> None:
    batch = send(client, "POST", "/jobs/batch", b'{"jobs": [{"task": "tests.echo", "delay": NaN}]}')
    schedule = send(client, "PUT", "/schedules/s", b'{"task": "tests.echo", "interval": Infinity}')
    assert (batch.status_code, schedule.status_code) == (422, 422)
    assert "jobs[0].delay" in batch.json()["detail"]
    assert redis.keys("*") == []


def test_a_huge_integer_reads_back(client: TestClient) -> None:
    answer = send(client, "POST", "/jobs", json.dumps({"task": "tests.echo", "args": [10**400]}).encode())
    read = client.get(f"/jobs/{answer.json()['id']}", headers=ADMIN)
    assert read.json()["args"] == [10**400]


def test_an_integer_beyond_the_parser_limit_is_malformed_json(client: TestClient, redis: Redis) -> None:
    answer = send(client, "POST", "/jobs", b'{"task": "tests.echo", "args": [' + b"9" * 5000 + b"]}")
    assert answer.status_code == 422
    assert redis.keys("*") == []


def test_lone_surrogates_are_refused(client: TestClient, redis: Redis) -> None:
    answer = send(client, "POST", "/jobs", b'{"task": "tests.echo", "kwargs": {"a": "\\ud800"}}')
    assert answer.status_code == 422
    assert "kwargs.a" in answer.json()["detail"]


@pytest.mark.parametrize("at", UNREPRESENTABLE)
def test_unrepresentable_at_takes_no_idempotency_key(client: TestClient, redis: Redis, at: str) -> None:
    refused = client.post("/jobs", json={"task": "tests.echo", "at": at}, headers={**ADMIN, "Idempotency-Key": "k"})
    assert refused.status_code == 422
    assert "at" in str(refused.json()["detail"])
    assert redis.keys("*") == []
    retried = client.post("/jobs", json={"task": "tests.echo"}, headers={**ADMIN, "Idempotency-Key": "k"})
    assert retried.status_code == 202


BAD_QUEUES = ["default:intermediate", "a.b", "x" * 65]


@pytest.mark.parametrize("queue", BAD_QUEUES)
def test_queue_names_that_could_collide_with_rq_keys_are_refused(client: TestClient, redis: Redis, queue) -> None:
    item = {"task": "tests.echo", "queue": queue}
    assert client.post("/jobs", json=item, headers=ADMIN).status_code == 422
    assert client.post("/jobs/batch", json={"jobs": [item]}, headers=ADMIN).status_code == 422
    assert client.put("/schedules/s", json={**item, "cron": "0 3 * * *"}, headers=ADMIN).status_code == 422
    assert client.get("/jobs", params={"queue": queue}, headers=ADMIN).status_code == 422
    assert redis.keys("*") == []


@pytest.mark.parametrize(("method", "path"), [("POST", "/jobs"), ("POST", "/jobs/batch"), ("PUT", "/schedules/x")])
def test_malformed_json_without_a_key_is_401(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path, content=b"{not json", headers=JSON)
    assert answer.status_code == 401


@pytest.mark.parametrize(("method", "path"), [("POST", "/jobs"), ("POST", "/jobs/batch"), ("PUT", "/schedules/x")])
def test_malformed_json_with_a_read_key_on_a_write_route_is_403(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path, content=b"{not json", headers={**READ, **JSON})
    assert answer.status_code == 403


def test_nan_without_a_key_is_401(client: TestClient) -> None:
    answer = client.post("/jobs", content=b'{"task": "tests.echo", "delay": NaN}', headers=JSON)
    assert answer.status_code == 401


def test_a_repeated_dependency_is_one_dependency(client: TestClient, redis: Redis) -> None:
    parent = client.post("/jobs", json={"task": "tests.echo"}, headers=ADMIN).json()["id"]
    child = client.post("/jobs", json={"task": "tests.echo", "depends_on": [parent, parent]}, headers=ADMIN)
    assert child.status_code == 202
    assert child.json()["status"] == "deferred"


@pytest.mark.parametrize(
    "failing",
    [{"task": "tests.echo", "at": UNREPRESENTABLE[0]}, {"task": "tests.echo", "queue": "default:intermediate"}],
)
def test_a_batch_with_a_dependency_and_a_failing_item_writes_nothing(
    client: TestClient, redis: Redis, failing: dict[str, Any]
) -> None:
    parent = client.post("/jobs", json={"task": "tests.echo"}, headers=ADMIN).json()["id"]
    before = job_keys(redis)
    items = [{"task": "tests.echo", "depends_on": [parent]}, failing]
    answer = client.post("/jobs/batch", json={"jobs": items}, headers=ADMIN)
    assert 400 <= answer.status_code < 500
    assert job_keys(redis) == before


def test_an_idempotent_replay_enqueues_one_job(client: TestClient, redis: Redis) -> None:
    for _ in range(2):
        client.post("/jobs", json={"task": "tests.echo"}, headers={**ADMIN, "Idempotency-Key": "once"})
    hashes = [key for key in job_keys(redis) if key.count(b":") == 2]
    assert len(hashes) == 1
    assert redis.llen("rq:queue:default") == 1


@pytest.mark.parametrize("timing", [{}, {"delay": 60}])
def test_a_replay_answers_what_the_first_request_answered(client: TestClient, timing: dict[str, Any]) -> None:
    headers = {**ADMIN, "Idempotency-Key": "same"}
    first = client.post("/jobs", json={"task": "tests.echo", **timing}, headers=headers)
    replay = client.post("/jobs", json={"task": "tests.echo", **timing}, headers=headers)
    assert (first.status_code, replay.status_code) == (202, 200)
    assert replay.json() == first.json()


def test_fifty_concurrent_identical_requests_make_one_job(client: TestClient, redis: Redis) -> None:
    """All at once, not one after another: every answer names the one job, none is a 409 or a 5xx."""
    start = threading.Barrier(50)

    def post(_: int) -> tuple[int, str]:
        start.wait()
        answer = client.post("/jobs", json={"task": "tests.echo"}, headers={**ADMIN, "Idempotency-Key": "herd"})
        return answer.status_code, answer.json().get("id", answer.text)

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(50)))
    assert sorted(status for status, _ in answers) == [200] * 49 + [202]
    assert len({job_id for _, job_id in answers}) == 1
    assert [key for key in job_keys(redis) if key.count(b":") == 2] == [f"rq:job:{answers[0][1]}".encode()]
    assert redis.llen("rq:queue:default") == 1


def test_delay_is_seconds(client: TestClient) -> None:
    before = datetime.now(UTC).timestamp()
    answer = client.post("/jobs", json={"task": "tests.echo", "delay": 30}, headers=ADMIN).json()
    after = datetime.now(UTC).timestamp()
    due = datetime.fromisoformat(answer["scheduled_for"]).timestamp()
    assert int(before) + 30 <= due <= after + 30
