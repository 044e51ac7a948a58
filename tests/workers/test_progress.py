"""`workers.progress`: a running task's own progress, read back through the job view, never another job's."""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any

import pytest
from redis import Redis

from tests.workers.test_concurrency import GATE_TIMEOUT, arrivals, open_gate, submit, when
from workers import progress
from workers.core.settings import Settings
from workers.jobs.view import describe
from workers.rq_seam.job import TaskJob
from workers.tasks.progress import MESSAGE_MAX, reporting_for


def seen(job: TaskJob) -> tuple[float | None, str | None]:
    """The job's progress and message as the API reads them from Redis now."""
    info = describe(TaskJob.fetch(job.id, connection=job.connection))
    return info.progress, info.progress_message


def test_sync_task_progress_is_kept_in_the_finished_job(redis: Redis, settings: Settings, run_worker: Any) -> None:
    job = submit(redis, settings, "tests.progress_twice", 0.4, "page 4 of 10")
    run_worker()
    assert seen(job) == (0.4, "page 4 of 10")


def test_job_that_never_reports_has_no_progress(redis: Redis, settings: Settings, run_worker: Any) -> None:
    job = submit(redis, settings, "tests.echo", 1)
    run_worker()
    assert seen(job) == (None, None)


def test_long_message_is_cut(redis: Redis, settings: Settings, run_worker: Any) -> None:
    job = submit(redis, settings, "tests.progress_twice", 0.5, "x" * 1000)
    run_worker()
    assert seen(job)[1] == "x" * MESSAGE_MAX


@pytest.mark.parametrize("task", ["tests.progress_gate", "tests.async_progress_gate"])
def test_jobs_in_flight_together_each_report_their_own(
    redis: Redis, settings: Settings, run_worker: Any, task: str
) -> None:
    key = uuid.uuid4().hex
    first = submit(redis, settings, task, key, 0.25, 0.5, GATE_TIMEOUT)
    second = submit(redis, settings, task, key, 0.75, 1.0, GATE_TIMEOUT)
    mid_run: dict[str, tuple[float | None, str | None]] = {}

    def read_then_open() -> None:
        mid_run.update(first=seen(first), second=seen(second))
        open_gate(key)

    reader = when(lambda: arrivals(key) == 2, read_then_open)
    run_worker()
    reader.join()
    assert mid_run == {"first": (0.25, "before 0.25"), "second": (0.75, "before 0.75")}
    assert [seen(first), seen(second)] == [(0.5, "after 0.5"), (1.0, "after 1.0")]


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf])
def test_fraction_outside_0_to_1_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        progress(bad)


@pytest.mark.parametrize("bad", ["0.5", True, None])
def test_fraction_that_is_not_a_number_is_refused(bad: Any) -> None:
    with pytest.raises(TypeError, match="number"):
        progress(bad)


def test_message_that_is_not_text_is_refused() -> None:
    with pytest.raises(TypeError, match="message"):
        progress(0.5, 42)  # type: ignore[arg-type]


def test_outside_a_job_progress_does_nothing(redis: Redis, settings: Settings) -> None:
    job = submit(redis, settings, "tests.echo", 1)
    progress(0.5, "no job here")
    assert seen(job) == (None, None)


def test_redis_error_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    unreachable = TaskJob(connection=Redis(port=1, socket_connect_timeout=1))
    with caplog.at_level(logging.WARNING, logger="workers.tasks.progress"), reporting_for(unreachable):
        progress(0.5, "lost")
    assert "not saved" in caplog.text


@pytest.mark.parametrize("stored", ["lots", 7, math.nan, [0.5], True])
def test_progress_written_by_hand_reads_as_none(redis: Redis, settings: Settings, stored: Any) -> None:
    job = submit(redis, settings, "tests.echo", 1)
    job.meta.update(progress=stored, progress_message=["not", "text"])
    job.save_meta()
    assert seen(job) == (None, None)
