"""One atomic step per due schedule: fire (or skip, or record as missed) and advance.

The run's job id is derived from the schedule and its due time, and the job's
creation, the ledger, the counters and the move to the next due time are one
MULTI/EXEC watched on the schedule's hash (a batch of due schedules shares one
transaction). So a due time fires at most once however many schedulers run,
and a crash mid-step leaves either everything done or nothing.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis import Redis, WatchError
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq.utils import get_version

from workers.core import keys
from workers.core.errors import JobServiceError
from workers.core.settings import Settings
from workers.jobs.submit import JobSpec, enqueue_in_transaction
from workers.observability.metrics import ALL_SCHEDULES, ERROR, FIRED, MISSED, SKIPPED, record_schedule_run
from workers.rq_seam.job import TaskJob
from workers.schedules.spec import ScheduleSpec, plan_catch_up
from workers.schedules.store import record_runs

log = logging.getLogger(__name__)
BUSY = {"queued", "started", "scheduled", "deferred"}
BATCH = 500
RETRY_BROKEN = 60.0  # seconds until a schedule with no computable next due time is tried again
REASON_LIMIT = 300  # characters of an error's reason kept in the ledger


@dataclass
class Fired:
    """What a step did for one schedule (for logs, metrics and tests)."""

    name: str
    due: float | None
    job_id: str | None
    outcome: str  # fired, skipped, missed, error, gone
    next_due: float | None = None  # the due time it advanced to; None: none (ended, gone, or not known)
    reason: str | None = None  # why an `error` run could not be fired


@dataclass
class Pass:
    """One pass over the due set: what each step did, and when the scheduler should look again."""

    steps: list[Fired]
    next_due: float | None  # earliest due time left (math.inf: none); None when this pass cannot know


def run_job_id(name: str, due: float) -> str:
    return f"{name}-{int(round(due * 1000))}"


def fire_due(connection: Redis, settings: Settings, now: float) -> Pass:
    """Handle up to BATCH schedules due at or before `now` in one watched transaction.

    Three round trips for the whole batch (WATCH, the reads, MULTI/EXEC) after the
    read of the due set, which also yields the earliest due time not yet reached:
    with the due times this pass advanced to, that is when to look again, without
    asking Redis. When a schedule in the batch changed meanwhile (an API call), the
    batch is redone one by one and the next due time is left unknown.
    """
    get_version(connection)  # cached on the client, so no INFO round trip inside a MULTI
    with connection.pipeline(transaction=False) as reads:
        reads.zrangebyscore(keys.SCHEDULES_DUE, "-inf", now, start=0, num=BATCH, withscores=True)
        reads.zrangebyscore(keys.SCHEDULES_DUE, f"({now}", "+inf", start=0, num=1, withscores=True)
        found, later = reads.execute()
    due = [(name.decode(), score) for name, score in found]
    waiting = _next_waiting(due, later, now)
    if not due:
        return Pass([], waiting)
    try:
        steps = _fire_batch(connection, settings, due, now)
    except WatchError:
        steps = _fire_one_by_one(connection, settings, due, now)
    if len(steps) < len(due):
        return Pass(steps, None)  # a schedule moved under us: its due time is Redis's to say
    return Pass(steps, min([waiting, *(step.next_due for step in steps if step.next_due is not None)]))


def _next_waiting(due: list[tuple[str, float]], later: list[tuple[bytes, float]], now: float) -> float:
    """The earliest due time not fired in this pass: now when the batch was full, else the first later one."""
    if len(due) == BATCH:
        return now  # more are due already
    if later:
        return later[0][1]
    return math.inf


def _fire_one_by_one(connection: Redis, settings: Settings, due: list[tuple[str, float]], now: float) -> list[Fired]:
    """The batch again, one schedule per step; a schedule another process changed first is left out."""
    steps = []
    for name, score in due:
        fired = fire_one(connection, settings, name, score, now)
        if fired is not None:
            steps.append(fired)
    return steps


def fire_one(connection: Redis, settings: Settings, name: str, due: float, now: float) -> Fired | None:
    """The atomic step for one schedule; None when another process changed it first."""
    try:
        steps = _fire_batch(connection, settings, [(name, due)], now)
    except WatchError:
        return None
    return steps[0] if steps else None


@dataclass
class _State:
    """A due schedule as read inside the watch."""

    name: str
    due: float
    spec: ScheduleSpec | None
    runs_total: int
    last_job_id: str | None
    last_status: str | None = None
    unreadable: str | None = None  # why the stored definition could not be read


def _fire_batch(connection: Redis, settings: Settings, due: list[tuple[str, float]], now: float) -> list[Fired]:
    """Every step of the batch in one MULTI, watched on the schedules it touches."""
    started = time.monotonic()
    with connection.pipeline() as pipe:
        pipe.watch(*(keys.schedule_key(name) for name, _ in due))
        states = _read(connection, due)
        pipe.multi()
        steps = [_write_guarded(pipe, connection, settings, state, now, started) for state in states]
        pipe.execute()
    return steps


def _read(connection: Redis, due: list[tuple[str, float]]) -> list[_State]:
    """Definitions, counters and due times in one round trip (plus one for overlap checks)."""
    with connection.pipeline(transaction=False) as reads:
        for name, _ in due:
            reads.hmget(keys.schedule_key(name), "spec", "runs_total", "last_job_id")
            reads.zscore(keys.SCHEDULES_DUE, name)
        replies = reads.execute()
    states = []
    for (name, score), fields, current in zip(due, replies[::2], replies[1::2], strict=True):
        if current != score:
            continue  # moved since the range read: another step handled it
        states.append(_state(name, score, *fields))
    _read_last_status(connection, [s for s in states if s.spec and s.spec.overlap == "skip" and s.last_job_id])
    return states


def _state(name: str, due: float, raw: bytes | None, runs: bytes | None, last: bytes | None) -> _State:
    """A due schedule as stored; one whose definition cannot be read says why instead of raising."""
    try:
        spec = ScheduleSpec.from_json(raw) if raw is not None else None
        return _State(name, due, spec, int(runs or 0), last.decode() if last else None)
    except Exception as error:  # noqa: BLE001 - one unreadable schedule must not stop the others
        return _State(name, due, None, 0, None, unreadable=f"stored definition unreadable: {_reason(error)}")


def _read_last_status(connection: Redis, states: list[_State]) -> None:
    if not states:
        return
    with connection.pipeline(transaction=False) as reads:
        for state in states:
            reads.hget(TaskJob.key_for(state.last_job_id or ""), "status")
        for state, status in zip(states, reads.execute(), strict=True):
            state.last_status = status.decode() if status else None


def _write_guarded(
    pipe: Pipeline, connection: Redis, settings: Settings, state: _State, now: float, started: float
) -> Fired:
    """One schedule's step; anything but Redis going wrong in it becomes that schedule's `error` run.

    A Redis error is the whole pass's (an outage), left to the scheduler's loop.
    """
    mark = len(pipe.command_stack)
    try:
        if state.unreadable is not None:
            return _write_broken(pipe, settings, state, now, state.unreadable)
        return _write(pipe, connection, settings, state, now, started)
    except RedisError:
        raise
    except Exception as error:  # noqa: BLE001 - one schedule must never stop the others
        del pipe.command_stack[mark:]  # what the failed step queued must not half-happen
        return _write_broken(pipe, settings, state, now, _reason(error))


@dataclass
class _Run:
    """What became of the one due time a step fires (or tried to)."""

    outcome: str
    job_id: str | None
    runs_total: int
    reason: str | None = None


def _write(pipe: Pipeline, connection: Redis, settings: Settings, state: _State, now: float, started: float) -> Fired:
    """Queue one schedule's step on the batch's MULTI: fire, skip or record missed, then advance."""
    spec = state.spec
    if spec is None:
        pipe.zrem(keys.SCHEDULES_DUE, state.name)
        return Fired(state.name, state.due, None, "gone")
    plan = plan_catch_up(spec, state.due, now)
    fired_at = now + (time.monotonic() - started)  # later runs of a big batch fire later: say so
    ledger: list[dict[str, Any]] = [_entry(None, missed, None, MISSED) for missed in plan.missed]
    run = _Run(MISSED, None, state.runs_total)
    if plan.fire is not None and spec.overlap == "skip" and state.last_status in BUSY:
        run = _Run(SKIPPED, None, state.runs_total)
        ledger.append(_entry(None, plan.fire, fired_at, SKIPPED))
    elif plan.fire is not None:
        run = _fire_run(pipe, connection, settings, spec, plan.fire, fired_at, state.runs_total)
        ledger.append(_entry(run.job_id, plan.fire, fired_at if run.job_id else None, run.outcome, run.reason))
    _count(pipe, spec.name, plan.missed_total, run.outcome == SKIPPED)
    label = spec.name if settings.schedule_metrics == "per_schedule" else ALL_SCHEDULES
    _measure(pipe, label, plan.missed_total, run.outcome, fired_at - plan.fire if plan.fire is not None else None)
    record_runs(pipe, spec.name, ledger)
    following = _advance(pipe, spec, now, run.runs_total)
    return Fired(spec.name, plan.fire, run.job_id, run.outcome, following, run.reason)


def _fire_run(
    pipe: Pipeline, connection: Redis, settings: Settings, spec: ScheduleSpec, due: float, fired_at: float, runs: int
) -> _Run:
    """Enqueue the run's job on the MULTI; a job that cannot be built (task gone, queue refused) is an error run."""
    job_id = run_job_id(spec.name, due)
    mark = len(pipe.command_stack)
    try:
        enqueue_in_transaction(pipe, settings, _job_spec(spec, job_id))
    except RedisError:
        raise
    except Exception as error:  # noqa: BLE001 - the schedule keeps its timing; the run is recorded as error
        del pipe.command_stack[mark:]
        return _Run(ERROR, None, runs, _reason(error))
    last = {"last_run_at": fired_at, "last_due_at": due, "last_job_id": job_id, "runs_total": runs + 1}
    pipe.hset(keys.schedule_key(spec.name), mapping=last)  # runs_total was read under the watch
    return _Run(FIRED, job_id, runs + 1)


def _write_broken(pipe: Pipeline, settings: Settings, state: _State, now: float, reason: str) -> Fired:
    """Record an error run for a schedule whose step failed, and look again at its next due time.

    When that cannot be computed either (an unreadable definition, a cron or timezone
    this version rejects), it is tried again RETRY_BROKEN later, so a fix or a rollback heals it.
    """
    try:
        following = state.spec.next_due(now) if state.spec is not None else now + RETRY_BROKEN
    except Exception:  # noqa: BLE001 - no next due time to be had: try again later
        following = now + RETRY_BROKEN
    record_runs(pipe, state.name, [_entry(None, state.due, None, ERROR, reason)])
    label = state.name if settings.schedule_metrics == "per_schedule" else ALL_SCHEDULES
    record_schedule_run(pipe, label, ERROR, None)
    if following is None:
        pipe.zrem(keys.SCHEDULES_DUE, state.name)
    else:
        pipe.zadd(keys.SCHEDULES_DUE, {state.name: following})
    return Fired(state.name, state.due, None, ERROR, following, reason)


def _reason(error: Exception) -> str:
    """Our own errors say it all; anything else is named by its type too."""
    text = str(error) if isinstance(error, JobServiceError) else f"{type(error).__name__}: {error}"
    return text[:REASON_LIMIT]


def _count(pipe: Pipeline, name: str, missed: int, skipped: bool) -> None:
    if missed:
        pipe.hincrby(keys.schedule_key(name), "missed_total", missed)
    if skipped:
        pipe.hincrby(keys.schedule_key(name), "skipped_total", 1)


def _measure(pipe: Pipeline, label: str, missed: int, outcome: str, lateness: float | None) -> None:
    """Prometheus counters and the lateness histogram, in the same transaction as the run."""
    if missed:
        record_schedule_run(pipe, label, MISSED, None, missed)
    if outcome in (FIRED, SKIPPED, ERROR):
        record_schedule_run(pipe, label, outcome, lateness if outcome == FIRED else None)


def _advance(pipe: Pipeline, spec: ScheduleSpec, now: float, runs_total: int) -> float | None:
    """Move the schedule to its next due time (returned), or out of the due set when it has ended."""
    following = spec.next_due(now)
    if following is None or (spec.repeat is not None and runs_total >= spec.repeat):
        pipe.zrem(keys.SCHEDULES_DUE, spec.name)
        return None
    pipe.zadd(keys.SCHEDULES_DUE, {spec.name: following})
    return following


def _entry(
    job_id: str | None, due: float, fired: float | None, status: str, reason: str | None = None
) -> dict[str, Any]:
    entry = {"job_id": job_id, "due_at": due, "fired_at": fired, "status": status}
    return entry if reason is None else {**entry, "reason": reason}


def _job_spec(spec: ScheduleSpec, job_id: str | None) -> JobSpec:
    return JobSpec(
        task=spec.task,
        args=spec.args,
        kwargs=spec.kwargs,
        queue=spec.queue,
        timeout=spec.timeout,
        retry=spec.retry_policy(),
        result_ttl=spec.result_ttl,
        job_id=job_id,
        meta={"schedule": spec.name},
        callback_url=spec.callback_url,
    )


def trigger(connection: Redis, settings: Settings, spec: ScheduleSpec, now: float) -> str:
    """One run now, outside the timing: in the ledger, but not counted against `repeat`."""
    job_id = f"{spec.name}-trigger-{uuid.uuid4().hex[:12]}"
    with connection.pipeline() as pipe:
        pipe.multi()
        enqueue_in_transaction(pipe, settings, _job_spec(spec, job_id))
        pipe.hset(keys.schedule_key(spec.name), mapping={"last_run_at": now, "last_job_id": job_id})
        record_runs(pipe, spec.name, [_entry(job_id, now, now, FIRED)])
        pipe.execute()
    return job_id
