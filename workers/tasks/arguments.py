"""The one check of a job's arguments against its task's signature, for jobs and schedules alike."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from workers.core.errors import InvalidJobError
from workers.tasks.registry import Task


def check_arguments(task: Task, args: list[Any], kwargs: dict[str, Any]) -> None:
    """InvalidJobError naming the task and the argument when the call could never bind.

    Refused at submit, a missing or unexpected argument is a 422 the caller can fix,
    instead of a TypeError in the worker that is retried with backoff and fails anyway.
    """
    signature = _signature(task.func)
    try:
        signature.bind(*args, **kwargs)
    except TypeError as error:
        raise InvalidJobError(f"{task.name}: {error}{_positional_hint(signature, args)}") from None


# A registered function never changes its signature; working it out took a tenth of a submission's CPU.
_signature = functools.cache(inspect.signature)


def _positional_hint(signature: inspect.Signature, args: list[Any]) -> str:
    """What the task takes by position, so "too many positional arguments" still names them."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in signature.parameters.values() if p.kind in kinds]
    if len(args) <= len(names) or any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values()):
        return ""
    return f" (takes {len(names)}: {', '.join(names) or 'none'}; got {len(args)})"
