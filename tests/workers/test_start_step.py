"""The one-step take-and-start writes what RQ's own start writes, field by field, and loses no job."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.executions import ExecutionRegistry, prepare_execution
from rq.job import JobStatus
from rq.suspension import resume, suspend
from rq.worker import WorkerStatus

from bench.harness.wait import wait_until
from workers.core.keys import alive_key
from workers.core.settings import Settings
from workers.jobs.submit import JobSpec, submit
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue
from workers.rq_seam.reaper import LIVENESS_TTL
from workers.rq_seam.start_step import Limited, take_and_start, wait_for_one
from workers.rq_seam.worker import ServiceWorker
from workers.tasks.registry import registry, task
from workers.worker.heartbeat import HEARTBEAT_TTL

TIMES = {"created_at", "enqueued_at", "started_at", "last_heartbeat"}
JOB_TTL_BEFORE = 1000  # a TTL the start's PERSIST must clear


def enqueue(
    redis: Redis,
    settings: Settings,
    count: int = 1,
    queue: str = "default",
    task: str = "examples.noop",
    args: list[Any] | None = None,
) -> list[str]:
    """Jobs submitted as the API submits them (their description names their task)."""
    spec = JobSpec(task=task, queue=queue, args=args or [])
    ids = [submit(redis, settings, spec).job.id for _ in range(count)]
    for job_id in ids:
        redis.expire(TaskJob.key_for(job_id), JOB_TTL_BEFORE)
    return ids


def started_by_rq(redis: Redis, worker: ServiceWorker) -> tuple[str, str]:
    """RQ's own start of the next job: its dequeue's move, `prepare_execution`, `prepare_job_execution`."""
    queue = get_queue("default", redis)
    job_id = redis.lmove(queue.key, queue.intermediate_queue_key).decode()
    job = TaskJob.fetch(job_id, connection=redis)
    execution = prepare_execution(worker, job)
    SimpleWorker.prepare_job_execution(worker, job, remove_from_intermediate_queue=True)
    return job_id, execution.id


def started_by_step(worker: ServiceWorker) -> tuple[str, str]:
    batch = worker._take_batch(blocking=False)
    [(job, _, execution)] = batch.started
    return job.id, execution.id


def written(redis: Redis, queue_name: str, job_id: str, execution_id: str) -> dict[str, Any]:
    """Everything a start writes for one job, timestamps and ids left out or checked for their shape."""
    member = f"{job_id}:{execution_id}"
    job = {k.decode(): v.decode("latin-1") for k, v in redis.hgetall(TaskJob.key_for(job_id)).items()}
    execution_key = f"rq:execution:{member}"
    execution = {k.decode(): v.decode() for k, v in redis.hgetall(execution_key).items()}
    executions = ExecutionRegistry(job_id, connection=redis)
    started = get_queue(queue_name, redis).started_job_registry
    score = redis.zscore(started.key, member)
    assert score is not None
    assert score - HEARTBEAT_TTL - int(float(execution["created_at"])) in (0, 1)  # now + ttl, in whole seconds
    assert redis.zscore(executions.key, execution_id) == score + 60
    return {
        "job": {k: v for k, v in job.items() if k not in TIMES} | {"times": sorted(TIMES & job.keys())},
        "started_at is last_heartbeat": job["started_at"] == job["last_heartbeat"],
        "job ttl": redis.ttl(TaskJob.key_for(job_id)),
        "execution": {k: v for k, v in execution.items() if k not in TIMES | {"id", "job_id"}},
        "execution ids": (execution["id"], execution["job_id"]) == (execution_id, job_id),
        "execution fields": sorted(execution),
        "execution ttl": redis.ttl(execution_key),
        "execution registry ttl": redis.ttl(executions.key),
        "in the worker's executions": redis.sismember(f"rq:worker:{job['worker_name']}:executions", member),
    }


def test_the_step_writes_what_rqs_start_writes(redis: Redis, settings: Settings) -> None:
    ids = enqueue(redis, settings, 2)
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    worker.register_birth()
    theirs = written(redis, "default", *started_by_rq(redis, worker))
    worker.set_state(WorkerStatus.IDLE)
    ours = written(redis, "default", *started_by_step(worker))
    assert ours == theirs
    assert ours["job"]["status"] == JobStatus.STARTED
    assert ours["job ttl"] == -1
    assert redis.llen(get_queue("default", redis).intermediate_queue_key) == 0
    assert redis.hget(worker.key, "state") == WorkerStatus.BUSY.value.encode()
    assert 0 < redis.ttl(alive_key(worker.name)) <= LIVENESS_TTL
    assert sorted(redis.zrange(get_queue("default", redis).started_job_registry.key, 0, -1)) == sorted(
        f"{job_id}:{execution_id}".encode() for job_id, execution_id in (worker_executions(redis, worker, ids))
    )


def worker_executions(redis: Redis, worker: ServiceWorker, ids: list[str]) -> list[tuple[str, str]]:
    members = [m.decode().split(":") for m in redis.smembers(worker.executions_key)]
    assert sorted(job_id for job_id, _ in members) == sorted(ids)
    return [(job_id, execution_id) for job_id, execution_id in members]


def test_the_started_job_in_memory_is_the_one_in_redis(redis: Redis, settings: Settings) -> None:
    enqueue(redis, settings)
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    [(job, _, execution)] = worker._take_batch(blocking=False).started
    stored = TaskJob.fetch(job.id, connection=redis)
    assert (job.get_status(refresh=False), job.worker_name) == (JobStatus.STARTED, worker.name)
    assert (job.started_at, job.last_heartbeat) == (stored.started_at, stored.last_heartbeat)
    assert execution.composite_key in {m.decode() for m in redis.smembers(worker.executions_key)}
    assert worker.get_state() == WorkerStatus.BUSY


def test_a_batch_takes_the_free_slots_worth_in_priority_order(redis: Redis, settings: Settings) -> None:
    high, low = get_queue("high", redis), get_queue("low", redis)
    low_ids = enqueue(redis, settings, 3, queue="low")
    [high_id] = enqueue(redis, settings, 1, queue="high")
    worker = ServiceWorker([high, low], connection=redis, concurrency=3)
    assert worker.engine.free_slots() == 3  # a fresh worker has seen no short job end: it takes none ahead
    batch = worker._take_batch(blocking=False)
    assert [job.id for job, _, _ in batch.started] == [high_id, *low_ids[:2]]
    assert low.get_job_ids() == low_ids[2:]


def test_an_id_whose_hash_is_gone_is_dropped(redis: Redis, settings: Settings) -> None:
    queue = get_queue("default", redis)
    [job_id] = enqueue(redis, settings)
    redis.rpush(queue.key, "gone")
    redis.lpush(queue.key, "gone-too")
    worker = ServiceWorker([queue], connection=redis)
    batch = worker._take_batch(blocking=False)
    assert [job.id for job, _, _ in batch.started] == [job_id]
    assert redis.llen(queue.key) == redis.llen(queue.intermediate_queue_key) == 0
    assert not redis.exists(TaskJob.key_for("gone"))


def test_a_suspended_worker_starts_nothing_and_puts_back_what_it_waited_for(redis: Redis, settings: Settings) -> None:
    queue = get_queue("default", redis)
    ids = enqueue(redis, settings, 2)
    worker = ServiceWorker([queue], connection=redis)
    moved = wait_for_one(queue, redis, 0.1)
    assert moved == (queue, ids[0])
    suspend(redis)
    batch = take_and_start([queue], 1, redis, TaskJob, worker._worker_side(), HEARTBEAT_TTL, Limited(), moved=moved)
    assert batch.suspended and not batch.started
    assert queue.get_job_ids() == ids
    assert redis.llen(queue.intermediate_queue_key) == 0
    resume(redis)
    assert [job.id for job, _, _ in worker._take_batch(blocking=False).started] == ids


def test_the_id_blmove_took_is_started_first(redis: Redis, settings: Settings) -> None:
    queue = get_queue("default", redis)
    ids = enqueue(redis, settings, 3)
    worker = ServiceWorker([queue], connection=redis, concurrency=2)
    moved = wait_for_one(queue, redis, 0.1)
    batch = take_and_start([queue], 2, redis, TaskJob, worker._worker_side(), HEARTBEAT_TTL, Limited(), moved=moved)
    assert [job.id for job, _, _ in batch.started] == ids[:2]  # the moved one is one of the two wanted
    assert redis.llen(queue.intermediate_queue_key) == 0
    assert queue.get_job_ids() == ids[2:]


def test_a_limited_tasks_job_is_only_taken_and_others_start_in_the_step(redis: Redis, settings: Settings) -> None:
    import tests.limited_tasks  # noqa: F401 - registers tests.limited

    queue = get_queue("default", redis)
    [limited] = enqueue(redis, settings, task="tests.limited", args=["k", 0])
    [free] = enqueue(redis, settings)
    [raw] = [queue.enqueue_call("workers.runner.run_task", args=["examples.noop", [], {}]).id]
    worker = ServiceWorker([queue], connection=redis)
    batch = worker._take_batch(blocking=False)
    assert [job.id for job, _, _ in batch.started] == [free]
    assert [job.id for job, _ in batch.held] == [limited, raw]  # RQ's own enqueue names no task
    assert redis.lrange(queue.intermediate_queue_key, 0, -1) == [limited.encode(), raw.encode()]
    assert TaskJob.fetch(limited, connection=redis).get_status() == JobStatus.QUEUED


def test_a_stop_while_suspended_ends_the_wait(redis: Redis, settings: Settings) -> None:
    enqueue(redis, settings)
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    suspend(redis)
    batches: list[Any] = []
    waiting = threading.Thread(target=lambda: batches.append(worker._take_batch(blocking=True)), daemon=True)
    waiting.start()
    wait_until(lambda: worker.get_state() == WorkerStatus.SUSPENDED, 10, "the worker to wait while suspended")
    worker._stop_requested = True  # what SIGTERM sets
    waiting.join(10)
    assert not waiting.is_alive()
    assert batches[0].suspended and not batches[0].started
    assert get_queue("default", redis).count == 1


def test_a_stopping_worker_takes_nothing(redis: Redis, settings: Settings) -> None:
    enqueue(redis, settings)
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    worker._stop_requested = True  # what SIGTERM sets
    batch = worker._take_batch(blocking=True)
    assert not batch.started and not batch.held
    assert get_queue("default", redis).count == 1


def test_a_job_whose_description_names_no_free_task_is_held(
    redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name too long for the description (cut at 200 characters) is not taken for a free task's."""
    import tests.limited_tasks  # noqa: F401 - some task is limited

    monkeypatch.setattr(registry, "_tasks", dict(registry._tasks))  # the task is registered for this test only
    long_name = "tests.long-" + "x" * 250
    task(name=long_name, concurrency=1)(_long_named)
    [job_id] = enqueue(redis, settings, task=long_name)
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    batch = worker._take_batch(blocking=False)
    assert not batch.started
    assert [job.id for job, _ in batch.held] == [job_id]


def _long_named() -> None:
    """A limited task whose name does not fit in a job's description."""
