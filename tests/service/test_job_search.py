"""GET /jobs filters by task, schedule, submitted_by and enqueue time; unknown parameters are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.keys import ADMIN

WRITE = {"X-API-Key": "test-write-key"}


def submit(client: TestClient, body: dict[str, Any], headers: dict[str, str] = ADMIN) -> str:
    answer = client.post("/jobs", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def listed(client: TestClient, query: str) -> dict[str, Any]:
    answer = client.get(f"/jobs?{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def ids(page: dict[str, Any]) -> set[str]:
    return {job["id"] for job in page["jobs"]}


def test_task_filter_lists_only_that_task(client: TestClient) -> None:
    echo = submit(client, {"task": "tests.echo", "args": [1]})
    submit(client, {"task": "examples.noop"})
    assert ids(listed(client, "task=tests.echo")) == {echo}


def test_task_filter_counts_only_that_task(client: TestClient) -> None:
    for _ in range(3):
        submit(client, {"task": "tests.echo"})
    submit(client, {"task": "examples.noop"})
    assert listed(client, "task=tests.echo&limit=2")["total"] == 3


def test_task_filter_pages_with_offset(client: TestClient) -> None:
    echoes = {submit(client, {"task": "tests.echo"}) for _ in range(3)}
    submit(client, {"task": "examples.noop"})
    first, rest = listed(client, "task=tests.echo&limit=2"), listed(client, "task=tests.echo&limit=2&offset=2")
    assert ids(first) | ids(rest) == echoes


def test_submitted_by_filter(client: TestClient) -> None:
    by_ci = submit(client, {"task": "tests.echo"}, WRITE)
    submit(client, {"task": "tests.echo"})
    assert ids(listed(client, "submitted_by=ci")) == {by_ci}


def test_schedule_filter(client: TestClient) -> None:
    client.put("/schedules/nightly", json={"task": "tests.echo", "cron": "0 3 * * *"}, headers=ADMIN)
    fired = client.post("/schedules/nightly/trigger", headers=ADMIN).json()["id"]
    submit(client, {"task": "tests.echo"})
    assert ids(listed(client, "schedule=nightly")) == {fired}


def test_since_and_until_bound_enqueued_at(client: TestClient) -> None:
    job = submit(client, {"task": "tests.echo"})
    at = datetime.fromisoformat(client.get(f"/jobs/{job}", headers=ADMIN).json()["enqueued_at"])
    later = submit(client, {"task": "tests.echo"})
    window = {"since": (at - timedelta(seconds=1)).isoformat(), "until": at.isoformat()}
    answer = client.get("/jobs", params=window, headers=ADMIN).json()
    assert later not in ids(answer)
    assert job in ids(answer)


def test_since_after_every_job_lists_none(client: TestClient) -> None:
    submit(client, {"task": "tests.echo"})
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert client.get("/jobs", params={"since": future}, headers=ADMIN).json()["total"] == 0


def test_a_time_without_timezone_is_refused(client: TestClient) -> None:
    answer = client.get("/jobs", params={"since": "2026-01-01T00:00:00"}, headers=ADMIN)
    assert answer.status_code == 422


def test_filters_combine_with_status(client: TestClient, run_worker: Any) -> None:
    failed = submit(client, {"task": "examples.fail"})
    submit(client, {"task": "tests.echo"})
    run_worker()
    assert ids(listed(client, "task=examples.fail&status=failed")) == {failed}


@pytest.mark.parametrize("path", ["/jobs", "/schedules", "/queues", "/tasks"])
def test_an_unknown_query_parameter_is_refused(client: TestClient, path: str) -> None:
    answer = client.get(f"{path}?stauts=failed", headers=ADMIN)
    assert answer.status_code == 422
    assert "stauts" in answer.json()["detail"]


def test_list_items_leave_out_the_traceback(client: TestClient, run_worker: Any) -> None:
    submit(client, {"task": "examples.fail"})
    run_worker()
    assert listed(client, "status=failed")["jobs"][0]["error"]["traceback"] is None


def test_full_lists_the_traceback(client: TestClient, run_worker: Any) -> None:
    submit(client, {"task": "examples.fail"})
    run_worker()
    assert "Traceback" in listed(client, "status=failed&full=true")["jobs"][0]["error"]["traceback"]


def test_one_job_still_shows_its_traceback(client: TestClient, run_worker: Any) -> None:
    job = submit(client, {"task": "examples.fail"})
    run_worker()
    assert "Traceback" in client.get(f"/jobs/{job}", headers=ADMIN).json()["error"]["traceback"]


def test_a_number_is_not_a_time(client: TestClient) -> None:
    answer = client.get("/jobs", params={"until": "0.5"}, headers=ADMIN)
    assert answer.status_code == 422
