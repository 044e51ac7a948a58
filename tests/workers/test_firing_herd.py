"""Cron herds fire in batches (one guarded Lua call each), and a schedule's runs are kept by count."""

import json
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from service.settings import ServiceSettings
from tests.support.keys import ADMIN
from workers.callbacks import outbox
from workers.callbacks.body import job_body
from workers.core import keys
from workers.rq_seam.job import TaskJob, run_keys
from workers.rq_seam.scheduler import ServiceScheduler
from workers.schedules import store as schedule_store
from workers.schedules.firing import BATCH, Fired, fire_due, run_job_id
from workers.schedules.spec import ScheduleSpec

START = 1_800_000_000.0
HERD = BATCH * 2 + 37  # three batches, the last one partial


def store_herd(redis: Redis, count: int = HERD) -> list[str]:
    """`count` schedules on one cron expression, all due at START (a minute boundary)."""
    names = [f"herd-{n:05d}" for n in range(count)]
    for name in names:
        spec = ScheduleSpec.from_mapping({"name": name, "task": "tests.echo", "args": [name], "cron": "* * * * *"})
        schedule_store.upsert(redis, spec, now=START - 30)
    assert redis.zcount(keys.SCHEDULES_DUE, START, START) == count
    return names


def fire_all(redis: Redis, settings: ServiceSettings, now: float, token: str = "") -> list[Fired]:
    steps: list[Fired] = []
    while True:
        done = fire_due(redis, settings, now, token)
        steps.extend(done.steps)
        if not done.steps:
            return steps


def test_a_herd_fires_each_schedule_exactly_once(redis: Redis, settings: ServiceSettings) -> None:
    # Given a herd due at one instant, fired by four schedulers' steps at once
    names = store_herd(redis)
    steps: list[Fired] = []
    threads = [threading.Thread(target=lambda: steps.extend(fire_all(redis, settings, START + 0.5))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every schedule fired its due time once: one job each, on the queue once, counted once
    assert sorted(step.name for step in steps) == names
    assert {step.outcome for step in steps} == {"fired"}
    assert sorted(step.job_id or "" for step in steps) == sorted(run_job_id(name, START) for name in names)
    assert redis.llen("rq:queue:default") == HERD
    infos = schedule_store.get_many(redis, names)
    assert {(info.runs_total, info.next_run_at) for info in infos} == {(1, START + 60)}
    assert all(len(schedule_store.runs(redis, name, 10)) == 1 for name in names[:: BATCH // 5])
    job = TaskJob.fetch(run_job_id(names[-1], START), connection=redis)
    assert job.args == ["tests.echo", [names[-1]], {}]  # each run's own arguments, not a neighbour's
    assert job.meta["schedule"] == names[-1]


def test_a_lock_lost_mid_herd_fires_nothing_twice(redis: Redis, settings: ServiceSettings) -> None:
    # Given a herd, and scheduler A holding the lock
    names = store_herd(redis)
    first, second = ServiceScheduler(redis, settings), ServiceScheduler(redis, settings)
    assert first.acquire_lock()

    # When A fires one batch, then loses the lock to B (A stalled past its TTL), and tries again
    done = first.fire_pass(START + 0.5)
    assert len(done.steps) == BATCH
    redis.delete(keys.SCHEDULER_LOCK)
    assert second.acquire_lock()
    stale = first.fire_pass(START + 0.5)

    # Then A wrote nothing and gives up the lock; B fires the rest; each schedule fired once
    assert stale.lock_lost
    assert stale.steps == []
    assert first._lock_acquired is False
    rest = fire_all(redis, settings, START + 0.5, second.token)
    fired = [step.name for step in done.steps + rest]
    assert sorted(fired) == names
    assert redis.llen("rq:queue:default") == HERD
    second.remove_lock()


def every10(redis: Redis, **fields: Any) -> None:
    spec = {"name": "every10", "task": "tests.echo", "args": [1], "interval": 10, "start_at": START, **fields}
    schedule_store.upsert(redis, ScheduleSpec.from_mapping(spec), now=START - 1)


def fire_and_run(redis: Redis, settings: ServiceSettings, run_worker: Any, runs: int) -> list[str]:
    """Fire `runs` runs of every10, each run to its end by a real worker before the next fires."""
    job_ids = []
    for n in range(runs):
        step = fire_due(redis, settings, START + 10 * n + 0.001).steps[0]
        assert step.outcome == "fired"
        job_ids.append(step.job_id or "")
        run_worker()
    return job_ids


def test_a_schedule_keeps_its_last_runs_jobs_by_count(redis: Redis, settings: ServiceSettings, run_worker: Any) -> None:
    # Given a schedule that keeps its 3 newest runs, and 6 runs fired and finished
    kept = settings.model_copy(update={"schedule_runs_kept": 3})
    every10(redis)
    job_ids = fire_and_run(redis, kept, run_worker, 6)

    # Then the 3 newest runs' jobs and results are there, kept by count (their TTL only a far backstop)
    for job_id in job_ids[3:]:
        job = TaskJob.fetch(job_id, connection=redis)
        assert job.get_status().value == "finished"
        assert job.latest_result() is not None
        assert redis.ttl(TaskJob.key_for(job_id)) > 365 * 86_400
    # And the older ones are gone: hash, result, and their place in the finished registry
    for job_id in job_ids[:3]:
        job_key, results_key, registries = run_keys(job_id, "default")
        assert redis.exists(job_key, results_key) == 0
        assert all(redis.zscore(registry, job_id) is None for registry in registries)
    assert redis.zcard("rq:finished:default") == 3
    # And the ledger keeps every run
    assert len(schedule_store.runs(redis, "every10", 50)) == 6


def test_a_busy_run_that_falls_out_is_left_to_result_ttl(redis: Redis, settings: ServiceSettings) -> None:
    # Given a schedule that keeps one run, and runs nobody works on
    kept = settings.model_copy(update={"schedule_runs_kept": 1})
    every10(redis)
    first = fire_due(redis, kept, START + 0.001).steps[0].job_id or ""
    fire_due(redis, kept, START + 10.001)
    # Then the queued run that fell out was not deleted: it will expire RESULT_TTL after it ends
    job = TaskJob.fetch(first, connection=redis)
    assert job.get_status().value == "queued"
    assert job.result_ttl == settings.result_ttl


def test_a_run_whose_webhook_is_pending_is_left_to_result_ttl(
    redis: Redis, settings: ServiceSettings, run_worker: Any
) -> None:
    # Given a schedule with a webhook that keeps one run, and three runs finished whose
    # deliveries are still to come (nobody answers at hooks.example.com)
    kept = settings.model_copy(update={"schedule_runs_kept": 1, "callback_hosts": ["hooks.example.com"]})
    every10(redis, callback_url="https://hooks.example.com/rqs")
    job_ids = fire_and_run(redis, kept, run_worker, 3)
    assert all(outbox.read(redis, job_id).status == outbox.PENDING for job_id in job_ids)  # type: ignore[union-attr]

    # Then the runs that fell out are kept RESULT_TTL for their webhook, not deleted: its body reads the job
    for job_id in job_ids[:2]:
        job_key, results_key, _ = run_keys(job_id, "default")
        assert 0 < redis.ttl(job_key) <= kept.result_ttl
        assert 0 < redis.ttl(results_key) <= kept.result_ttl
        assert time.time() < (redis.zscore("rq:finished:default", job_id) or 0) <= time.time() + kept.result_ttl
        assert job_body(redis, job_id) is not None


def test_result_ttl_set_on_the_schedule_wins(redis: Redis, settings: ServiceSettings, run_worker: Any) -> None:
    kept = settings.model_copy(update={"schedule_runs_kept": 2})
    every10(redis, result_ttl=300)
    job_ids = fire_and_run(redis, kept, run_worker, 4)
    for job_id in job_ids:  # none released by count: each expires 300 s after it finished
        assert TaskJob.fetch(job_id, connection=redis).result_ttl == 300
        assert 0 < redis.ttl(TaskJob.key_for(job_id)) <= 300
    assert schedule_store.get(redis, "every10").runs_total == 4


def test_runs_show_a_run_whose_job_is_gone_as_expired(
    client: TestClient, redis: Redis, settings: ServiceSettings, run_worker: Any
) -> None:
    kept = settings.model_copy(update={"schedule_runs_kept": 2})
    every10(redis)
    job_ids = fire_and_run(redis, kept, run_worker, 4)
    runs = client.get("/schedules/every10/runs?limit=10", headers=ADMIN).json()["runs"]
    assert [run["job_id"] for run in runs] == job_ids[::-1]  # newest first; the id stays in the ledger
    assert [run["status"] for run in runs] == ["finished", "finished", "expired", "expired"]
    assert [run["job_expired"] for run in runs] == [False, False, True, True]
    for run in runs:
        found = client.get(f"/jobs/{run['job_id']}", headers=ADMIN)
        assert found.status_code == (404 if run["job_expired"] else 200)


def test_deleting_a_schedule_hands_its_kept_runs_to_result_ttl(
    redis: Redis, settings: ServiceSettings, run_worker: Any
) -> None:
    every10(redis)
    job_ids = fire_and_run(redis, settings, run_worker, 2)
    schedule_store.delete(redis, "every10", result_ttl=120)
    for job_id in job_ids:
        assert 0 < redis.ttl(TaskJob.key_for(job_id)) <= 120
        assert time.time() < (redis.zscore("rq:finished:default", job_id) or 0) <= time.time() + 120  # was +inf


def test_kept_runs_results_are_compacted_and_still_read(
    redis: Redis, settings: ServiceSettings, run_worker: Any
) -> None:
    every10(redis)
    job_ids = fire_and_run(redis, settings, run_worker, 3)
    sizes = [redis.memory_usage(run_keys(job_id, "default")[1], samples=0) or 0 for job_id in job_ids]
    assert sizes[0] < sizes[2] / 2  # the newest is as the worker wrote it; the older ones rewritten at their size
    for job_id in job_ids:
        result = TaskJob.fetch(job_id, connection=redis).latest_result()
        assert result is not None
        assert result.return_value == 1


@pytest.mark.parametrize(
    "entry",
    [
        {"job_id": "s-1800000000000", "due_at": START, "fired_at": START + 0.0012, "status": "fired"},
        {"job_id": "s-trigger-abc", "due_at": START + 0.25, "fired_at": START + 0.25, "status": "fired"},
        {"job_id": None, "due_at": START, "fired_at": None, "status": "missed"},
        {"job_id": None, "due_at": START, "fired_at": START + 2, "status": "skipped"},
        {"job_id": None, "due_at": START, "fired_at": None, "status": "error", "reason": "a | b: c"},
    ],
)
def test_ledger_entries_are_compact_and_read_back(entry: dict[str, Any]) -> None:
    raw = schedule_store.encode_entry("s", entry)
    assert len(raw) < len(json.dumps(entry)) / 2
    back = schedule_store.decode_entry("s", raw)
    assert back.keys() == entry.keys()
    assert back["fired_at"] == pytest.approx(entry["fired_at"], abs=1e-6)
    assert {**back, "fired_at": None} == {**entry, "fired_at": None}


def test_ledger_entries_an_earlier_version_wrote_are_read() -> None:
    entry = {"job_id": "s-1", "due_at": START, "fired_at": START, "status": "fired"}
    assert schedule_store.decode_entry("s", json.dumps(entry).encode()) == entry
