"""The scheduler's atomic step against real Redis, with `now` passed in."""

import math
import threading
from typing import Any

from redis import Redis

from workers.core import keys
from workers.core.settings import Settings
from workers.jobs.submit import fetch
from workers.schedules import store as schedule_store
from workers.schedules.firing import PASS_GAP, PASS_GAP_MAX, fire_due, pass_gap, run_job_id, trigger
from workers.schedules.spec import ScheduleSpec

START = 1_800_000_000.0


def store(redis: Redis, **fields: Any) -> ScheduleSpec:
    timing = {} if any(k in fields for k in ("cron", "at", "interval")) else {"interval": 10}
    base = {"name": "every10", "task": "tests.echo", "args": [1], "start_at": START, **timing}
    spec = ScheduleSpec.from_mapping({**base, **fields})
    schedule_store.upsert(redis, spec, now=START - 1)
    return spec


def test_fires_a_fresh_job_per_run_and_advances(redis: Redis, settings: Settings) -> None:
    store(redis)
    assert schedule_store.get(redis, "every10").next_run_at == START
    assert fire_due(redis, settings, START - 0.5).steps == []
    first = fire_due(redis, settings, START + 0.001).steps
    second = fire_due(redis, settings, START + 10.002).steps
    assert [f.outcome for f in first + second] == ["fired", "fired"]
    assert first[0].job_id == run_job_id("every10", START) != second[0].job_id
    job = fetch(redis, first[0].job_id)
    assert job.meta["schedule"] == "every10"
    assert job.get_status().value == "queued"
    info = schedule_store.get(redis, "every10")
    assert info.runs_total == 2
    assert info.next_run_at == START + 20
    assert info.last_job_id == second[0].job_id


def test_a_pass_knows_when_to_look_again(redis: Redis, settings: Settings) -> None:
    assert fire_due(redis, settings, START).next_due == math.inf  # nothing scheduled at all
    store(redis)
    schedule_store.upsert(
        redis, ScheduleSpec.from_mapping({"name": "once", "task": "tests.echo", "at": START + 25}), START
    )
    assert fire_due(redis, settings, START - 1).next_due == START  # nothing due yet: the earliest due time
    assert fire_due(redis, settings, START + 0.001).next_due == START + 10  # the time it just advanced to
    assert fire_due(redis, settings, START + 20.5).next_due == START + 25  # another schedule's is earlier
    assert fire_due(redis, settings, START + 25.5).next_due == START + 30  # the one-shot ended: not counted


def test_a_busy_pass_waits_longer_before_the_next(redis: Redis, settings: Settings) -> None:
    """Runs due close after a pass wait for the next: PASS_GAP after a quiet pass, longer after a busy one."""
    for i in range(12):
        store(redis, name=f"herd{i}")
    store(redis, name="soon", start_at=START + 0.001)
    store(redis, name="later", start_at=START + 0.004)
    quiet = fire_due(redis, settings, START - 0.0005)
    assert quiet.steps == [] and quiet.next_due == START
    busy = fire_due(redis, settings, START)
    assert len(busy.steps) == 12
    assert busy.next_due == START + pass_gap(12) == START + PASS_GAP * 3  # not `soon`'s START + 0.001
    assert busy.next_due <= START + PASS_GAP_MAX
    alone = fire_due(redis, settings, START + 0.001)
    assert [step.name for step in alone.steps] == ["soon"]
    assert alone.next_due == START + 0.001 + PASS_GAP  # `later` is due before that: it waits
    assert pass_gap(10_000) == PASS_GAP_MAX


def test_runs_keep_their_result_as_long_as_the_schedule_says(redis: Redis, settings: Settings) -> None:
    store(redis, result_ttl=30)
    job = fetch(redis, fire_due(redis, settings, START).steps[0].job_id or "")
    assert job.result_ttl == 30
    assert settings.result_ttl != 30


def test_same_due_time_never_fires_twice(redis: Redis, settings: Settings) -> None:
    store(redis)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.extend(fire_due(redis, settings, START + 1).steps)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.outcome for r in results] == ["fired"]
    assert redis.llen("rq:queue:default") == 1


def test_outage_records_missed_runs_and_fires_one_catch_up(redis: Redis, settings: Settings) -> None:
    store(redis, misfire_grace_time=5)
    steps = fire_due(redis, settings, START + 62).steps  # due 0,10,..,60: 60 is within grace
    assert [s.outcome for s in steps] == ["fired"]
    assert steps[0].due == START + 60
    info = schedule_store.get(redis, "every10")
    assert info.missed_total == 6
    assert info.runs_total == 1
    assert info.next_run_at == START + 70
    runs = schedule_store.runs(redis, "every10", 10)
    assert [r["status"] for r in runs] == ["queued"] + ["missed"] * 6
    assert runs[0]["due_at"] == START + 60
    assert runs[-1]["due_at"] == START


def test_overlap_skip(redis: Redis, settings: Settings, run_worker: Any) -> None:
    store(redis, overlap="skip")
    assert fire_due(redis, settings, START).steps[0].outcome == "fired"
    assert fire_due(redis, settings, START + 10).steps[0].outcome == "skipped"  # the first is still queued
    run_worker()
    assert fire_due(redis, settings, START + 20).steps[0].outcome == "fired"
    info = schedule_store.get(redis, "every10")
    assert info.skipped_total == 1
    assert info.runs_total == 2
    assert [r["status"] for r in schedule_store.runs(redis, "every10", 5)] == ["queued", "skipped", "finished"]


def test_repeat_stops_after_n_runs(redis: Redis, settings: Settings) -> None:
    store(redis, repeat=2)
    for n in range(4):
        fire_due(redis, settings, START + 10 * n)
    info = schedule_store.get(redis, "every10")
    assert info.runs_total == 2
    assert info.next_run_at is None


def test_one_shot_at(redis: Redis, settings: Settings) -> None:
    spec = ScheduleSpec.from_mapping({"name": "once", "task": "tests.echo", "at": START + 5})
    schedule_store.upsert(redis, spec, now=START)
    assert fire_due(redis, settings, START + 5.001).steps[0].outcome == "fired"
    assert schedule_store.get(redis, "once").next_run_at is None
    assert fire_due(redis, settings, START + 100).steps == []


def test_pause_resume_and_delete(redis: Redis, settings: Settings) -> None:
    store(redis)
    schedule_store.set_paused(redis, "every10", True, now=START - 1)
    assert fire_due(redis, settings, START + 30).steps == []
    resumed = schedule_store.set_paused(redis, "every10", False, now=START + 31).info
    assert resumed.next_run_at == START + 40
    assert resumed.missed_total == 0  # runs due while paused are not fired
    schedule_store.delete(redis, "every10")
    assert fire_due(redis, settings, START + 100).steps == []
    assert redis.exists(keys.schedule_key("every10")) == 0


def test_upsert_is_idempotent(redis: Redis) -> None:
    spec = ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "interval": 5})
    first = schedule_store.upsert(redis, spec, now=START)
    again = schedule_store.upsert(
        redis, ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "interval": 5}), now=START + 3
    )
    assert first.created
    assert not again.created
    assert not again.changed
    assert again.info.updated_at == START
    assert again.info.next_run_at == START + 5
    changed = schedule_store.upsert(
        redis, ScheduleSpec.from_mapping({"name": "s", "task": "tests.echo", "interval": 7}), now=START + 3
    )
    assert changed.changed
    assert changed.info.spec.start_at == START
    assert changed.info.next_run_at == START + 7


def test_trigger_runs_now(redis: Redis, settings: Settings) -> None:
    spec = store(redis)
    job_id = trigger(redis, settings, spec, now=START - 0.5)
    assert fetch(redis, job_id).meta["schedule"] == "every10"
    assert schedule_store.runs(redis, "every10", 5)[0]["job_id"] == job_id


def test_runs_are_counted_for_prometheus(redis: Redis, settings: Settings) -> None:
    from workers.observability.metrics import SCHEDULE_LATENESS, SCHEDULE_RUNS

    store(redis, misfire_grace_time=5, overlap="skip")
    fire_due(redis, settings, START + 32.5)  # 0, 10, 20 missed; 30 fired 2.5 s late
    fire_due(redis, settings, START + 40)  # skipped: the run of 30 is still queued
    runs = {k.decode(): int(v) for k, v in redis.hgetall(SCHEDULE_RUNS.key).items()}
    assert sorted(runs.values()) == [1, 1, 3]
    assert len(runs) == 3
    lateness = {k.decode(): float(v) for k, v in redis.hgetall(SCHEDULE_LATENESS.key).items()}
    assert 2.5 <= lateness['["every10","sum"]'] < 3.5  # plus the time the step itself took


def test_combined_schedule_metrics_keep_one_series_for_all_schedules(redis: Redis, settings: Settings) -> None:
    from workers.observability.metrics import SCHEDULE_LATENESS, SCHEDULE_RUNS

    combined = settings.model_copy(update={"schedule_metrics": "combined"})
    store(redis)
    schedule_store.upsert(
        redis, ScheduleSpec.from_mapping({"name": "other", "task": "tests.echo", "interval": 10}), START
    )
    fire_due(redis, combined, START + 10.5)
    runs = {k.decode(): int(v) for k, v in redis.hgetall(SCHEDULE_RUNS.key).items()}
    assert runs == {'["*","fired"]': 2, '["*","missed"]': 1}  # every10's run due at START was missed
    assert all(field.startswith(b'["*",') for field in redis.hkeys(SCHEDULE_LATENESS.key))
