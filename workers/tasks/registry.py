"""The task registry: only functions registered here can ever run."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from workers.core.errors import DuplicateTaskError, TaskNotFoundError
from workers.core.keys import check_queue_name
from workers.limits.spec import Limits

F = TypeVar("F", bound=Callable[..., Any])

BUILTIN_MODULES = ("workers.tasks.builtin",)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts after the first, and the seconds to wait before each."""

    max: int
    backoff: tuple[int, ...] = (0,)

    @classmethod
    def parse(cls, value: int | dict[str, Any] | RetryPolicy | None) -> RetryPolicy | None:
        """Accept `3`, `{"max": 3, "backoff": [1, 2]}` or `{"max": 3, "backoff": 5}`."""
        if value is None or isinstance(value, RetryPolicy):
            return value
        if isinstance(value, int):
            return cls(max=value)
        backoff = value.get("backoff", 0)
        steps = tuple(backoff) if isinstance(backoff, list | tuple) else (backoff,)
        return cls(max=int(value["max"]), backoff=tuple(int(s) for s in steps) or (0,))

    def as_dict(self) -> dict[str, Any]:
        return {"max": self.max, "backoff": list(self.backoff)}


@dataclass(frozen=True)
class Task:
    """A registered function and its job defaults."""

    name: str
    func: Callable[..., Any]
    queue: str | None = None
    timeout: int | None = None
    retry: RetryPolicy | None = None
    description: str = ""
    is_async: bool = field(default=False)
    concurrency_safe: bool = True  # False: never runs beside itself in one worker process
    limits: Limits | None = None  # cluster-wide: at most N runs at once, at most a rate of starts

    def parameters(self) -> list[dict[str, str]]:
        """Parameter names, kinds and annotations as strings, for `GET /tasks`."""
        signature = inspect.signature(self.func)
        return [
            {
                "name": p.name,
                "kind": p.kind.name.lower(),
                "annotation": _annotation(p.annotation),
                **({"default": repr(p.default)} if p.default is not p.empty else {}),
            }
            for p in signature.parameters.values()
        ]


def _annotation(annotation: object) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))


class TaskRegistry:
    """Name -> Task. A name that is not here is never imported or run."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def add(self, task: Task) -> None:
        existing = self._tasks.get(task.name)
        if existing is not None and existing.func is not task.func:
            raise DuplicateTaskError(f"task {task.name!r} is already registered")
        self._tasks[task.name] = task

    def get(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise TaskNotFoundError(f"unknown task {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def all(self) -> list[Task]:
        return sorted(self._tasks.values(), key=lambda t: t.name)


registry = TaskRegistry()


def task(
    name: str | None = None,
    *,
    queue: str | None = None,
    timeout: int | None = None,
    retry: int | dict[str, Any] | None = None,
    concurrency_safe: bool = True,
    concurrency: int | None = None,
    rate: str | None = None,
) -> Callable[[F], F]:
    """Register a function (sync or async) as a task that jobs may run.

    `concurrency_safe=False`: a worker process never runs two of its jobs at once
    (for code that is not thread-safe); other tasks still run beside it.

    `concurrency=N`: at most N runs of this task at once across all workers and hosts;
    `rate="100/m"` (N/s, N/m or N/h): at most that many starts in any such window,
    cluster-wide. A job over its limit waits in RQ's scheduled registry, not in a worker.

    A bad `queue`, `concurrency` or `rate` raises ValueError at import, so a process
    with such a task does not start.
    """
    if queue is not None:
        check_queue_name(queue)
    limits = Limits.parse(concurrency, rate)

    def register(func: F) -> F:
        doc = inspect.getdoc(func) or ""
        registry.add(
            Task(
                name=name or f"{func.__module__}.{func.__name__}",
                func=func,
                queue=queue,
                timeout=timeout,
                retry=RetryPolicy.parse(retry),
                description=doc.split("\n\n")[0],
                is_async=inspect.iscoroutinefunction(func),
                concurrency_safe=concurrency_safe,
                limits=limits,
            )
        )
        return func

    return register


def load_task_modules(modules: Iterable[str]) -> None:
    """Import the built-in tasks and every `TASK_MODULES` entry; fail loudly."""
    for module in (*BUILTIN_MODULES, *modules):
        importlib.import_module(module)
