"""`progress()`: a running task tells the API and the dashboard how far it has got.

The value lives in the job's meta (`progress`, `progress_message`), so rq-dashboard's job
page shows it with no extra code and RQ's end-of-job save (which writes meta from the same
in-memory job, or not at all) keeps the last value in the job's final state.

The job is found through a context variable the runner binds in the job's own context:
the job's thread for a sync task, the coroutine's task for an async one. So several jobs
in flight in one process each report their own progress; a thread the task starts itself
does not inherit it, and there (as outside any job) `progress()` does nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from redis.exceptions import RedisError
from rq.job import Job

log = logging.getLogger(__name__)

PROGRESS = "progress"
PROGRESS_MESSAGE = "progress_message"
MESSAGE_MAX = 200

_current_job: ContextVar[Job | None] = ContextVar("rqs_current_job", default=None)

T = TypeVar("T")


def progress(fraction: float, message: str | None = None) -> None:
    """Record how far the running job has got: `fraction` in [0, 1], an optional short message.

    A bad value is the task's bug and raises ValueError/TypeError at once; a Redis error is
    logged and swallowed, because a progress report must never fail the work it reports on.
    Outside a running job (a task called directly, in a test or a thread it started) it does nothing.
    """
    value = checked_fraction(fraction)
    text = checked_message(message)
    job = _current_job.get()
    if job is None:
        return
    job.meta[PROGRESS] = value
    job.meta[PROGRESS_MESSAGE] = text
    try:
        job.save_meta()  # one HSET of the meta field
    except RedisError as error:
        log.warning("progress of job %s not saved: %s", job.id, error)


def checked_fraction(fraction: Any) -> float:
    """`fraction` as a float in [0, 1]; anything else (NaN, a bool, a string) is refused."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise TypeError(f"progress must be a number between 0 and 1, not {type(fraction).__name__}")
    if not (math.isfinite(fraction) and 0 <= fraction <= 1):
        raise ValueError(f"progress must be between 0 and 1, got {fraction!r}")
    return float(fraction)


def checked_message(message: Any) -> str | None:
    """`message` cut to MESSAGE_MAX characters, so a chatty task cannot bloat every job read."""
    if message is None:
        return None
    if not isinstance(message, str):
        raise TypeError(f"progress message must be a string, not {type(message).__name__}")
    return message[:MESSAGE_MAX]


@contextmanager
def reporting_for(job: Job | None) -> Iterator[None]:
    """Make `progress()` write to `job` in the current context, for the `with` block only."""
    token = _current_job.set(job)
    try:
        yield
    finally:
        _current_job.reset(token)


async def reporting_in(job: Job | None, coroutine: Coroutine[Any, Any, T]) -> T:
    """Await `coroutine` with `progress()` bound to `job`, inside the loop task's own context."""
    with reporting_for(job):
        return await coroutine
