"""The one callable RQ ever executes: it looks the task up by name and runs it."""

from __future__ import annotations

from typing import Any

from workers.tasks.event_loop import run_on_loop
from workers.tasks.registry import registry

RUNNER_PATH = "workers.runner.run_task"


def run_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None) -> Any:
    """Run the registered task `name`; an unknown name raises `TaskNotFoundError`."""
    task = registry.get(name)
    result = task.func(*(args or []), **(kwargs or {}))
    if task.is_async:
        return run_on_loop(result)  # one loop for the process, in its own thread
    return result
