"""The reap step: a dead worker's jobs go through RQ's abandoned-job handling as soon as its liveness key lapses."""

from __future__ import annotations

from redis import Redis
from rq import Retry
from rq.job import JobStatus

from bench.harness.wait import wait_until
from workers.core.keys import REAPER_LOCK, alive_key
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue
from workers.rq_seam.reaper import LIVENESS_TTL
from workers.rq_seam.worker import ServiceWorker


def started_by(redis: Redis, retries: int = 1, count: int = 2) -> tuple[ServiceWorker, list[TaskJob]]:
    """`count` jobs taken and started by a registered worker, exactly as its dequeue writes them."""
    queue = get_queue("default", redis)
    retry = Retry(max=retries) if retries else None
    for _ in range(count):
        queue.enqueue_call("workers.runner.run_task", args=["examples.add", [1, 1], {}], retry=retry)
    worker = ServiceWorker([queue], connection=redis)
    worker.register_birth()
    batch = worker._take_batch(blocking=False)  # RQ-enqueued jobs are held while any task is limited
    return worker, [job for job, _, _ in batch.started] + [job for job, _ in worker._start_batch(batch.held)]


def beat(redis: Redis) -> None:
    """One beat of another, idle worker (the lock is cleared first: each beat may reap), and its recovery."""
    redis.delete(REAPER_LOCK)
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    worker.renew_heartbeats([], False)
    wait_until(lambda: not worker.recoverer._busy.locked(), timeout=10, what="the recovery to end")


def status(redis: Redis, job: TaskJob) -> str:
    return TaskJob.fetch(job.id, connection=redis).get_status()


def test_starting_a_batch_sets_the_liveness_key(redis: Redis) -> None:
    worker, _ = started_by(redis)
    assert 0 < redis.ttl(alive_key(worker.name)) <= LIVENESS_TTL
    assert redis.hget(worker.key, "liveness_ttl") == str(LIVENESS_TTL).encode()


def test_jobs_of_a_worker_whose_liveness_lapsed_are_retried_at_once(redis: Redis) -> None:
    worker, jobs = started_by(redis, retries=1)
    redis.delete(alive_key(worker.name))  # what LIVENESS_TTL seconds after a kill -9 look like
    beat(redis)
    assert [status(redis, job) for job in jobs] == [JobStatus.QUEUED] * 2
    assert set(get_queue("default", redis).get_job_ids()) == {job.id for job in jobs}
    assert [TaskJob.fetch(job.id, connection=redis).retries_left for job in jobs] == [0, 0]
    assert get_queue("default", redis).started_job_registry.count == 0


def test_jobs_without_retries_left_end_failed_with_the_reason(redis: Redis) -> None:
    worker, jobs = started_by(redis, retries=0, count=1)
    redis.delete(alive_key(worker.name))
    beat(redis)
    job = TaskJob.fetch(jobs[0].id, connection=redis)
    assert job.get_status() == JobStatus.FAILED
    assert "AbandonedJobError" in (job.latest_result().exc_string or "")


def test_jobs_of_a_live_worker_are_left_alone(redis: Redis) -> None:
    _, jobs = started_by(redis)
    beat(redis)
    assert [status(redis, job) for job in jobs] == [JobStatus.STARTED] * 2
    assert get_queue("default", redis).started_job_registry.count == 2


def test_a_worker_that_keeps_no_liveness_key_is_left_to_rq_maintenance(redis: Redis) -> None:
    worker, jobs = started_by(redis)
    redis.hdel(worker.key, "liveness_ttl")  # a plain RQ worker on the same Redis
    redis.delete(alive_key(worker.name))
    beat(redis)
    assert [status(redis, job) for job in jobs] == [JobStatus.STARTED] * 2


def test_one_reap_step_at_a_time_cluster_wide(redis: Redis) -> None:
    worker, jobs = started_by(redis)
    redis.delete(alive_key(worker.name))
    redis.set(REAPER_LOCK, 1, px=60_000)  # another worker's step is under way
    ServiceWorker([get_queue("default", redis)], connection=redis).renew_heartbeats([], False)
    assert [status(redis, job) for job in jobs] == [JobStatus.STARTED] * 2


def test_maintenance_releases_the_queue_lock_when_it_ends(redis: Redis) -> None:
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    worker.clean_registries()
    assert not redis.exists(worker.queues[0].registry_cleaning_key)
