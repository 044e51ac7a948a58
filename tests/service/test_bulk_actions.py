"""POST /jobs/cancel and /jobs/requeue: GET /jobs's filters as a body, admin only, audited, a count."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bench.harness.wait import wait_until
from tests.support.keys import ADMIN
from tests.tasks import _ledger, running_key

WRITE = {"X-API-Key": "test-write-key"}


def submit(client: TestClient, body: dict[str, Any]) -> str:
    answer = client.post("/jobs", json=body, headers=ADMIN)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def status(client: TestClient, job_id: str) -> str:
    return str(client.get(f"/jobs/{job_id}", headers=ADMIN).json()["status"])


def failing(client: TestClient, key: str) -> str:
    """A tests.flaky job that fails its only attempt, and succeeds when run again (the "fix")."""
    return submit(client, {"task": "tests.flaky", "args": [key, 1], "retry": 0})


def test_requeue_by_task_and_status_requeues_only_those(client: TestClient, run_worker: Any) -> None:
    broken = [failing(client, f"bulk-{n}") for n in range(3)]
    other = submit(client, {"task": "tests.anything", "args": [1], "delay": 600})
    finished = submit(client, {"task": "tests.echo", "args": [1]})
    run_worker()
    assert {status(client, job) for job in broken} == {"failed"}
    answer = client.post("/jobs/requeue", json={"task": "tests.flaky", "status": "failed"}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"count": 3, "more": False}
    assert {status(client, job) for job in broken} == {"queued"}
    assert (status(client, other), status(client, finished)) == ("scheduled", "finished")
    run_worker()
    assert {status(client, job) for job in broken} == {"finished"}


def test_cancel_by_task_cancels_pending_jobs_of_that_task_only(client: TestClient) -> None:
    doomed = [submit(client, {"task": "tests.echo", "args": [n]}) for n in range(3)]
    doomed.append(submit(client, {"task": "tests.echo", "delay": 600}))
    kept = submit(client, {"task": "tests.anything"})
    answer = client.post("/jobs/cancel", json={"task": "tests.echo"}, headers=ADMIN)
    assert answer.json() == {"count": 4, "more": False}
    assert {status(client, job) for job in doomed} == {"canceled"}
    assert status(client, kept) == "queued"


def test_limit_bounds_the_action_and_more_says_others_matched(client: TestClient) -> None:
    jobs = [submit(client, {"task": "tests.echo", "args": [n]}) for n in range(5)]
    first = client.post("/jobs/cancel", json={"task": "tests.echo", "limit": 3}, headers=ADMIN).json()
    assert first == {"count": 3, "more": True}
    rest = client.post("/jobs/cancel", json={"task": "tests.echo", "limit": 3}, headers=ADMIN).json()
    assert rest == {"count": 2, "more": False}
    assert {status(client, job) for job in jobs} == {"canceled"}


def test_filters_by_queue_and_submitter(client: TestClient) -> None:
    high = submit(client, {"task": "tests.echo", "queue": "high"})
    default = submit(client, {"task": "tests.echo"})
    by_ci = client.post("/jobs", json={"task": "tests.echo", "queue": "low"}, headers=WRITE).json()["id"]
    assert client.post("/jobs/cancel", json={"queue": "high"}, headers=ADMIN).json()["count"] == 1
    assert client.post("/jobs/cancel", json={"submitted_by": "ci"}, headers=ADMIN).json()["count"] == 1
    assert [status(client, job) for job in (high, default, by_ci)] == ["canceled", "queued", "canceled"]


def test_nothing_matched_counts_zero_and_is_not_audited(client: TestClient) -> None:
    answer = client.post("/jobs/requeue", json={"task": "tests.echo"}, headers=ADMIN)
    assert answer.json() == {"count": 0, "more": False}
    entries = client.get("/audit", headers=ADMIN).json()["entries"]
    assert not [entry for entry in entries if entry["action"].startswith("jobs.")]


def test_audited_with_filter_and_count(client: TestClient) -> None:
    for n in range(2):
        submit(client, {"task": "tests.echo", "args": [n]})
    client.post("/jobs/cancel", json={"task": "tests.echo", "status": "queued"}, headers=ADMIN)
    entry = client.get("/audit?limit=1", headers=ADMIN).json()["entries"][0]
    assert (entry["action"], entry["key"], entry["target"]) == ("jobs.cancel", "key1", "status=queued,task=tests.echo")
    assert entry["after"] == {
        "filter": {"status": "queued", "task": "tests.echo"},
        "limit": 10_000,
        "count": 2,
        "more": False,
    }


@pytest.mark.parametrize("path", ["/jobs/cancel", "/jobs/requeue"])
def test_no_filter_is_refused(client: TestClient, path: str) -> None:
    submit(client, {"task": "tests.echo"})
    for body in ({}, {"limit": 5}):
        answer = client.post(path, json=body, headers=ADMIN)
        assert answer.status_code == 422
        assert "at least one filter" in answer.json()["detail"]
    assert client.get("/jobs", headers=ADMIN).json()["jobs"][0]["status"] == "queued"


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/jobs/cancel", {"status": "finished"}, "status"),
        ("/jobs/requeue", {"status": "queued"}, "status"),
        ("/jobs/cancel", {"task": "x", "colour": "red"}, "colour"),
        ("/jobs/cancel", {"task": "x", "limit": 10_001}, "limit"),
        ("/jobs/cancel", {"task": "x", "limit": 0}, "limit"),
        ("/jobs/requeue", {"since": "yesterday"}, "since"),
        ("/jobs/requeue", {"until": "2026-12-01T00:00:00"}, "until"),
        ("/jobs/requeue", {"since": 1764547200}, "since"),
        ("/jobs/cancel", {"queue": "no spaces"}, "queue"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(client: TestClient, path: str, body: dict[str, Any], named: str) -> None:
    answer = client.post(path, json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert named in answer.text


@pytest.mark.parametrize("path", ["/jobs/cancel", "/jobs/requeue"])
def test_admin_only(client: TestClient, path: str) -> None:
    job = submit(client, {"task": "tests.echo"})
    assert client.post(path, json={"task": "tests.echo"}, headers=WRITE).status_code == 403
    assert client.post(path, json={"task": "tests.echo"}, headers={"X-API-Key": "test-read-key"}).status_code == 403
    assert client.post(path, json={"task": "tests.echo"}).status_code == 401
    assert status(client, job) == "queued"


def test_requeue_by_time_window(client: TestClient, run_worker: Any) -> None:
    early = failing(client, "window-early")
    run_worker()
    at = client.get(f"/jobs/{early}", headers=ADMIN).json()["enqueued_at"]
    late = failing(client, "window-late")
    run_worker()
    answer = client.post("/jobs/requeue", json={"until": at}, headers=ADMIN).json()
    assert answer["count"] == 1
    assert (status(client, early), status(client, late)) == ("queued", "failed")


def test_cancel_of_a_started_job_stops_it(client: TestClient, run_worker: Any) -> None:
    """A bulk cancel goes through the one-job cancel: a started job is asked to stop, and counted."""
    job = submit(client, {"task": "tests.sleep", "args": [30], "retry": 0})
    answers: list[dict[str, Any]] = []

    def cancel_once_running() -> None:
        ledger = _ledger()
        wait_until(lambda: ledger.exists(running_key(job)) == 1, timeout=30, what=f"{job} to run")
        ledger.close()
        answers.append(client.post("/jobs/cancel", json={"status": "started"}, headers=ADMIN).json())

    canceler = threading.Thread(target=cancel_once_running, daemon=True)
    canceler.start()
    run_worker()
    canceler.join()
    assert answers == [{"count": 1, "more": False}]
    assert status(client, job) == "stopped"
    assert client.post("/jobs/requeue", json={"status": "stopped"}, headers=ADMIN).json() == {"count": 1, "more": False}
