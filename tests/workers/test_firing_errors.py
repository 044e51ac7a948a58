"""A schedule that cannot fire is an `error` run of its own; every other schedule fires on time."""

import json
import logging
from dataclasses import asdict, replace

import pytest
from redis import Redis

from workers.core import keys
from workers.core.settings import Settings
from workers.observability.metrics import SCHEDULE_RUNS
from workers.rq_seam.scheduler import ServiceScheduler
from workers.schedules import store as schedule_store
from workers.schedules.firing import fire_due
from workers.schedules.spec import ScheduleSpec

START = 1_800_000_000.0
GOOD = ScheduleSpec(name="good", task="tests.echo", args=[1], interval=10, start_at=START)


def store_good(redis: Redis) -> None:
    schedule_store.upsert(redis, GOOD, now=START - 1)


def store_raw(redis: Redis, name: str, spec: str) -> None:
    """Write a definition the API would refuse (or one a deploy has since made unfireable), due at START."""
    redis.hset(keys.schedule_key(name), mapping={"spec": spec, "created_at": START - 1, "updated_at": START - 1})
    redis.sadd(keys.SCHEDULE_NAMES, name)
    redis.zadd(keys.SCHEDULES_DUE, {name: START})


def store_broken(redis: Redis, name: str, **fields: object) -> None:
    store_raw(redis, name, json.dumps(asdict(replace(GOOD, name=name, **fields))))  # type: ignore[arg-type]


def outcomes(redis: Redis, settings: Settings, now: float) -> dict[str, str]:
    return {step.name: step.outcome for step in fire_due(redis, settings, now).steps}


def test_a_task_no_longer_registered_is_an_error_run_and_the_others_fire(redis: Redis, settings: Settings) -> None:
    # Given a good schedule and one whose task a deploy removed, both due at START
    store_good(redis)
    store_broken(redis, "gone-task", task="tests.removed_by_a_deploy")

    # When the scheduler fires the due runs, twice
    first = outcomes(redis, settings, START + 0.001)
    second = outcomes(redis, settings, START + 10.001)

    # Then the good one fires both times and the broken one is an error run both times
    assert first == {"good": "fired", "gone-task": "error"}
    assert second == {"good": "fired", "gone-task": "error"}
    assert schedule_store.get(redis, "good").next_run_at == START + 20
    assert schedule_store.get(redis, "gone-task").next_run_at == START + 20  # it keeps its timing too
    ledger = schedule_store.runs(redis, "gone-task", 10)
    assert [run["status"] for run in ledger] == ["error", "error"]
    assert "tests.removed_by_a_deploy" in ledger[0]["reason"]
    assert ledger[0]["job_id"] is None


def test_a_queue_refused_is_an_error_run_with_the_reason(redis: Redis, settings: Settings) -> None:
    store_good(redis)
    store_broken(redis, "bad-queue", queue="no such queue!")
    assert outcomes(redis, settings, START + 0.001) == {"good": "fired", "bad-queue": "error"}
    run = schedule_store.runs(redis, "bad-queue", 1)[0]
    assert run["status"] == "error"
    assert "no such queue!" in run["reason"]
    assert redis.exists("rq:queue:no such queue!") == 0
    assert schedule_store.get(redis, "bad-queue").runs_total == 0


def test_an_error_run_is_counted_for_prometheus(redis: Redis, settings: Settings) -> None:
    store_broken(redis, "gone-task", task="tests.removed_by_a_deploy")
    fire_due(redis, settings, START + 0.001)
    runs = {k.decode(): int(v) for k, v in redis.hgetall(SCHEDULE_RUNS.key).items()}
    assert runs == {'["gone-task","error"]': 1}


@pytest.mark.parametrize(
    "spec",
    [
        "not json at all",  # a definition no version of the code can read
        json.dumps({**asdict(GOOD), "name": "broken", "added_by_a_later_version": 1}),  # after a rollback
        json.dumps({**asdict(GOOD), "name": "broken", "interval": None, "cron": "not a cron"}),  # no next due time
        json.dumps({**asdict(GOOD), "name": "broken", "interval": None, "cron": "0 3 * * *", "timezone": "Mars/Base"}),
        json.dumps({**asdict(GOOD), "name": "broken", "timeout": "soon"}),  # rq cannot build the job
    ],
)
def test_any_failure_of_one_schedule_is_its_own_error_run(redis: Redis, settings: Settings, spec: str) -> None:
    store_good(redis)
    store_raw(redis, "broken", spec)
    assert outcomes(redis, settings, START + 0.001) == {"good": "fired", "broken": "error"}
    assert outcomes(redis, settings, START + 10.001)["good"] == "fired"
    entry = schedule_store.decode_entry("broken", redis.lindex(keys.schedule_runs_key("broken"), 0) or "{}")
    assert entry["status"] == "error"
    assert entry["reason"] not in (None, "")
    assert redis.zscore(keys.SCHEDULES_DUE, "broken") is not None  # tried again later: a fix or rollback heals it


def test_the_scheduler_logs_a_broken_schedule_once(
    redis: Redis, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    store_broken(redis, "gone-task", task="tests.removed_by_a_deploy")
    scheduler = ServiceScheduler(redis, settings)
    assert scheduler.acquire_lock()  # the fire step writes only while its scheduler owns the lock
    with caplog.at_level(logging.INFO, logger="workers.scheduler.loop"):
        for n in range(3):
            assert scheduler.fire_pass(START + 10 * n + 0.001).steps[0].outcome == "error"
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1
    assert "tests.removed_by_a_deploy" in errors[0].getMessage()


def test_a_pass_that_fails_outside_any_schedule_does_not_end_the_process(
    redis: Redis, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a due set member no schedule name can be (not UTF-8), written by hand
    redis.zadd(keys.SCHEDULES_DUE, {b"\xff\xfe": 0})
    scheduler = ServiceScheduler(redis, settings)
    # When the scheduler runs one pass of its loop
    with caplog.at_level(logging.ERROR, logger="workers.scheduler.loop"):
        scheduler.run(burst=True)
    # Then it returned instead of raising, and said why the pass failed
    assert "scheduler pass failed" in caplog.text
