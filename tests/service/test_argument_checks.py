"""Arguments are bound against the task's signature at submit: a call that could never run is a 422 naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from redis import Redis

from tests.support.keys import ADMIN
from workers.core import keys
from workers.schedules.file import apply_schedules_file

MISSING = {"task": "examples.add", "args": [1]}
UNEXPECTED = {"task": "examples.add", "args": [1, 2], "kwargs": {"c": 3}}
TOO_MANY = {"task": "examples.add", "args": [1, 2, 3]}
CORRECT = {"task": "examples.add", "args": [1], "kwargs": {"b": 2}}
# (body, the words its refusal must hold)
BAD_CALLS = [
    (MISSING, "examples.add: missing a required argument: 'b'"),
    (UNEXPECTED, "examples.add: got an unexpected keyword argument 'c'"),
    (TOO_MANY, "examples.add: too many positional arguments (takes 2: a, b; got 3)"),
]


def job_keys(redis: Redis) -> list[bytes]:
    return list(redis.scan_iter("rq:job:*"))


@pytest.mark.parametrize(("body", "words"), BAD_CALLS)
def test_post_jobs_refuses_a_call_naming_the_argument(client: TestClient, body: dict[str, Any], words: str) -> None:
    answer = client.post("/jobs", json=body, headers=ADMIN)
    assert answer.status_code == 422
    assert words in answer.json()["detail"]


def test_a_refused_call_writes_no_job(client: TestClient, redis: Redis) -> None:
    client.post("/jobs", json=MISSING, headers=ADMIN)
    assert job_keys(redis) == []


def test_post_jobs_accepts_a_call_that_binds(client: TestClient) -> None:
    assert client.post("/jobs", json=CORRECT, headers=ADMIN).status_code == 202


@pytest.mark.parametrize(("body", "words"), BAD_CALLS)
def test_batch_refuses_a_call_naming_item_and_argument(client: TestClient, body: dict[str, Any], words: str) -> None:
    answer = client.post("/jobs/batch", json={"jobs": [CORRECT, body]}, headers=ADMIN)
    assert answer.status_code == 422
    assert f"jobs[1]: {words}" in answer.json()["detail"]


def test_a_refused_batch_writes_no_job(client: TestClient, redis: Redis) -> None:
    client.post("/jobs/batch", json={"jobs": [CORRECT, MISSING]}, headers=ADMIN)
    assert job_keys(redis) == []


def test_batch_accepts_calls_that_bind(client: TestClient) -> None:
    assert client.post("/jobs/batch", json={"jobs": [CORRECT, CORRECT]}, headers=ADMIN).status_code == 202


@pytest.mark.parametrize(("body", "words"), BAD_CALLS)
def test_put_schedule_refuses_a_call_naming_the_argument(client: TestClient, body: dict[str, Any], words: str) -> None:
    answer = client.put("/schedules/s", json={**body, "cron": "0 3 * * *"}, headers=ADMIN)
    assert answer.status_code == 422
    assert words in answer.json()["detail"]


def test_post_schedule_refuses_a_call_naming_the_argument(client: TestClient) -> None:
    answer = client.post("/schedules", json={**MISSING, "name": "s", "cron": "0 3 * * *"}, headers=ADMIN)
    assert answer.status_code == 422
    assert "missing a required argument: 'b'" in answer.json()["detail"]


def test_put_schedule_accepts_a_call_that_binds(client: TestClient) -> None:
    assert client.put("/schedules/s", json={**CORRECT, "cron": "0 3 * * *"}, headers=ADMIN).status_code == 201


def test_schedules_file_refuses_a_call_naming_entry_and_argument(tmp_path: Path, redis: Redis) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"schedules": [{"name": "sum", **MISSING, "interval": 5}]}))
    with pytest.raises(ValueError, match="schedule #1") as refused:
        apply_schedules_file(redis, path, now=1_800_000_000.0, audit_max_entries=100)
    assert "missing a required argument: 'b'" in str(refused.value)


def test_schedules_file_accepts_a_call_that_binds(tmp_path: Path, redis: Redis) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"schedules": [{"name": "sum", **CORRECT, "interval": 5}]}))
    apply_schedules_file(redis, path, now=1_800_000_000.0, audit_max_entries=100)
    assert redis.sismember(keys.SCHEDULE_NAMES, "sum")
