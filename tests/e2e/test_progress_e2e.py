"""Progress on real Procfile processes: read mid-run through GET /jobs/{id} and the dashboard, per job."""

from __future__ import annotations

import html
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

from bench.harness.redis import RedisServer
from tests.support.stack import Stack, eventually, web_and_worker

pytestmark = pytest.mark.e2e

QUEUE = "progress"


@pytest.fixture(scope="module")
def stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_and_worker(
        redis_server.url, tmp_path_factory.mktemp("logs"), QUEUES=QUEUE, WORKER_CONCURRENCY="4"
    ) as stack:
        yield stack


def ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


def arrivals(key: str) -> int:
    return int(ledger().get(f"arrived:{key}") or 0)


def submit(stack: Stack, task: str, *args: Any) -> str:
    answer = stack.http.post("/jobs", json={"task": task, "args": list(args), "queue": QUEUE})
    assert answer.status_code == 202
    return str(answer.json()["id"])


def progress_of(stack: Stack, job_id: str) -> tuple[Any, Any]:
    body = stack.http.get(f"/jobs/{job_id}").json()
    return body["progress"], body["progress_message"]


@pytest.mark.parametrize("task", ["tests.progress_gate", "tests.async_progress_gate"])
def test_progress_read_mid_run_then_at_the_end(stack: Stack, task: str) -> None:
    key = uuid.uuid4().hex
    job_id = submit(stack, task, key, 0.4, 0.9)
    assert eventually(lambda: arrivals(key) == 1)
    assert progress_of(stack, job_id) == (0.4, "before 0.4")
    ledger().set(f"open:{key}", 1)
    assert stack.wait_for(job_id)["status"] == "finished"
    assert progress_of(stack, job_id) == (0.9, "after 0.9")


def test_two_jobs_in_one_worker_report_their_own(stack: Stack) -> None:
    key = uuid.uuid4().hex
    sync_id = submit(stack, "tests.progress_gate", key, 0.1, 0.2)
    async_id = submit(stack, "tests.async_progress_gate", key, 0.3, 0.4)
    assert eventually(lambda: arrivals(key) == 2)
    assert [progress_of(stack, sync_id), progress_of(stack, async_id)] == [(0.1, "before 0.1"), (0.3, "before 0.3")]
    ledger().set(f"open:{key}", 1)
    assert [stack.wait_for(job_id)["status"] for job_id in (sync_id, async_id)] == ["finished"] * 2
    assert [progress_of(stack, sync_id), progress_of(stack, async_id)] == [(0.2, "after 0.2"), (0.4, "after 0.4")]


def test_dashboard_job_page_shows_progress_in_its_metadata(stack: Stack) -> None:
    key = uuid.uuid4().hex
    job_id = submit(stack, "tests.progress_gate", key, 0.6, 0.7)
    assert eventually(lambda: arrivals(key) == 1)
    page = stack.http.get(f"/dashboard/0/data/job/{job_id}.json").json()
    ledger().set(f"open:{key}", 1)
    metadata = json.loads(html.unescape(page["metadata"]))  # escaped by the dashboard for its HTML page
    assert (metadata["progress"], metadata["progress_message"]) == (0.6, "before 0.6")
