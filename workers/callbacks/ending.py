"""Queueing a job's callback with its end: what the worker and the cancel path call.

The worker notes each run's outcome (`ending`) before RQ commits its end in one pipeline,
and `record` adds the delivery to that pipeline, so the job's final status and its pending
callback land together or not at all. Only final outcomes call back: a run that failed
with retries left, or was put back by a shutdown, does not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.client import Pipeline
from redis.exceptions import RedisError
from rq.exceptions import AbandonedJobError
from rq.job import Job

from workers.callbacks.outbox import queue_delivery
from workers.callbacks.state import callback_url
from workers.observability.metrics import FAILED, FINISHED, STOPPED

log = logging.getLogger(__name__)
FINAL_OUTCOMES = {FINISHED: "finished", FAILED: "failed", STOPPED: "stopped"}


def queue_for(pipe: Pipeline, job: Job, final_status: str) -> None:
    """Queue `job`'s callback on `pipe` when it has one; `final_status` is what the job is ending as."""
    url = callback_url(job.meta)
    if url is not None:
        queue_delivery(pipe, job.id, url, final_status)


class CallbackOnEnd:
    """Per job thread: the final outcome being recorded, and the delivery it rides on RQ's end pipeline."""

    def __init__(self) -> None:
        self._here = threading.local()

    @contextmanager
    def ending(self, job: Job, outcome: str) -> Iterator[None]:
        self._here.ending = (job, outcome)
        try:
            yield
        finally:
            self._here.ending = None

    def record(self, pipeline: Pipeline | None) -> None:
        """On RQ's end pipeline (each rebuild after a WatchError queues it again; one executes)."""
        ending = getattr(self._here, "ending", None)
        if pipeline is None or ending is None:
            return
        job, outcome = ending
        if outcome in FINAL_OUTCOMES:
            queue_for(pipeline, job, FINAL_OUTCOMES[outcome])


def queue_for_abandoned(job: Job, exc_type: type[BaseException] | None, *exc: Any) -> bool:
    """RQ's cleanup found a run whose worker died: with no retries left it fails the job, so it calls back.

    The cleanup hands its handlers no pipeline, so the delivery is its own write, made just
    before the cleanup commits the failure; the deliverer waits for that end to show.
    Returns True: the other handlers still run.
    """
    if exc_type is None or not issubclass(exc_type, AbandonedJobError):
        return True
    if job.retries_left and job.retries_left > 0:
        return True
    try:
        with job.connection.pipeline() as pipe:
            queue_for(pipe, job, "failed")
            pipe.execute()
    except RedisError as error:
        log.warning("callback of abandoned job %s not queued: %s", job.id, error)
    return True
