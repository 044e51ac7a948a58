"""The /schedules endpoints through the app factory."""

from typing import Any

from fastapi.testclient import TestClient
from redis import Redis

from service.settings import ServiceSettings
from tests.support.keys import ADMIN
from tests.workers.test_firing_errors import START, store_broken
from workers.schedules.firing import fire_due

WRITE = {"X-API-Key": "test-write-key"}
READ = {"X-API-Key": "test-read-key"}
NIGHTLY = {"name": "nightly", "task": "tests.echo", "args": [7], "cron": "0 3 * * *", "timezone": "Asia/Shanghai"}


def test_create_read_and_upcoming(client: TestClient) -> None:
    created = client.post("/schedules", json=NIGHTLY, headers=ADMIN)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "nightly"
    assert body["runs_total"] == 0
    assert body["paused"] is False
    assert body["next_run_at"].endswith(("Z", "+00:00"))
    assert body["next_run_at"][11:16] == "19:00"
    assert len(body["upcoming"]) == 5
    assert body["upcoming"][0]["local"].endswith("03:00:00+08:00")
    assert client.post("/schedules", json=NIGHTLY, headers=ADMIN).status_code == 409
    assert client.get("/schedules/nightly", headers=READ).json()["task"] == "tests.echo"
    assert [s["name"] for s in client.get("/schedules", headers=READ).json()["schedules"]] == ["nightly"]


def test_put_creates_then_is_idempotent(client: TestClient) -> None:
    body = {"task": "tests.echo", "interval": 30}
    first = client.put("/schedules/every30", json=body, headers=ADMIN)
    second = client.put("/schedules/every30", json=body, headers=ADMIN)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["updated_at"] == second.json()["updated_at"]
    assert first.json()["next_run_at"] == second.json()["next_run_at"]
    changed = client.put("/schedules/every30", json={**body, "interval": 60}, headers=ADMIN)
    assert changed.status_code == 200
    assert changed.json()["interval"] == 60
    mismatch = client.put("/schedules/every30", json={**body, "name": "other"}, headers=ADMIN)
    assert mismatch.status_code == 422


def test_validation_errors(client: TestClient) -> None:
    bad = [
        {**NIGHTLY, "cron": "99 * * * *"},
        {**NIGHTLY, "timezone": "Mars/Base"},
        {**NIGHTLY, "interval": 30},
        {"name": "x", "task": "tests.echo"},
        {"name": "x", "task": "no.such", "interval": 5},
        {"name": "bad name!", "task": "tests.echo", "interval": 5},
        {"name": "x", "task": "tests.echo", "interval": 0.5},
        {"name": "x", "task": "tests.echo", "at": "2030-01-01T00:00:00"},
        {"name": "x", "task": "tests.echo", "interval": 5, "overlap": "sometimes"},
        {"name": "x", "task": "tests.echo", "interval": 5, "result_ttl": -2},
    ]

    # when, then
    for body in bad:
        answer = client.post("/schedules", json=body, headers=ADMIN)
        assert answer.status_code == 422, (body, answer.text)


def test_result_ttl_is_kept_and_shown(client: TestClient) -> None:
    answer = client.put("/schedules/often", json={"task": "tests.echo", "interval": 5, "result_ttl": 60}, headers=ADMIN)
    assert answer.status_code == 201
    assert answer.json()["result_ttl"] == 60
    assert client.get("/schedules/often", headers=ADMIN).json()["result_ttl"] == 60
    assert client.get("/schedules/nightly-none", headers=ADMIN).status_code == 404
    client.post("/schedules", json=NIGHTLY, headers=ADMIN)
    assert client.get("/schedules/nightly", headers=ADMIN).json()["result_ttl"] is None  # RESULT_TTL applies


def test_pause_resume_trigger_runs_delete(client: TestClient, run_worker: Any) -> None:
    # given
    client.post("/schedules", json=NIGHTLY, headers=ADMIN)

    # when paused, then resumed
    paused = client.post("/schedules/nightly/pause", headers=ADMIN).json()
    assert paused["paused"] is True
    assert paused["next_run_at"] is None
    assert paused["upcoming"] == []
    resumed = client.post("/schedules/nightly/resume", headers=ADMIN).json()
    assert resumed["paused"] is False
    assert resumed["next_run_at"] is not None

    # when triggered and run, then its run is in the ledger
    job = client.post("/schedules/nightly/trigger", headers=ADMIN)
    assert job.status_code == 202
    assert job.json()["status"] == "queued"
    run_worker()
    fired = client.get(f"/jobs/{job.json()['id']}", headers=ADMIN).json()
    assert fired["schedule"] == "nightly"
    assert fired["result"] == 7
    runs = client.get("/schedules/nightly/runs?limit=5", headers=READ).json()["runs"]
    assert runs[0]["job_id"] == job.json()["id"]
    assert runs[0]["status"] == "finished"
    assert client.get("/schedules/nightly", headers=READ).json()["last_status"] == "finished"

    # when deleted, then gone
    assert client.delete("/schedules/nightly", headers=ADMIN).status_code == 204
    assert client.get("/schedules/nightly", headers=READ).status_code == 404
    assert client.delete("/schedules/nightly", headers=ADMIN).status_code == 404
    assert client.post("/schedules/nightly/pause", headers=ADMIN).status_code == 404


def test_schedules_need_admin_to_change(client: TestClient) -> None:
    assert client.post("/schedules", json=NIGHTLY, headers=WRITE).status_code == 403
    assert client.get("/schedules", headers=READ).status_code == 200
    assert client.get("/schedules").status_code == 401


def test_runs_that_could_not_fire_show_error_and_the_reason(
    client: TestClient, redis: Redis, settings: ServiceSettings
) -> None:
    # Given a schedule whose task a deploy has since removed, fired once by the scheduler's step
    store_broken(redis, "gone-task", task="tests.removed_by_a_deploy")
    fire_due(redis, settings, START + 0.001)
    # When its runs are read
    runs = client.get("/schedules/gone-task/runs", headers=READ).json()["runs"]
    # Then the run says error, and why
    assert runs[0]["status"] == "error"
    assert "tests.removed_by_a_deploy" in runs[0]["reason"]
