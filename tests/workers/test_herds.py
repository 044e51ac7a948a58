"""Herds staged ahead of their due time and released at it write what the fire step writes, and nothing twice."""

import time
from typing import Any

import pytest
from redis import Redis
from rq.scheduler import RQScheduler

from service.settings import ServiceSettings
from workers.core import keys
from workers.jobs import submit
from workers.observability.metrics import LATENESS_BUCKETS, SCHEDULE_LATENESS, SCHEDULE_RUNS
from workers.rq_seam.job import TaskJob, run_keys
from workers.rq_seam.scheduler import ServiceScheduler
from workers.schedules import release_script
from workers.schedules import store as schedule_store
from workers.schedules.firing import fire_due, run_job_id
from workers.schedules.herds import HERD_MIN, Herds
from workers.schedules.spec import ScheduleSpec

START = 1_800_000_000.0  # a minute boundary
QUEUE = "rq:queue:default"
STAMPS = {b"created_at", b"enqueued_at", b"meta"}  # a run's own fields: its times, and its schedule's name


def store(redis: Redis, prefix: str, count: int, now: float = START - 30, **fields: Any) -> list[str]:
    """`count` schedules on one cron expression (one argument for all), due at START."""
    names = [f"{prefix}-{n:05d}" for n in range(count)]
    for name in names:
        spec = {"name": name, "task": "tests.echo", "args": [1], "cron": "* * * * *", **fields}
        schedule_store.upsert(redis, ScheduleSpec.from_mapping(spec), now=now)
    return names


def stage_all(herds: Herds, now: float, token: str = "") -> None:
    while herds.stage(now, token):
        pass


def fire_all(redis: Redis, settings: ServiceSettings, now: float, token: str = "") -> list[str]:
    fired: list[str] = []
    while steps := fire_due(redis, settings, now, token).steps:
        fired += [step.name for step in steps]
    return fired


def metrics_of(redis: Redis, name: str) -> dict[bytes, bytes]:
    found = {**redis.hgetall(SCHEDULE_RUNS.key), **redis.hgetall(SCHEDULE_LATENESS.key)}
    return {field.replace(name.encode(), b"*"): value for field, value in found.items() if name.encode() in field}


def test_a_staged_herd_is_released_at_its_due_time_as_the_fire_step_would_fire_it(
    redis: Redis, settings: ServiceSettings
) -> None:
    # Given a herd staged a few seconds ahead (more than one batch), and the same herd left to the fire step
    staged = store(redis, "herd", 1_037)
    plain = store(redis, "plain", HERD_MIN)
    later = START + 0.5  # the fire step's herd out of the way of the staged herd's probe
    for name in plain:
        redis.zadd(keys.SCHEDULES_DUE, {name: later})
    herds = Herds(redis, settings)
    stage_all(herds, START - 3)

    # Then before the due time each run's job is written and waiting: scheduled, on no queue, in no RQ registry
    job = TaskJob.fetch(run_job_id(staged[0], START), connection=redis)
    assert job.get_status().value == "scheduled"
    assert job.enqueued_at is None
    assert redis.llen(QUEUE) == 0
    assert redis.zcard("rq:scheduled:default") == 0
    assert redis.ttl(job.key) > 0  # a staged job nobody releases or fires goes away by itself
    assert {info.runs_total for info in schedule_store.get_many(redis, staged)} == {0}

    # When the herd is released at its due time, and the other one fired by the fire step
    released = herds.release(START + 0.002, "")
    fired = fire_all(redis, settings, START + 0.502)

    # Then every staged run is on its queue once, in the due set's order, as the fire step queues them
    assert [step.name for step in released] == staged
    assert fired == plain
    queued = [job_id.decode() for job_id in redis.lrange(QUEUE, 0, -1)]
    assert queued == [run_job_id(name, START) for name in staged] + [run_job_id(name, later) for name in plain]
    # And each job is the fire step's job, field for field, but for its own times and schedule
    ours = redis.hgetall(TaskJob.key_for(run_job_id(staged[-1], START)))
    theirs = redis.hgetall(TaskJob.key_for(run_job_id(plain[-1], later)))
    assert {k: v for k, v in ours.items() if k not in STAMPS} == {k: v for k, v in theirs.items() if k not in STAMPS}
    assert ours[b"status"] == b"queued"
    assert ours[b"enqueued_at"].startswith(b"2027-01-15T08:00:00.")  # RQ's format, at the release (START)
    assert redis.ttl(TaskJob.key_for(run_job_id(staged[-1], START))) == -1
    assert TaskJob.fetch(run_job_id(staged[-1], START), connection=redis).meta["schedule"] == staged[-1]
    # And the schedule, its ledger and its metrics read as the fire step's do
    mine, other = schedule_store.get(redis, staged[-1]), schedule_store.get(redis, plain[-1])
    assert (mine.runs_total, mine.next_run_at, mine.last_due_at, mine.last_status) == (1, START + 60, START, "queued")
    assert (other.runs_total, other.next_run_at, other.last_due_at) == (1, START + 60, later)
    assert (mine.last_run_at or 0) >= START + 0.002
    runs = schedule_store.runs(redis, staged[-1], 10)
    assert [(run["job_id"], run["due_at"], run["status"]) for run in runs] == [
        (run_job_id(staged[-1], START), START, "queued")
    ]
    assert runs[0]["fired_at"] >= START + 0.002
    assert redis.hget(keys.schedule_key(staged[-1]), "kept") == b"1800000000000"  # the run's job, kept by count
    lateness = runs[0]["fired_at"] - START
    bucket = next(bound for bound in LATENESS_BUCKETS if lateness <= bound)
    metrics = metrics_of(redis, staged[-1])
    assert float(metrics.pop(b'["*","sum"]')) == pytest.approx(lateness, abs=1e-6)
    assert metrics == {b'["*","fired"]': b"1", f'["*",{bucket}]'.encode(): b"1"}
    assert len(metrics_of(redis, plain[-1])) == 3


def test_a_schedule_changed_after_staging_does_not_run_its_staged_job(redis: Redis, settings: ServiceSettings) -> None:
    # Given a staged herd
    names = store(redis, "herd", HERD_MIN + 3)
    herds = Herds(redis, settings)
    stage_all(herds, START - 3)
    edited, paused, deleted = names[:3]

    # When one is edited (still due then), one paused and one deleted before the due time, and the herd released
    spec = {"name": edited, "task": "tests.echo", "args": ["changed"], "cron": "* * * * *"}
    schedule_store.upsert(redis, ScheduleSpec.from_mapping(spec), now=START - 2)
    schedule_store.set_paused(redis, paused, True, START - 2)
    schedule_store.delete(redis, deleted)
    released = herds.release(START + 0.002, "")

    # Then none of the three is released, and the staged jobs of the paused and deleted ones are gone
    assert [step.name for step in released] == names[3:]
    for name in (paused, deleted):
        assert not redis.exists(TaskJob.key_for(run_job_id(name, START)))
    # And the fire step fires the edited one's new definition, once
    assert fire_all(redis, settings, START + 0.003) == [edited]
    assert TaskJob.fetch(run_job_id(edited, START), connection=redis).args == ["tests.echo", ["changed"], {}]
    queued = [job_id.decode() for job_id in redis.lrange(QUEUE, 0, -1)]
    assert sorted(queued) == sorted(run_job_id(name, START) for name in [edited, *names[3:]])
    assert schedule_store.get(redis, paused).runs_total == 0


def staged_then_taken_over(
    redis: Redis, settings: ServiceSettings, now: float
) -> tuple[ServiceScheduler, ServiceScheduler]:
    """Scheduler A stages the herd due at START at `now`, then stalls (or dies): B takes its lock over."""
    first, second = ServiceScheduler(redis, settings), ServiceScheduler(redis, settings)
    assert first.acquire_lock()
    while first.firing.stage_ahead(now, first.token, START):
        pass
    redis.delete(keys.SCHEDULER_LOCK)
    assert second.acquire_lock()
    return first, second


def test_a_lock_lost_after_staging_fires_every_run_once(redis: Redis, settings: ServiceSettings) -> None:
    # Given scheduler A that staged a herd, then stalled (or died): B takes the lock over
    names = store(redis, "herd", HERD_MIN + 10)
    first, second = staged_then_taken_over(redis, settings, START - 3)

    # When B, which staged nothing, fires at the due time, and A then tries to release
    fired = fire_all(redis, settings, START + 0.5, second.token)
    stale = first.fire_pass(START + 0.5)

    # Then B fired each run once, over the staged jobs (now queued and persistent); A wrote nothing
    assert fired == names
    assert stale.lock_lost
    assert stale.steps == []
    assert redis.llen(QUEUE) == len(names)
    job_key = TaskJob.key_for(run_job_id(names[0], START))
    assert redis.hget(job_key, "status") == b"queued"
    assert redis.ttl(job_key) == -1
    assert {info.runs_total for info in schedule_store.get_many(redis, names)} == {1}
    second.remove_lock()


def test_a_scheduler_that_takes_over_before_the_due_time_stages_and_releases_once(
    redis: Redis, settings: ServiceSettings
) -> None:
    names = store(redis, "herd", HERD_MIN)
    first, second = staged_then_taken_over(redis, settings, START - 4)
    while second.firing.stage_ahead(START - 3, second.token, START):
        pass
    assert first.fire_pass(START + 0.01).lock_lost
    done = second.fire_pass(START + 0.01)
    assert [step.name for step in done.steps] == names
    assert redis.llen(QUEUE) == len(names)
    second.remove_lock()


def test_rqs_own_scheduler_never_moves_a_staged_job(redis: Redis, settings: ServiceSettings) -> None:
    # Given a herd staged ahead, and RQ's scheduler (every worker runs one) on its queue
    names = store(redis, "herd", HERD_MIN, now=time.time() - 30)
    due = float(redis.zscore(keys.SCHEDULES_DUE, names[0]) or 0)
    herds = Herds(redis, settings)
    stage_all(herds, due - 3)
    rq_scheduler = RQScheduler(["default"], connection=redis)
    try:
        rq_scheduler.acquire_locks()
        # When RQ's scheduler moves what is due in its registries, before and after the release
        rq_scheduler.enqueue_scheduled_jobs()
        assert redis.llen(QUEUE) == 0
        released = herds.release(due + 0.001, "")
        rq_scheduler.enqueue_scheduled_jobs()
    finally:
        rq_scheduler.release_locks()
    # Then each run is on its queue once: the staged jobs were in none of RQ's registries
    assert len(released) == len(names)
    assert sorted(redis.lrange(QUEUE, 0, -1)) == sorted(run_job_id(name, due).encode() for name in names)


def test_a_herd_released_past_its_grace_is_left_to_the_fire_step(redis: Redis, settings: ServiceSettings) -> None:
    names = store(redis, "herd", HERD_MIN)
    herds = Herds(redis, settings)
    stage_all(herds, START - 3)
    assert herds.release(START + 61, "") == []
    assert fire_all(redis, settings, START + 61) == names
    runs = schedule_store.runs(redis, names[0], 10)
    assert [(run["due_at"], run["status"]) for run in runs] == [(START + 60, "queued"), (START, "missed")]
    staged_key = TaskJob.key_for(run_job_id(names[0], START))
    assert redis.hget(staged_key, "status") == b"scheduled"  # never queued; it expires by itself
    assert 0 < redis.ttl(staged_key)
    assert redis.llen(QUEUE) == len(names)


def test_a_staged_job_canceled_before_its_time_is_recorded_not_queued(redis: Redis, settings: ServiceSettings) -> None:
    names = store(redis, "herd", HERD_MIN)
    herds = Herds(redis, settings)
    stage_all(herds, START - 3)
    submit.cancel(redis, run_job_id(names[0], START))
    released = herds.release(START + 0.001, "")
    assert len(released) == len(names)
    assert redis.llen(QUEUE) == len(names) - 1
    assert schedule_store.runs(redis, names[0], 1)[0]["status"] == "canceled"


def test_a_released_run_releases_the_run_that_falls_out_of_the_kept_ones(
    redis: Redis, settings: ServiceSettings
) -> None:
    # Given a herd that keeps one run, fired once by the fire step (nobody works on the runs)
    kept = settings.model_copy(update={"schedule_runs_kept": 1})
    names = store(redis, "herd", HERD_MIN)
    assert fire_all(redis, kept, START + 0.001) == names
    # When its next run is staged and released
    herds = Herds(redis, kept)
    stage_all(herds, START + 57)
    assert len(herds.release(START + 60.001, "")) == len(names)
    # Then the first run fell out: still queued, it is handed back to RESULT_TTL; the second is the one kept
    first = TaskJob.fetch(run_job_id(names[0], START), connection=redis)
    assert first.result_ttl == settings.result_ttl
    assert schedule_store.kept_ids(names[0], redis.hget(keys.schedule_key(names[0]), "kept")) == [
        run_job_id(names[0], START + 60)
    ]
    assert schedule_store.get(redis, names[0]).runs_total == 2


def test_the_scheduler_loop_stages_a_herd_and_fires_each_run_once(redis: Redis, settings: ServiceSettings) -> None:
    # Given a herd due at a whole second a few seconds from now, and the scheduler's loop
    # (on a yearly cron: its next run after this one is not within the test, wherever the clock is)
    names = store(redis, "herd", HERD_MIN, now=time.time(), cron="0 0 1 1 *")
    due = float(int(time.time()) + 3)
    for name in names:
        redis.zadd(keys.SCHEDULES_DUE, {name: due})
    scheduler = ServiceScheduler(redis, settings)
    # When the loop runs until each has fired (a bound only against a hang)
    deadline = time.time() + 60
    while redis.llen(QUEUE) < len(names) and time.time() < deadline:
        time.sleep(scheduler.step())
    time.sleep(scheduler.step())
    scheduler.remove_lock()
    # Then each ran once
    assert redis.llen(QUEUE) == len(names)
    assert {info.runs_total for info in schedule_store.get_many(redis, names)} == {1}


def test_a_key_of_the_wrong_type_refuses_that_run_only(redis: Redis, settings: ServiceSettings) -> None:
    # Given a staged herd, one of whose staged jobs someone overwrote with a string
    names = store(redis, "herd", HERD_MIN)
    herds = Herds(redis, settings)
    stage_all(herds, START - 3)
    broken = TaskJob.key_for(run_job_id(names[0], START))
    redis.delete(broken)
    redis.set(broken, "not a job")
    # When the herd is released: that run is refused, every other one released
    assert [step.name for step in herds.release(START + 0.001, "")] == names[1:]
    # Then the fire step records it as an error run, as it does for such a key; nothing half-written
    steps = fire_due(redis, settings, START + 0.002).steps
    assert [(step.name, step.outcome) for step in steps] == [(names[0], "error")]
    assert redis.llen(QUEUE) == len(names) - 1
    assert redis.get(broken) == b"not a job"


def test_runs_released_by_a_scheduler_that_died_before_recording_them_are_recorded_once(
    redis: Redis, settings: ServiceSettings
) -> None:
    # Given a herd released at its due time by a scheduler that died before its recording step
    names = store(redis, "herd", HERD_MIN)
    herds = Herds(redis, settings)
    stage_all(herds, START - 3)
    staged = herds._staged[START].values()  # the release's first step alone, as a crash would leave it
    answers = release_script.release(redis, "", START + 0.001, [run.run for run in staged])
    assert answers == [1] * len(names)
    assert redis.llen(QUEUE) == len(names)
    assert schedule_store.runs(redis, names[0], 10) == []

    # When another scheduler's loop passes by, twice
    other = ServiceScheduler(redis, settings)
    other.fire_pass(START + 0.5)
    other.fire_pass(START + 0.5)

    # Then each run is in its ledger and counted once, and nothing fired again
    for name in names:
        assert [run["due_at"] for run in schedule_store.runs(redis, name, 10)] == [START]
    assert metrics_of(redis, names[0])[b'["*","fired"]'] == b"1"
    assert redis.llen(keys.SCHEDULES_RECORDING) == 0
    assert redis.llen(QUEUE) == len(names)


def test_a_finished_run_that_falls_out_is_deleted_unless_its_webhook_is_pending(
    redis: Redis, settings: ServiceSettings, run_worker: Any
) -> None:
    # Given two herds that keep one run each, one with a webhook nobody answers, fired once and run
    kept = settings.model_copy(update={"schedule_runs_kept": 1, "callback_hosts": ["hooks.example.com"]})
    hooked = store(redis, "hooked", HERD_MIN, callback_url="https://hooks.example.com/rqs")
    plain = store(redis, "plain", HERD_MIN)
    assert fire_all(redis, kept, START + 0.001) == hooked + plain
    run_worker()
    # When their next runs are staged and released
    herds = Herds(redis, kept)
    stage_all(herds, START + 57)
    assert len(herds.release(START + 60.001, "")) == 2 * HERD_MIN
    # Then a first run without a webhook is gone; one whose webhook is pending lives RESULT_TTL for it
    gone = run_keys(run_job_id(plain[0], START), "default")
    assert redis.exists(gone[0], gone[1]) == 0
    job_key, results_key, _ = run_keys(run_job_id(hooked[0], START), "default")
    assert 0 < redis.ttl(job_key) <= kept.result_ttl
    assert 0 < redis.ttl(results_key) <= kept.result_ttl
