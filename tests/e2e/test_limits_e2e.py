"""Task limits across two Procfile worker processes: per-task concurrency never exceeded, the rate held."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from bench.harness.redis import RedisServer
from tests.limited_tasks import CONCURRENCY
from tests.support.stack import Stack, eventually

QUEUE = "limits"
RATE_COUNT, RATE_WINDOW_MS = 3, 1000  # tests.rated's "3/s"


@pytest.fixture
def stack(redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    redis_server.client.flushdb()
    stack = Stack(
        redis_server.url, tmp_path, QUEUES=QUEUE, WORKER_CONCURRENCY="4", TASK_MODULES="tests.tasks,tests.limited_tasks"
    )
    stack.start("web")
    stack.start("worker")
    stack.start("worker")
    yield stack
    stack.stop_all()


def ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


def submit(stack: Stack, task: str, args: list[object], count: int) -> list[str]:
    answers = [stack.http.post("/jobs", json={"task": task, "args": args, "queue": QUEUE}) for _ in range(count)]
    assert [answer.status_code for answer in answers] == [202] * count
    return [str(answer.json()["id"]) for answer in answers]


def test_per_task_concurrency_is_never_exceeded_across_two_workers(stack: Stack) -> None:
    key = uuid.uuid4().hex
    ids = submit(stack, "tests.limited", [key, 0.4], 10)  # 8 threads free across the two workers
    echo = submit(stack, "tests.echo", [1], 1)[0]
    assert stack.wait_for(echo)["status"] == "finished"  # other tasks are not held up by the waiting ones
    assert [stack.wait_for(job_id, timeout=60)["status"] for job_id in ids] == ["finished"] * 10
    seen = [int(n) for n in ledger().lrange(f"limited:seen:{key}", 0, -1)]
    assert len(seen) == 10
    assert max(seen) <= CONCURRENCY


def test_a_waiting_job_shows_as_scheduled(stack: Stack) -> None:
    key = uuid.uuid4().hex
    ids = submit(stack, "tests.limited", [key, 3], CONCURRENCY + 1)

    def one_scheduled() -> bool:
        return "scheduled" in {stack.http.get(f"/jobs/{job_id}").json()["status"] for job_id in ids}

    assert eventually(one_scheduled, timeout=30)
    assert [stack.wait_for(job_id, timeout=60)["status"] for job_id in ids] == ["finished"] * (CONCURRENCY + 1)


def test_the_rate_limit_holds_across_two_workers(stack: Stack) -> None:
    key = uuid.uuid4().hex
    ids = submit(stack, "tests.rated", [key], 3 * RATE_COUNT)
    assert [stack.wait_for(job_id, timeout=60)["status"] for job_id in ids] == ["finished"] * len(ids)
    starts = sorted(int(s) for s in ledger().lrange(f"rated:starts:{key}", 0, -1))  # admissions, ms
    assert len(starts) == len(ids)
    assert 0 not in starts
    # no RATE_COUNT + 1 starts within one window: the (i + RATE_COUNT)-th start is a window after the i-th
    assert all(starts[i + RATE_COUNT] - starts[i] >= RATE_WINDOW_MS for i in range(len(starts) - RATE_COUNT))
