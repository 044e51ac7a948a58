"""JSON on every queue, job and worker, and a job class that can only run tasks."""

from __future__ import annotations

from typing import Any

import rq.job
from redis import Redis
from rq.job import Job
from rq.registry import BaseRegistry, CanceledJobRegistry, FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from rq.results import Result

from workers.core.errors import ForbiddenFunctionError
from workers.rq_seam.compression import KnownCompression
from workers.rq_seam.job_restore import restore_job
from workers.rq_seam.serializer import SERIALIZER
from workers.runner import RUNNER_PATH, run_task

__all__ = ["SERIALIZER", "TaskJob", "run_keys"]

ENDED_REGISTRIES = (FinishedJobRegistry, FailedJobRegistry, CanceledJobRegistry)
rq.job.zlib = KnownCompression()  # type: ignore[assignment]  # see compression.py: no recompressing on save
REGISTRIES_KEPT = 512
# The fields `Job.to_dict` writes for every job, as "" when unset (the others only when set),
# and with `created_at` and `data` every field it always writes.
SAVED_EVEN_EMPTY = (
    "success_callback_name",
    "failure_callback_name",
    "stopped_callback_name",
    "started_at",
    "ended_at",
    "last_heartbeat",
    "worker_name",
    "group_id",
)
ALWAYS_SAVED = frozenset(("created_at", "data", *SAVED_EVEN_EMPTY))
_REGISTRIES: dict[tuple[type[BaseRegistry], type[Job], str], BaseRegistry] = {}  # see TaskJob._registry


class TaskJob(Job):
    """An RQ job that always reads JSON and refuses to resolve any function but the runner.

    A job written into Redis by hand (naming `os.remove`, or carrying a pickle)
    therefore fails visibly in `perform()` and nothing is imported or called.
    """

    stored_in_full = False  # see `restore`

    def __init__(self, id: str | None = None, connection: Redis | None = None, serializer: Any = None) -> None:
        super().__init__(id, connection=connection, serializer=SERIALIZER)

    def restore(self, raw_data: Any) -> None:
        """RQ's `restore` in one pass (workers/rq_seam/job_restore.py), noting `stored_in_full`.

        `stored_in_full`: the hash holds every field `Job.to_dict` always writes, its data
        compressed, as RQ and this service write a job. A save then writes back every other
        field as it is, so the fast end (workers/rq_seam/fast_end.py) writes only the run's.
        """
        obj = restore_job(self, raw_data)
        self.stored_in_full = ALWAYS_SAVED <= obj.keys() and self.data is not obj["data"]  # decompressed

    # RQ builds a new registry object on every read of these (each resolving the serializer
    # again, a slow typing.Protocol check), several times per run. A registry holds only
    # its queue's name, the connection and the (fixed) serializer and job class, so one
    # object per kind and queue serves every job on the same connection.

    @property
    def started_job_registry(self) -> StartedJobRegistry:
        return self._registry(StartedJobRegistry)

    @property
    def failed_job_registry(self) -> FailedJobRegistry:
        return self._registry(FailedJobRegistry)

    @property
    def finished_job_registry(self) -> FinishedJobRegistry:
        return self._registry(FinishedJobRegistry)

    def _registry(self, kind: type[Any]) -> Any:
        key = (kind, type(self), self.origin)
        cached = _REGISTRIES.get(key)
        if cached is None or cached.connection is not self.connection:
            cached = kind(self.origin, connection=self.connection, job_class=type(self), serializer=self.serializer)
            if len(_REGISTRIES) >= REGISTRIES_KEPT:
                _REGISTRIES.clear()  # a bound, whatever queue names a caller makes up
            _REGISTRIES[key] = cached
        return cached

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
