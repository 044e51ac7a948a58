"""The one callable RQ ever executes: it looks the task up by name and runs it."""

from __future__ import annotations

from typing import Any

from rq import get_current_job

from workers.tasks.event_loop import run_on_loop
from workers.tasks.progress import reporting_for, reporting_in
from workers.tasks.registry import registry

RUNNER_PATH = "workers.runner.run_task"


def run_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None) -> Any:
    """Run the registered task `name`; an unknown name raises `TaskNotFoundError`.

    RQ's current job is right in this, the job's own thread; it is bound for `progress()`
    here and again inside the coroutine's task, which runs on the shared loop's thread.
    """
    task = registry.get(name)
    job = get_current_job()
    with reporting_for(job):
        result = task.func(*(args or []), **(kwargs or {}))
    if task.is_async:
        return run_on_loop(reporting_in(job, result))  # one loop for the process, in its own thread
    return result
