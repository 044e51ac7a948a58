"""The worker's side of the limits: admit a taken job (or say how long it waits), renew and free its slot.

A job refused by its limit is not held by the worker: it goes to RQ's scheduled
registry for its place in the rate's line (scripts.py) or LIMITED_WAIT later (concurrency),
so the worker thread is free, other tasks run, nothing polls, and rq-dashboard
shows the job as scheduled. RQ's scheduler puts it back on its queue when due.
An admitted job's hash keeps the moment of its admission (ADMITTED_FIELD, ms on
Redis's clock): the moment the limit counted.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.client import Pipeline

from workers.core.keys import limit_line_key, limit_slots_key, limit_starts_key
from workers.limits.scripts import ACQUIRE, RENEW
from workers.limits.spec import Limits
from workers.tasks.registry import registry

LEASE_MS = 6_000  # a slot not renewed this long (its worker died) frees itself; renewed every beat (1 s)
ADMITTED_FIELD = "limit_admitted_ms"
LIMITED_WAIT = 0.5  # seconds a job refused by its concurrency limit waits before it is tried again


@dataclass(frozen=True)
class Holder:
    """One run of a job holding (or asking for) a slot of its task: each run its own member."""

    task: str
    job_id: str
    limits: Limits
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def member(self) -> str:
        return f"{self.job_id}:{self.token}"


def tasks_by_limits() -> tuple[bool, tuple[str, ...]]:
    """(whether any registered task is limited, the names of those that are not): the worker's
    take step starts only jobs of the latter at once, and holds any other back for `admit`."""
    tasks = registry.all()
    return any(task.limits is not None for task in tasks), tuple(t.name for t in tasks if t.limits is None)


def holder_for(job: Any) -> Holder | None:
    """A new holder for one run of the job when its task is limited, else None."""
    name = getattr(job, "task_name", None)
    if name is None or name not in registry:
        return None
    limits = registry.get(name).limits
    return None if limits is None else Holder(name, str(job.id), limits)


@dataclass(frozen=True)
class Verdict:
    """Admitted (at `admitted_ms`, Redis's clock) or not (then wait `wait` seconds)."""

    admitted_ms: int | None = None
    wait: float = 0.0


def admit(connection: Redis, holders: list[Holder]) -> list[Verdict]:
    """A verdict for each holder, in one round trip."""
    if not holders:
        return []
    script = connection.register_script(ACQUIRE)
    with connection.pipeline(transaction=False) as pipeline:
        for holder in holders:
            rate = holder.limits.rate
            args = [
                0,
                holder.limits.concurrency or 0,
                LEASE_MS,
                holder.member,
                rate.count if rate else 0,
                rate.seconds * 1000 if rate else 0,
                holder.member,
                holder.job_id,
            ]
            task_keys = [limit_slots_key(holder.task), limit_starts_key(holder.task), limit_line_key(holder.task)]
            script(keys=task_keys, args=args, client=pipeline)
        answers = pipeline.execute()
    return [Verdict(admitted_ms=int(ms)) if int(ok) else Verdict(wait=_wait(int(ms))) for ok, ms in answers]


def _wait(ms: int) -> float:
    """Seconds to wait: the rate window's reopening, or LIMITED_WAIT (jittered) for a busy slot."""
    if ms < 0:
        return LIMITED_WAIT * random.uniform(0.8, 1.2)
    return ms / 1000


def renew(pipeline: Pipeline, holders: list[Holder]) -> None:
    """Add the lease renewal of every held concurrency slot to `pipeline` (the worker's beat)."""
    held = [holder for holder in holders if holder.limits.concurrency]
    if not held:
        return
    script = pipeline.register_script(RENEW)
    for holder in held:
        script(keys=[limit_slots_key(holder.task)], args=[0, LEASE_MS, holder.member], client=pipeline)


def release(connection: Redis, holder: Holder) -> None:
    """Free the holder's slot (its run ended); rate starts stay counted in their window."""
    if holder.limits.concurrency:
        connection.zrem(limit_slots_key(holder.task), holder.member)
