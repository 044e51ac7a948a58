"""Every mutation leaves one audit entry with the key's name; GET /audit is for admins."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from tests.support.keys import ADMIN, ADMIN_KEY, KEYS
from workers.observability import audit
from workers.rq_seam.queue import get_queue
from workers.runner import RUNNER_PATH

READ = {"X-API-Key": "test-read-key"}
WRITE = {"Authorization": "Bearer test-write-key"}
SECRETS = (ADMIN_KEY, "test-read-key", "test-write-key")
NIGHTLY = {"name": "nightly", "task": "tests.echo", "args": [7], "cron": "0 3 * * *"}
SAME_ORIGIN = {**ADMIN, "Origin": "http://testserver"}


def entries(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    answer = client.get(f"/audit{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]  # type: ignore[no-any-return]


def assert_one_new(client: TestClient, seen: int, key: str, action: str, target: str) -> dict[str, Any]:
    """Exactly one entry more than `seen`, naming `key` and `action`; returns it."""
    trail = entries(client, "?limit=1000")
    assert len(trail) == seen + 1, trail[: len(trail) - seen]
    newest = trail[0]
    assert (newest["key"], newest["action"], newest["target"]) == (key, action, target)
    assert newest["at"].endswith(("Z", "+00:00"))
    return newest


def assert_nothing_new(client: TestClient, seen: int) -> None:
    assert len(entries(client, "?limit=1000")) == seen


def assert_no_secret_stored(redis: Redis, client: TestClient) -> None:
    stored = (
        b"".join(raw for key in redis.keys(f"{audit.TRAIL}*") for raw in redis.lrange(key, 0, -1))
        + client.get("/audit?limit=1000", headers=ADMIN).content
    )
    assert all(secret.encode() not in stored for secret in SECRETS)


def submitted_by(client: TestClient, job_id: str) -> str | None:
    return client.get(f"/jobs/{job_id}", headers=ADMIN).json()["submitted_by"]


def test_job_mutations(client: TestClient, redis: Redis) -> None:
    """Submissions are recorded on the job (who submitted it), changes in the audit trail."""
    job = client.post("/jobs", json={"task": "tests.echo", "args": [1]}, headers=WRITE).json()
    assert submitted_by(client, job["id"]) == "ci"
    replay_headers = {**WRITE, "Idempotency-Key": "once"}
    first = client.post("/jobs", json={"task": "tests.echo"}, headers=replay_headers).json()
    assert submitted_by(client, first["id"]) == "ci"
    assert client.post("/jobs", json={"task": "tests.echo"}, headers=replay_headers).status_code == 200
    batch = client.post("/jobs/batch", json={"jobs": [{"task": "tests.echo"}] * 3}, headers=ADMIN).json()
    assert [submitted_by(client, j["id"]) for j in batch["jobs"]] == ["key1"] * 3
    assert_nothing_new(client, 0)  # submissions are not changes: the trail keeps room for those
    assert client.delete(f"/jobs/{job['id']}", headers=ADMIN).status_code == 200
    assert_one_new(client, 0, "key1", "job.cancel", job["id"])
    assert client.post(f"/jobs/{job['id']}/requeue", headers=ADMIN).status_code == 202
    assert_one_new(client, 1, "key1", "job.requeue", job["id"])
    assert_no_secret_stored(redis, client)


def test_a_job_not_submitted_through_the_api_names_no_submitter(client: TestClient, redis: Redis) -> None:
    get_queue("default", redis).enqueue_call(RUNNER_PATH, args=["tests.echo", [], {}], job_id="by-hand")
    assert submitted_by(client, "by-hand") is None


def test_refused_mutations_write_nothing(client: TestClient) -> None:
    # given
    job = client.post("/jobs", json={"task": "tests.echo"}, headers=ADMIN).json()
    client.delete(f"/jobs/{job['id']}", headers=ADMIN)
    seen = 1  # the cancel; a submission is no entry
    refused = [
        client.post("/jobs", json={"task": "no.such"}, headers=ADMIN),
        client.post("/jobs", json={"task": "tests.echo"}, headers=READ),
        client.post("/jobs/batch", json={"jobs": [{"task": "tests.echo"}, {"task": "no.such"}]}, headers=ADMIN),
        client.delete(f"/jobs/{job['id']}", headers=ADMIN),
        client.post(f"/jobs/{job['id']}/requeue", headers=WRITE),
        client.delete("/jobs/no-such-job", headers=ADMIN),
        client.delete("/schedules/nightly", headers=ADMIN),
        client.post("/schedules/nightly/pause", headers=ADMIN),
    ]

    # then
    assert [r.status_code for r in refused] == [422, 403, 422, 409, 403, 404, 404, 404]
    assert_nothing_new(client, seen)


def test_schedule_mutations(client: TestClient, redis: Redis) -> None:
    # when created, then audited
    assert client.post("/schedules", json=NIGHTLY, headers=ADMIN).status_code == 201
    created = assert_one_new(client, 0, "key1", "schedule.create", "nightly")
    assert created["before"] is None
    assert created["after"]["cron"] == "0 3 * * *"
    assert created["after"]["start_at"].endswith("+00:00")
    assert "name" in created["after"]

    # when put again unchanged, then nothing; when changed, then a replace
    assert client.put("/schedules/nightly", json=NIGHTLY, headers=ADMIN).status_code == 200
    assert_nothing_new(client, 1)  # the same definition again changes nothing
    changed = client.put("/schedules/nightly", json={**NIGHTLY, "cron": "0 4 * * *"}, headers=ADMIN)
    assert changed.status_code == 200
    replaced = assert_one_new(client, 1, "key1", "schedule.replace", "nightly")
    assert (replaced["before"]["cron"], replaced["after"]["cron"]) == ("0 3 * * *", "0 4 * * *")
    assert replaced["before"]["start_at"] == replaced["after"]["start_at"] == created["after"]["start_at"]

    # when put new, then a create
    assert client.put("/schedules/every", json={"task": "tests.echo", "interval": 30}, headers=ADMIN).status_code == 201
    assert assert_one_new(client, 2, "key1", "schedule.create", "every")["before"] is None

    assert_no_secret_stored(redis, client)


def test_pause_resume_trigger_delete(client: TestClient) -> None:
    # given
    client.post("/schedules", json=NIGHTLY, headers=ADMIN)

    # when paused (twice), then audited once
    client.post("/schedules/nightly/pause", headers=ADMIN)
    paused = assert_one_new(client, 1, "key1", "schedule.pause", "nightly")
    assert (paused["before"]["paused"], paused["after"]["paused"]) == (False, True)
    client.post("/schedules/nightly/pause", headers=ADMIN)
    assert_nothing_new(client, 2)  # already paused

    # when resumed, triggered and deleted, then one entry each
    client.post("/schedules/nightly/resume", headers=ADMIN)
    resumed = assert_one_new(client, 2, "key1", "schedule.resume", "nightly")
    assert (resumed["before"]["paused"], resumed["after"]["paused"]) == (True, False)
    job = client.post("/schedules/nightly/trigger", headers=ADMIN).json()
    triggered = assert_one_new(client, 3, "key1", "schedule.trigger", "nightly")
    assert triggered["after"] == {"job_id": job["id"]}
    assert client.delete("/schedules/nightly", headers=ADMIN).status_code == 204
    deleted = assert_one_new(client, 4, "key1", "schedule.delete", "nightly")
    assert deleted["before"]["cron"] == "0 3 * * *"
    assert deleted["after"] is None


def test_dashboard_actions(client: TestClient) -> None:
    assert client.get("/dashboard/0/data/queues.json", headers=ADMIN).status_code == 200
    assert client.post("/dashboard/queue/default/queued/empty", headers=READ).status_code == 403
    assert_nothing_new(client, 0)  # reads and refused actions are not changes
    assert client.post("/dashboard/queue/default/queued/empty", headers=SAME_ORIGIN).status_code == 200
    path = "/dashboard/queue/default/queued/empty"
    assert_one_new(client, 0, "key1", f"dashboard.POST {path}", path)


def test_filter_by_schedule_and_limit(client: TestClient) -> None:
    client.post("/schedules", json=NIGHTLY, headers=ADMIN)
    client.post("/schedules", json={**NIGHTLY, "name": "other"}, headers=ADMIN)
    client.post("/jobs", json={"task": "tests.echo"}, headers=ADMIN)
    client.post("/schedules/nightly/pause", headers=ADMIN)
    mine = entries(client, "?schedule=nightly")
    assert [(e["action"], e["target"]) for e in mine] == [("schedule.pause", "nightly"), ("schedule.create", "nightly")]
    assert entries(client, "?schedule=never-existed") == []
    assert [e["action"] for e in entries(client, "?limit=2")] == ["schedule.pause", "schedule.create"]
    assert len(entries(client)) == 3
    for query in ("?limit=0", "?limit=1001", "?limit=x", "?schedule=bad%20name"):
        assert client.get(f"/audit{query}", headers=ADMIN).status_code == 422


def test_audit_is_admin_only(client: TestClient) -> None:
    missing = client.get("/audit")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/audit", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/audit", headers=READ).status_code == 403
    assert client.get("/audit", headers=WRITE).status_code == 403
    assert client.get("/audit", headers=ADMIN).status_code == 200


def test_a_failed_recording_does_not_fail_the_mutation(
    client: TestClient, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = client.post("/jobs", json={"task": "tests.echo"}, headers=WRITE).json()["id"]
    redis.set(audit.TRAIL, "not a list")  # every audit write now fails with WRONGTYPE
    with caplog.at_level(logging.ERROR, logger="workers.observability.audit"):
        answer = client.delete(f"/jobs/{job_id}", headers=ADMIN)
    assert answer.status_code == 200
    assert "audit entry not stored" in caplog.text
    assert job_id in caplog.text


def test_trail_size_from_the_environment(settings: Any, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.app import create_app

    monkeypatch.setenv("AUDIT_MAX_ENTRIES", "2")
    from_env = type(settings)(redis_url=settings.redis_url, api_keys=KEYS, task_modules=settings.task_modules)
    with TestClient(create_app(from_env)) as client:
        for number in range(4):
            client.post("/schedules", json={**NIGHTLY, "name": f"nightly-{number}"}, headers=ADMIN)
        assert len(entries(client, "?limit=1000")) == 2
