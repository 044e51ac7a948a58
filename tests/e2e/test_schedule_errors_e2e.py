"""A real `scheduler` process meeting schedules that cannot fire: it records them and fires the rest on time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from redis import Redis

from bench.harness.redis import RedisServer
from tests.e2e.test_schedules_e2e import due_seconds, fired, put_interval, runs
from tests.support.stack import Stack, eventually
from workers.core import keys
from workers.schedules.spec import ScheduleSpec


@pytest.fixture
def sched_stack(redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    queue = f"q{uuid.uuid4().hex[:8]}"
    stack = Stack(redis_server.url, tmp_path, QUEUES=queue)
    stack.queue = queue  # type: ignore[attr-defined]
    stack.start("web")
    stack.start("worker")
    yield stack
    stack.stop_all()


def store_unfireable(client: Redis, spec: ScheduleSpec) -> None:
    """Write a definition straight into the store, as an older deploy (or a hand edit) left it."""
    client.hset(keys.schedule_key(spec.name), mapping={"spec": spec.to_json(), "created_at": time.time()})
    client.sadd(keys.SCHEDULE_NAMES, spec.name)
    client.zadd(keys.SCHEDULES_DUE, {spec.name: spec.start_at or time.time()})


def errors(stack: Stack, name: str) -> list[dict[str, object]]:
    return [run for run in runs(stack, name) if run["status"] == "error"]


def test_broken_schedules_are_error_runs_and_the_good_one_keeps_its_timing(sched_stack: Stack) -> None:
    # Given a scheduler, a good schedule, one whose task is no longer registered and one whose queue is refused
    client = Redis.from_url(sched_stack.env["REDIS_URL"])
    scheduler = sched_stack.start("scheduler")
    base = ScheduleSpec(name="x", task="tests.record", args=["x"], interval=1, start_at=time.time())
    store_unfireable(client, replace(base, name="task-gone", task="tests.removed_by_a_deploy"))
    store_unfireable(client, replace(base, name="queue-refused", queue="no such queue!"))
    put_interval(sched_stack, "good-neighbour")

    # When several of their due times have passed
    assert eventually(lambda: len(fired(sched_stack, "good-neighbour")) >= 4, timeout=15)
    assert eventually(lambda: len(errors(sched_stack, "task-gone")) >= 3, timeout=10)
    assert eventually(lambda: len(errors(sched_stack, "queue-refused")) >= 3, timeout=10)

    # Then the process lives, the good schedule fired one interval apart, and each broken one says why
    assert scheduler.popen.poll() is None
    dues = [due_seconds(run) for run in fired(sched_stack, "good-neighbour")]
    assert all(abs((b - a) - 1.0) < 1e-6 for a, b in zip(dues, dues[1:], strict=False)), dues
    assert "tests.removed_by_a_deploy" in str(errors(sched_stack, "task-gone")[0]["reason"])
    assert "no such queue!" in str(errors(sched_stack, "queue-refused")[0]["reason"])
    metrics = sched_stack.http.get("/metrics").text
    assert 'rqs_schedule_runs_total{outcome="error",schedule="task-gone"}' in metrics
    log = scheduler.log()
    assert log.count("schedule task-gone cannot fire") == 1  # once, not once a run
    assert log.count("schedule queue-refused cannot fire") == 1
