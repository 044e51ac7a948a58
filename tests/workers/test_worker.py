"""The worker runs registered tasks only, retries with backoff, and can stop a job."""

import signal
import time
from pathlib import Path
from typing import Any

from redis import Redis
from rq.job import JobStatus

from bench.harness.wait import wait_until
from tests.tasks import stop_once_started
from workers.core.settings import Settings
from workers.jobs import submit as jobs
from workers.jobs.submit import JobSpec
from workers.rq_seam import worker as worker_module
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker
from workers.tasks.registry import RetryPolicy


def test_hand_written_job_naming_another_function_runs_nothing(redis: Redis, run_worker: Any, tmp_file: Path) -> None:
    queue = get_queue("default", redis)
    # What an attacker with Redis access could write: a job calling something else directly.
    job = queue.enqueue_call("tests.tasks.touch", args=[str(tmp_file)])
    ok = queue.enqueue_call("workers.runner.run_task", args=["examples.add", [1, 1], {}])
    run_worker()
    assert not tmp_file.exists()
    assert job.get_status() == JobStatus.FAILED
    assert "ForbiddenFunctionError" in (job.latest_result().exc_string or "")
    assert ok.get_status() == JobStatus.FINISHED  # the worker kept serving


def test_pickled_job_runs_nothing(redis: Redis, run_worker: Any, tmp_file: Path) -> None:
    import pickle
    import zlib

    queue = get_queue("default", redis)
    job = queue.enqueue_call("workers.runner.run_task", args=["examples.add", [1, 1], {}])
    # The runner and a registered task: only the serializer can refuse this one.
    payload = zlib.compress(pickle.dumps(("workers.runner.run_task", None, ["tests.touch", [str(tmp_file)], {}], {})))
    redis.hset(job.key, "data", payload)
    run_worker()
    assert not tmp_file.exists()
    assert TaskJob.fetch(job.id, connection=redis).get_status() == JobStatus.FAILED


def test_unregistered_task_name_in_redis_fails_visibly(redis: Redis, run_worker: Any) -> None:
    job = get_queue("default", redis).enqueue_call("workers.runner.run_task", args=["os.remove", ["/x"], {}])
    run_worker()
    assert job.get_status() == JobStatus.FAILED
    assert "TaskNotFoundError" in (job.latest_result().exc_string or "")


def wait_until_due(redis: Redis, job: TaskJob) -> None:
    """Until the clock reaches the time RQ scheduled the job for (its score in the scheduled registry)."""
    due = get_queue(job.origin, redis).scheduled_job_registry.get_scheduled_time(job).timestamp()
    wait_until(lambda: time.time() >= due, timeout=10, what=f"the due time of {job.id}")


def test_retry_then_success_with_backoff(redis: Redis, settings: Settings, run_worker: Any) -> None:
    spec = JobSpec(task="tests.flaky", args=["retry-test", 1], retry=RetryPolicy(max=2, backoff=(1,)))
    job = jobs.submit(redis, settings, spec).job
    run_worker()
    assert job.get_status() == JobStatus.SCHEDULED  # waiting out the 1 s backoff

    wait_until_due(redis, job)
    run_worker(with_scheduler=True)  # RQ's scheduler moves the due retry back to its queue

    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "ok after 2"


def test_stop_interrupts_a_running_job(redis: Redis, settings: Settings, run_worker: Any) -> None:
    job = jobs.submit(redis, settings, JobSpec(task="tests.sleep", args=[30])).job

    stopper = stop_once_started(redis, job.id)
    run_worker()
    stopper.join()

    assert job.get_status() == JobStatus.STOPPED  # a 30 s sleep left alone would have FINISHED


def test_maintenance_lock_left_by_a_dead_worker_expires_within_a_minute(redis: Redis) -> None:
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    queue = worker.queues[0]
    assert queue.acquire_maintenance_lock()  # what a worker killed mid-pass leaves behind
    assert 0 < redis.ttl(queue.registry_cleaning_key) <= 60  # rq's own lock: 899 s without recovery
    assert not queue.acquire_maintenance_lock()


def test_a_stop_arriving_as_a_take_starts_jobs_runs_them_or_puts_them_back(
    redis: Redis, settings: Settings, monkeypatch: Any
) -> None:
    """SIGTERM right after the take step started jobs, before the idle worker noted them:
    those jobs run within the shutdown grace, none is left started and not running."""
    ids = [jobs.submit(redis, settings, JobSpec(task="tests.echo", args=[n])).job.id for n in range(3)]
    worker = ServiceWorker([get_queue("default", redis)], connection=redis)
    take = worker_module.take_and_start

    def take_then_sigterm(*args: Any, **kwargs: Any) -> Any:
        batch = take(*args, **kwargs)
        if batch.started:
            worker.request_stop(signal.SIGTERM, None)  # what the signal handler calls, at this moment
        return batch

    monkeypatch.setattr(worker_module, "take_and_start", take_then_sigterm)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.work(burst=False)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert [TaskJob.fetch(job_id, connection=redis).get_status() for job_id in ids] == [JobStatus.FINISHED] * 3
    assert get_queue("default", redis).started_job_registry.get_job_ids() == []
