"""The one check of a job's arguments against its task's signature, for jobs and schedules alike."""

from __future__ import annotations

import inspect
from typing import Any

from workers.core.errors import InvalidJobError
from workers.tasks.registry import Task


def check_arguments(task: Task, args: list[Any], kwargs: dict[str, Any]) -> None:
    """InvalidJobError naming the task and the argument when the call could never bind.

    Refused at submit, a missing or unexpected argument is a 422 the caller can fix,
    instead of a TypeError in the worker that is retried with backoff and fails anyway.
    """
    try:
        inspect.signature(task.func).bind(*args, **kwargs)
    except TypeError as error:
        raise InvalidJobError(f"{task.name}: {error}") from None
