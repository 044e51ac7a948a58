"""Job and schedule metrics in Redis: the layout, and a worker recording every run's outcome and timings."""

import logging
from typing import Any

import pytest
from redis import Redis
from rq.job import JobStatus

from tests.support.round_trips import CountingConnection, counting_client
from tests.tasks import stop_once_started
from workers.core.settings import Settings
from workers.jobs import submit as jobs
from workers.jobs.submit import JobSpec
from workers.observability import metrics
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker
from workers.tasks.registry import RetryPolicy
from workers.worker.metering import UNREGISTERED, failure_outcome


def stored(redis: Redis) -> dict[str, metrics.FamilyData]:
    return {data.family.name: data for data in metrics.read_families(redis)}


def runs(redis: Redis) -> dict[tuple[str, ...], float]:
    """Task run counters that moved (every outcome of a series is reported, from 0)."""
    return {labels: value for labels, value in stored(redis)["rqs_task_runs"].counters.items() if value}


def submit(redis: Redis, settings: Settings, task: str, *args: Any, **options: Any) -> TaskJob:
    return jobs.submit(redis, settings, JobSpec(task=task, args=list(args), **options)).job


def test_histogram_buckets_are_stored_non_cumulative_with_a_sum(redis: Redis) -> None:
    family = metrics.TASK_RUN_SECONDS
    with redis.pipeline() as pipeline:
        for value in (0.001, 0.005, 0.3, 5000.0):
            metrics.observe(pipeline, family, ("t", "q"), value)
        metrics.increment(pipeline, metrics.TASK_RUNS, ("t", "q", "finished"), 2)
        pipeline.execute()
    series = stored(redis)[family.name].histograms[("t", "q")]
    assert series.buckets == {0.005: 2, 0.5: 1, float("inf"): 1}  # a value on a bound counts in that bucket
    assert series.sum == pytest.approx(5000.306)
    assert runs(redis) == {("t", "q", "finished"): 2.0}
    assert all(key.startswith(b"rqs:metrics:") for key in redis.keys("*"))


def test_record_schedule_run_rides_the_callers_transaction(redis: Redis) -> None:
    # when
    with redis.pipeline() as pipeline:
        metrics.record_schedule_run(pipeline, "nightly", metrics.FIRED, 0.2)
        metrics.record_schedule_run(pipeline, "nightly", metrics.FIRED, 3.0)
        metrics.record_schedule_run(pipeline, "nightly", metrics.MISSED, None)
        metrics.record_schedule_run(pipeline, "hourly", metrics.SKIPPED, None)
        assert redis.keys("*") == []  # nothing is written before the caller commits
        pipeline.execute()

    # then
    data = stored(redis)
    assert data["rqs_schedule_runs"].counters == {
        ("nightly", "fired"): 2.0,
        ("nightly", "missed"): 1.0,
        ("nightly", "skipped"): 0.0,  # reported from 0, so its first increase shows in PromQL
        ("nightly", "error"): 0.0,
        ("hourly", "fired"): 0.0,
        ("hourly", "missed"): 0.0,
        ("hourly", "skipped"): 1.0,
        ("hourly", "error"): 0.0,
    }
    lateness = data["rqs_schedule_lateness_seconds"].histograms
    assert list(lateness) == [("nightly",)]  # only fired runs have a lateness
    assert lateness[("nightly",)].buckets == {0.25: 1, 5.0: 1}
    assert lateness[("nightly",)].sum == pytest.approx(3.2)


def test_record_schedule_run_refuses_an_unknown_outcome(redis: Redis) -> None:
    with redis.pipeline() as pipeline, pytest.raises(ValueError, match="unknown schedule outcome"):
        metrics.record_schedule_run(pipeline, "nightly", "late", 1.0)


def test_worker_counts_each_run_by_outcome(redis: Redis, settings: Settings, run_worker: Any) -> None:
    submit(redis, settings, "tests.echo", 1)
    submit(redis, settings, "tests.echo", 2)
    submit(redis, settings, "examples.fail", "boom")
    flaky = submit(redis, settings, "tests.flaky", "metrics-retry", 1, retry=RetryPolicy(max=1, backoff=(0,)))
    run_worker()
    assert flaky.get_status() == JobStatus.FINISHED
    assert runs(redis) == {
        ("tests.echo", "default", "finished"): 2.0,
        ("examples.fail", "default", "failed"): 1.0,
        ("tests.flaky", "default", "retried"): 1.0,
        ("tests.flaky", "default", "finished"): 1.0,
    }


def test_task_returning_rq_retry_is_counted_as_rq_decides(redis: Redis, settings: Settings, run_worker: Any) -> None:
    job = submit(redis, settings, "tests.ask_retry")
    run_worker()
    assert job.get_status() == JobStatus.FAILED
    assert runs(redis) == {
        ("tests.ask_retry", "default", "retried"): 1.0,
        ("tests.ask_retry", "default", "failed"): 1.0,
    }


def test_worker_times_each_run(redis: Redis, settings: Settings, run_worker: Any) -> None:
    submit(redis, settings, "tests.sleep", 0.05)
    submit(redis, settings, "tests.sleep", 0.05)
    run_worker()
    data = stored(redis)
    run_time = data["rqs_task_run_seconds"].histograms[("tests.sleep", "default")]
    wait = data["rqs_task_queue_wait_seconds"].histograms[("tests.sleep", "default")]
    assert sum(run_time.buckets.values()) == 2
    assert run_time.sum >= 0.1
    assert sum(wait.buckets.values()) == 2  # both ran at once (WORKER_CONCURRENCY): neither waited for the other


def test_stopped_run_is_counted_as_stopped(redis: Redis, settings: Settings, run_worker: Any) -> None:
    job = submit(redis, settings, "tests.sleep", 30)

    stopper = stop_once_started(redis, job.id)
    run_worker()
    stopper.join()
    assert runs(redis) == {("tests.sleep", "default", "stopped"): 1.0}


def test_job_naming_no_registered_task_gets_one_shared_label(redis: Redis, run_worker: Any) -> None:
    queue = get_queue("default", redis)
    queue.enqueue_call("workers.runner.run_task", args=["os.remove", ["/x"], {}])
    queue.enqueue_call("workers.runner.run_task", args=["nobody.knows", [], {}])
    run_worker()
    assert runs(redis) == {(UNREGISTERED, "default", "failed"): 2.0}


def test_shutdown_interrupt_is_not_a_failure(redis: Redis, settings: Settings) -> None:
    job = submit(redis, settings, "tests.echo", 1)
    assert failure_outcome(job, stopped=False, interrupted=False) == metrics.FAILED
    assert failure_outcome(job, stopped=False, interrupted=True) == metrics.INTERRUPTED


def test_worker_logs_start_and_end(
    redis: Redis, settings: Settings, run_worker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    job = submit(redis, settings, "examples.fail", "boom")
    with caplog.at_level(logging.INFO, logger="workers.worker.metering"):
        run_worker()
    records = [r for r in caplog.records if r.name == "workers.worker.metering"]
    assert [r.getMessage().split(" after ")[0].split(":")[0] for r in records] == [
        f"job {job.id} started",
        f"job {job.id} failed",
    ]
    start, end = (vars(r) for r in records)
    assert (start["job_id"], start["task"], start["queue"]) == (job.id, "examples.fail", "default")
    assert (end["job_id"], end["task"], end["queue"], end["status"]) == (job.id, "examples.fail", "default", "failed")
    assert end["duration"] >= 0
    assert end["wait"] >= 0


def round_trips(settings: Settings, recording: bool) -> int:
    with counting_client(settings.redis_url) as connection:
        connection.flushdb()
        queue = get_queue("default", connection)
        for task in ("examples.add", "examples.add", "examples.fail", "examples.fail"):
            queue.enqueue_call("workers.runner.run_task", args=[task, [1, 2] if task == "examples.add" else [], {}])
        CountingConnection.sends = 0
        worker = ServiceWorker([queue], connection=connection, concurrency=1)
        if not recording:
            worker.meter.record = lambda pipeline: None  # type: ignore[method-assign]
        worker.work(burst=True)
        return CountingConnection.sends


def test_recording_adds_no_round_trip_per_job(redis: Redis, settings: Settings) -> None:
    plain = round_trips(settings, recording=False)
    assert runs(redis) == {}
    # The end events ride on the ends; the metrics on the worker's beat, or in one write at its teardown.
    assert plain <= round_trips(settings, recording=True) <= plain + 1
    assert runs(redis) == {("examples.add", "default", "finished"): 2.0, ("examples.fail", "default", "failed"): 2.0}


def sends_to_drain(settings: Settings, jobs: int) -> int:
    with counting_client(settings.redis_url) as connection:
        connection.flushdb()
        queue = get_queue("default", connection)
        for _ in range(jobs):
            queue.enqueue_call("workers.runner.run_task", args=["examples.noop", [], {}])
        CountingConnection.sends = 0
        ServiceWorker([queue], connection=connection).work(burst=True)
        return CountingConnection.sends


def test_each_more_job_costs_few_round_trips(settings: Settings) -> None:
    few, many = sends_to_drain(settings, 20), sends_to_drain(settings, 100)
    # Start-up and shutdown cost the same in both. Finishing a job costs at most 3 and a
    # batch 1 (one step takes and starts it, and checks for a suspension), so even batches
    # of one job stay within 4; batches are usually larger (about 2.2 a job). RQ's
    # SimpleWorker spends 20 per job.
    assert (many - few) / 80 <= 4
