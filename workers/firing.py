"""One atomic step per due schedule: fire (or skip, or record as missed) and advance.

The run's job id is derived from the schedule and its due time, and the job's
creation, the ledger, the counters and the move to the next due time are one
MULTI/EXEC, watched on the schedule and on that job id. So a due time fires at
most once however many schedulers run, and a crash mid-step leaves either
everything done or nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from redis import Redis, WatchError
from redis.client import Pipeline
from rq.utils import get_version

from workers import keys
from workers.jobs import JobSpec, enqueue_in_transaction
from workers.metrics import record_schedule_run
from workers.schedule_store import record_runs
from workers.schedules import ScheduleSpec, plan_catch_up
from workers.serialization import TaskJob
from workers.settings import Settings

log = logging.getLogger(__name__)
BUSY = {"queued", "started", "scheduled", "deferred"}
BATCH = 500


@dataclass
class Fired:
    """What a step did for one schedule (for logs, metrics and tests)."""

    name: str
    due: float | None
    job_id: str | None
    outcome: str  # fired, skipped, missed, gone


def run_job_id(name: str, due: float) -> str:
    return f"{name}-{int(round(due * 1000))}"


def fire_due(connection: Redis, settings: Settings, now: float) -> list[Fired]:
    """Handle every schedule due at or before `now` (in batches), each in its own transaction."""
    get_version(connection)  # cached on the client, so no INFO round trip inside a MULTI
    results = []
    due = connection.zrangebyscore(keys.SCHEDULES_DUE, "-inf", now, start=0, num=BATCH, withscores=True)
    for name, score in due:
        outcome = fire_one(connection, settings, name.decode(), score, now)
        if outcome is not None:
            results.append(outcome)
    return results


def fire_one(connection: Redis, settings: Settings, name: str, due: float, now: float) -> Fired | None:
    """The atomic step for one schedule; None when another process changed it first."""
    key = keys.schedule_key(name)
    with connection.pipeline() as pipe:
        try:
            pipe.watch(key)
            raw, runs_raw, last_job = pipe.hmget(key, "spec", "runs_total", "last_job_id")
            if pipe.zscore(keys.SCHEDULES_DUE, name) != due:
                return None
            if raw is None:
                pipe.multi()
                pipe.zrem(keys.SCHEDULES_DUE, name)
                pipe.execute()
                return Fired(name, due, None, "gone")
            spec = ScheduleSpec.from_json(raw)
            return _step(pipe, connection, settings, spec, due, now, int(runs_raw or 0), last_job)
        except WatchError:
            return None


def _step(
    pipe: Pipeline,
    connection: Redis,
    settings: Settings,
    spec: ScheduleSpec,
    due: float,
    now: float,
    runs_total: int,
    last_job: bytes | None,
) -> Fired:
    plan = plan_catch_up(spec, due, now)
    ledger: list[dict[str, Any]] = [_entry(None, missed, None, "missed") for missed in plan.missed]
    outcome, job_id = "missed", None
    if plan.fire is not None:
        job_id = run_job_id(spec.name, plan.fire)
        pipe.watch(TaskJob.key_for(job_id))
        if pipe.exists(TaskJob.key_for(job_id)):
            outcome = "already-fired"
        elif spec.overlap == "skip" and _busy(pipe, last_job):
            outcome = "skipped"
            ledger.append(_entry(None, plan.fire, now, "skipped"))
        else:
            outcome = "fired"
            ledger.append(_entry(job_id, plan.fire, now, "fired"))
    pipe.multi()
    if outcome == "fired":
        enqueue_in_transaction(connection, pipe, settings, _job_spec(spec, job_id))
        pipe.hset(
            keys.schedule_key(spec.name), mapping={"last_run_at": now, "last_due_at": plan.fire, "last_job_id": job_id}
        )
        pipe.hincrby(keys.schedule_key(spec.name), "runs_total", 1)
        runs_total += 1
    _count(pipe, spec.name, plan.missed_total, outcome == "skipped")
    _measure(pipe, spec.name, plan.missed_total, outcome, now - plan.fire if plan.fire is not None else None)
    record_runs(pipe, spec.name, ledger)
    _advance(pipe, spec, now, runs_total)
    pipe.execute()
    return Fired(spec.name, plan.fire, job_id if outcome == "fired" else None, outcome)


def _busy(pipe: Pipeline, last_job: bytes | None) -> bool:
    if last_job is None:
        return False
    status = pipe.hget(TaskJob.key_for(last_job.decode()), "status")
    return status is not None and status.decode() in BUSY


def _count(pipe: Pipeline, name: str, missed: int, skipped: bool) -> None:
    if missed:
        pipe.hincrby(keys.schedule_key(name), "missed_total", missed)
    if skipped:
        pipe.hincrby(keys.schedule_key(name), "skipped_total", 1)


def _measure(pipe: Pipeline, name: str, missed: int, outcome: str, lateness: float | None) -> None:
    """Prometheus counters and the lateness histogram, in the same transaction as the run."""
    if missed:
        record_schedule_run(pipe, name, "missed", None, missed)
    if outcome in ("fired", "skipped"):
        record_schedule_run(pipe, name, outcome, lateness if outcome == "fired" else None)


def _advance(pipe: Pipeline, spec: ScheduleSpec, now: float, runs_total: int) -> None:
    following = spec.next_due(now)
    if following is None or (spec.repeat is not None and runs_total >= spec.repeat):
        pipe.zrem(keys.SCHEDULES_DUE, spec.name)
    else:
        pipe.zadd(keys.SCHEDULES_DUE, {spec.name: following})


def _entry(job_id: str | None, due: float, fired: float | None, status: str) -> dict[str, Any]:
    return {"job_id": job_id, "due_at": due, "fired_at": fired, "status": status}


def _job_spec(spec: ScheduleSpec, job_id: str | None) -> JobSpec:
    return JobSpec(
        task=spec.task,
        args=spec.args,
        kwargs=spec.kwargs,
        queue=spec.queue,
        timeout=spec.timeout,
        retry=spec.retry_policy(),
        job_id=job_id,
        meta={"schedule": spec.name},
    )


def trigger(connection: Redis, settings: Settings, spec: ScheduleSpec, now: float) -> str:
    """One run now, outside the timing: in the ledger, but not counted against `repeat`."""
    job_id = f"{spec.name}-trigger-{uuid.uuid4().hex[:12]}"
    with connection.pipeline() as pipe:
        pipe.multi()
        enqueue_in_transaction(connection, pipe, settings, _job_spec(spec, job_id))
        pipe.hset(keys.schedule_key(spec.name), mapping={"last_run_at": now, "last_job_id": job_id})
        record_runs(pipe, spec.name, [_entry(job_id, now, now, "fired")])
        pipe.execute()
    return job_id
