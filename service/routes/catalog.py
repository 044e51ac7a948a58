"""/tasks, /queues, /workers: what can run, where, and who runs it."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import ReadKey, RedisDep, SettingsDep
from service.guarded_route import GuardedRoute
from service.schemas import QueueList, QueueOut, TaskList, TaskOut, WorkerList, WorkerOut
from workers.jobs.listing import queue_stats, worker_infos
from workers.tasks.registry import RetryPolicy, registry

router = APIRouter(tags=["catalog"], route_class=GuardedRoute)


@router.get("/tasks")
def list_tasks(settings: SettingsDep, key: ReadKey) -> TaskList:
    """Every registered task with its defaults and parameters."""
    return TaskList(
        tasks=[
            TaskOut(
                name=t.name,
                queue=t.queue or settings.default_queue,
                timeout=t.timeout or settings.job_timeout,
                retry=(t.retry or RetryPolicy(max=settings.job_retry)).as_dict(),
                description=t.description,
                parameters=t.parameters(),
                concurrency=t.limits.concurrency if t.limits else None,
                rate=str(t.limits.rate) if t.limits and t.limits.rate else None,
            )
            for t in registry.all()
        ]
    )


@router.get("/queues")
def list_queues(redis: RedisDep, settings: SettingsDep, key: ReadKey) -> QueueList:
    """Every queue with its job counts per status and its workers."""
    return QueueList(
        queues=[QueueOut.model_validate(s, from_attributes=True) for s in queue_stats(redis, settings.queues)]
    )


@router.get("/workers")
def list_workers(redis: RedisDep, key: ReadKey) -> WorkerList:
    """Every live worker, its state and current job."""
    return WorkerList(workers=[WorkerOut.model_validate(w, from_attributes=True) for w in worker_infos(redis)])
