"""The one callable RQ ever executes: it looks the task up by name and runs it."""

from __future__ import annotations

import asyncio
from typing import Any

from workers.tasks.registry import registry

RUNNER_PATH = "workers.runner.run_task"

_loop_runner: asyncio.Runner | None = None


def run_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None) -> Any:
    """Run the registered task `name`; an unknown name raises `TaskNotFoundError`."""
    task = registry.get(name)
    result = task.func(*(args or []), **(kwargs or {}))
    if task.is_async:
        return _run_coroutine(result)
    return result


def _run_coroutine(coroutine: Any) -> Any:
    """Run on one event loop kept for the process: a loop per job costs more than the job."""
    global _loop_runner
    if _loop_runner is None:
        _loop_runner = asyncio.Runner()
    try:
        return _loop_runner.run(coroutine)
    except BaseException:
        # A timeout or stop raised from a signal handler can leave tasks half-run
        # on the loop; start the next job on a clean one.
        _loop_runner.close()
        _loop_runner = None
        raise
