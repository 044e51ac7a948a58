"""WORKER_CONCURRENCY: one worker process runs several jobs at once and keeps every per-job guarantee.

A real ServiceWorker in burst mode on the suite's Redis; jobs that wait on a gate key show
what ran together, and a helper thread acts once the gate's arrivals say so.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq.job import JobStatus

from workers.core.settings import Settings
from workers.jobs import submit as jobs
from workers.jobs.submit import JobSpec
from workers.rq_seam.job import TaskJob

GATE_TIMEOUT = 20  # a gate job that never sees its peers fails after this, so a wrong engine fails, not hangs


def ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


def submit(redis: Redis, settings: Settings, task: str, *args: Any, timeout: int | None = None) -> TaskJob:
    return jobs.submit(redis, settings, JobSpec(task=task, args=list(args), timeout=timeout)).job


def when(condition: Callable[[], bool], action: Callable[[], object], within: float = GATE_TIMEOUT) -> threading.Thread:
    """A thread that runs `action` once `condition` holds; never, if it does not hold within `within` seconds."""

    def wait_then_act() -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if condition():
                action()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


def arrivals(key: str) -> int:
    return int(ledger().get(f"arrived:{key}") or 0)


def open_gate(key: str) -> None:
    ledger().set(f"open:{key}", 1)


def test_sync_jobs_run_together_in_one_process(redis: Redis, settings: Settings, run_worker: Any) -> None:
    key = uuid.uuid4().hex
    submitted = [submit(redis, settings, "tests.gate", key, GATE_TIMEOUT) for _ in range(4)]
    opener = when(lambda: arrivals(key) == 4, lambda: open_gate(key))
    run_worker()
    opener.join()
    assert [job.get_status() for job in submitted] == [JobStatus.FINISHED] * 4
    assert [job.return_value() for job in submitted] == [4] * 4  # each saw all four arrive before it left


def test_async_jobs_run_together_on_one_loop(redis: Redis, settings: Settings, run_worker: Any) -> None:
    key = uuid.uuid4().hex
    submitted = [submit(redis, settings, "tests.async_gate", key, GATE_TIMEOUT) for _ in range(4)]
    opener = when(lambda: arrivals(key) == 4, lambda: open_gate(key))
    run_worker()
    opener.join()
    assert [job.get_status() for job in submitted] == [JobStatus.FINISHED] * 4


def test_stopping_one_job_leaves_the_others_running(redis: Redis, settings: Settings, run_worker: Any) -> None:
    key = uuid.uuid4().hex
    submitted = [submit(redis, settings, "tests.gate", key, GATE_TIMEOUT) for _ in range(3)]
    target = submitted[1]

    def stop_then_open() -> None:
        jobs.cancel(redis, target.id)
        when(lambda: target.get_status() == JobStatus.STOPPED, lambda: open_gate(key)).join()

    actor = when(lambda: arrivals(key) == 3, stop_then_open)
    run_worker()
    actor.join()
    assert target.get_status() == JobStatus.STOPPED
    assert [submitted[0].get_status(), submitted[2].get_status()] == [JobStatus.FINISHED] * 2


def test_sync_job_stuck_past_its_timeout_fails_at_the_deadline(
    redis: Redis, settings: Settings, run_worker: Any
) -> None:
    stuck = submit(redis, settings, "tests.sleep", 600, timeout=1)  # time.sleep: C code, deaf to exceptions
    quick = submit(redis, settings, "tests.echo", "beside it")
    run_worker()
    assert stuck.get_status() == JobStatus.FAILED
    assert "timed out" in (stuck.latest_result().exc_string or "")
    assert quick.get_status() == JobStatus.FINISHED


def test_sync_job_in_python_code_past_its_timeout_gets_rq_timeout(
    redis: Redis, settings: Settings, run_worker: Any
) -> None:
    job = submit(redis, settings, "tests.gate", uuid.uuid4().hex, GATE_TIMEOUT, timeout=1)  # nobody opens it
    run_worker()
    assert job.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in (job.latest_result().exc_string or "")


def test_async_job_past_its_timeout_is_cancelled(redis: Redis, settings: Settings, run_worker: Any) -> None:
    job = submit(redis, settings, "tests.async_sleep", 600, timeout=1)
    run_worker()
    assert job.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in (job.latest_result().exc_string or "")


def test_task_not_concurrency_safe_never_runs_beside_itself(redis: Redis, settings: Settings, run_worker: Any) -> None:
    key = uuid.uuid4().hex
    submitted = [submit(redis, settings, "tests.not_thread_safe", key) for _ in range(6)]
    run_worker()
    assert [job.get_status() for job in submitted] == [JobStatus.FINISHED] * 6
    assert ledger().get(f"overlap:{key}") is None
