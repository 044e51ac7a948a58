"""Every mutating route waits for REDIS_MIN_REPLICAS_ACK replicas; without them a 503 that says the write may exist."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from service.app import create_app
from service.settings import ServiceSettings
from tests.support.keys import ADMIN


@pytest.fixture
def unreplicated(settings: ServiceSettings, redis: Redis) -> Iterator[TestClient]:
    """The suite's Redis has no replica: every acceptance waits and is refused."""
    waiting = settings.model_copy(update={"redis_min_replicas_ack": 1, "redis_min_replicas_ack_timeout": 0.05})
    with TestClient(create_app(waiting)) as test_client:
        yield test_client


def test_a_submission_without_its_replicas_is_a_503_that_says_the_job_may_exist(
    unreplicated: TestClient, redis: Redis
) -> None:
    answer = unreplicated.post("/jobs", json={"task": "tests.echo"}, headers={**ADMIN, "Idempotency-Key": "k1"})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert "may still exist" in answer.json()["detail"]
    assert "Idempotency-Key" in answer.json()["detail"]
    again = unreplicated.post("/jobs", json={"task": "tests.echo"}, headers={**ADMIN, "Idempotency-Key": "k1"})
    assert again.status_code == 503  # still unreplicated; the job was written once
    listed = unreplicated.get("/jobs", headers=ADMIN)
    assert listed.status_code == 200  # reads do not wait
    assert len(listed.json()["jobs"]) == 1


def test_schedule_changes_wait_too(unreplicated: TestClient) -> None:
    body = {"task": "tests.echo", "interval": 60}
    answer = unreplicated.put("/schedules/nightly", json=body, headers=ADMIN)
    assert answer.status_code == 503, answer.text
    assert "may still exist" in answer.json()["detail"]


def test_dashboard_actions_wait_too(unreplicated: TestClient) -> None:
    unreplicated.post("/jobs", json={"task": "tests.echo"}, headers=ADMIN)  # written, though answered 503
    same_origin = {**ADMIN, "Origin": "http://testserver"}
    answer = unreplicated.post("/dashboard/queue/default/compact", headers=same_origin)
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"]
    assert "may still exist" in answer.json()["detail"]
    assert unreplicated.get("/dashboard/0/data/queues.json", headers=ADMIN).status_code == 200  # reads do not wait


def test_a_refused_write_is_not_delayed_into_a_503(unreplicated: TestClient) -> None:
    assert unreplicated.post("/jobs", json={"task": "no.such.task"}, headers=ADMIN).status_code == 422


def test_schedules_file_applied_at_start_warns_when_no_replica_confirms(
    settings: ServiceSettings, redis: Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    declared = tmp_path / "schedules.yaml"
    declared.write_text("schedules:\n  - {name: from-file, task: tests.echo, interval: 60}\n")
    waiting = settings.model_copy(
        update={"redis_min_replicas_ack": 1, "redis_min_replicas_ack_timeout": 0.05, "schedules_file": declared}
    )
    with caplog.at_level(logging.WARNING), TestClient(create_app(waiting)) as client:
        assert client.get("/schedules/from-file", headers=ADMIN).status_code == 200  # applied; the web still starts
    messages = [record.getMessage() for record in caplog.records]
    assert any("SCHEDULES_FILE applied" in m and "may still exist" in m for m in messages), messages
