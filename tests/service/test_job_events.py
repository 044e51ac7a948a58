"""GET /jobs/events: job ends from the capped stream, written on the pipelines that record them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.keys import ADMIN

READ = {"X-API-Key": "test-read-key"}


def submit(client: TestClient, body: dict[str, Any]) -> str:
    answer = client.post("/jobs", json=body, headers=ADMIN)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def events(client: TestClient, **query: Any) -> dict[str, Any]:
    answer = client.get("/jobs/events", params=query, headers=READ)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_every_end_is_an_event_in_order(client: TestClient, run_worker: Any) -> None:
    done = submit(client, {"task": "tests.echo", "args": [1]})
    failed = submit(client, {"task": "tests.flaky", "args": ["events", 5], "retry": 0})
    canceled = submit(client, {"task": "tests.echo", "delay": 600})
    client.delete(f"/jobs/{canceled}", headers=ADMIN)
    run_worker()
    page = events(client, after="0")
    seen = {end["id"]: end for end in page["events"]}
    assert (seen[done]["status"], seen[failed]["status"], seen[canceled]["status"]) == (
        "finished",
        "failed",
        "canceled",
    )
    assert seen[done]["task"] == "tests.echo" and seen[done]["queue"] == "default"
    assert seen[done]["duration"] >= 0 and seen[canceled]["duration"] is None
    assert page["cursor"] == page["events"][-1]["cursor"]
    assert events(client, after=page["cursor"])["events"] == []


def test_without_after_only_later_ends(client: TestClient, run_worker: Any) -> None:
    submit(client, {"task": "tests.echo"})
    run_worker()
    now = events(client)
    assert now["events"] == []
    later = submit(client, {"task": "tests.echo"})
    run_worker()
    assert [end["id"] for end in events(client, after=now["cursor"])["events"]] == [later]


def test_filters_by_task_queue_and_status(client: TestClient, run_worker: Any) -> None:
    echo = submit(client, {"task": "tests.echo", "queue": "high"})
    anything = submit(client, {"task": "tests.anything"})
    bad = submit(client, {"task": "tests.flaky", "args": ["events-filter", 5], "retry": 0})
    run_worker()
    assert [end["id"] for end in events(client, after="0", task="tests.anything")["events"]] == [anything]
    assert [end["id"] for end in events(client, after="0", queue="high")["events"]] == [echo]
    assert [end["id"] for end in events(client, after="0", status="failed")["events"]] == [bad]


def test_limit_pages_through_and_the_cursor_moves_past_unmatched(client: TestClient, run_worker: Any) -> None:
    jobs = [submit(client, {"task": "tests.echo", "args": [n]}) for n in range(3)]
    run_worker()
    first = events(client, after="0", limit=2)
    rest = events(client, after=first["cursor"], limit=2)
    assert len(first["events"]) == 2
    assert sorted(end["id"] for end in first["events"] + rest["events"]) == sorted(jobs)  # in the order they ended
    none = events(client, after="0", task="tests.nothing-like-it", limit=2)
    assert none["events"] == [] and none["cursor"] == first["cursor"]


def test_bulk_cancel_is_seen(client: TestClient) -> None:
    jobs = {submit(client, {"task": "tests.echo", "args": [n]}) for n in range(3)}
    start = events(client)["cursor"]
    client.post("/jobs/cancel", json={"task": "tests.echo"}, headers=ADMIN)
    ends = events(client, after=start)["events"]
    assert {end["id"] for end in ends} == jobs
    assert {end["status"] for end in ends} == {"canceled"}


def test_a_wait_with_nothing_new_answers_empty(client: TestClient) -> None:
    assert events(client, wait=0.3)["events"] == []


@pytest.mark.parametrize(
    "query",
    ["after=now", "after=12-x", "wait=61", "wait=-1", "status=queued", "limit=0", "limit=1001", "colour=red"],
)
def test_bad_queries_are_422(client: TestClient, query: str) -> None:
    assert client.get(f"/jobs/events?{query}", headers=READ).status_code == 422


def test_needs_a_key(client: TestClient) -> None:
    assert client.get("/jobs/events").status_code == 401
