"""JSON on every queue, job and worker, and a job class that can only run tasks."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq.job import Job
from rq.registry import CanceledJobRegistry, FailedJobRegistry, FinishedJobRegistry
from rq.results import Result

from workers.core.errors import ForbiddenFunctionError
from workers.rq_seam.serializer import SERIALIZER
from workers.runner import RUNNER_PATH, run_task

__all__ = ["SERIALIZER", "TaskJob", "run_keys"]

ENDED_REGISTRIES = (FinishedJobRegistry, FailedJobRegistry, CanceledJobRegistry)


class TaskJob(Job):
    """An RQ job that always reads JSON and refuses to resolve any function but the runner.

    A job written into Redis by hand (naming `os.remove`, or carrying a pickle)
    therefore fails visibly in `perform()` and nothing is imported or called.
    """

    def __init__(self, id: str | None = None, connection: Redis | None = None, serializer: Any = None) -> None:
        super().__init__(id, connection=connection, serializer=SERIALIZER)

    @property
    def func(self) -> Any:
        if self.func_name != RUNNER_PATH:
            raise ForbiddenFunctionError(f"refusing to run {self.func_name!r}: not the task runner")
        return run_task

    @property
    def task_name(self) -> str | None:
        """The registered task this job runs, or None for a job we did not write."""
        try:
            args = self.args
        except Exception:  # noqa: BLE001 - undecodable data is reported, not raised
            return None
        if self.func_name == RUNNER_PATH and args and isinstance(args[0], str):
            return args[0]
        return None


def results_key_of(job_id: str) -> str:
    """The key of a job's results stream (RQ's Result)."""
    return Result.get_key(job_id)


def run_keys(job_id: str, queue: str) -> tuple[str, str, list[str]]:
    """Where RQ keeps an ended job: its hash, its results stream, and the registries that list it by id."""
    registries = [registry.key_template.format(queue) for registry in ENDED_REGISTRIES]
    return TaskJob.key_for(job_id), Result.get_key(job_id), registries
