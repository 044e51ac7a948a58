"""One atomic step per due schedule: fire (or skip, or record as missed) and advance; a batch per call.

The run's job id is derived from the schedule and its due time, and the job's
creation, the ledger, the counters, the release of runs no longer kept and the move
to the next due time are one block of writes; the blocks of up to BATCH due schedules
(a cron herd due at one instant) go to Redis as ONE Lua call (`fire_script`), applied
only while the scheduler owns its lock, each only if its schedule is still due at the
time read and unchanged. So a due time fires at most once however many schedulers run,
and a crash mid-step leaves either everything done or nothing.

A schedule's runs keep their jobs and results by count: the newest
SCHEDULE_RUNS_KEPT run jobs do not expire by time, and the one that falls out of them is
released in the step that fires the next (deleted once finished; a busy one is handed
back to RESULT_TTL). A schedule that sets `result_ttl` keeps its runs that long instead.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from workers.core import keys
from workers.core.errors import JobServiceError
from workers.core.settings import Settings
from workers.jobs.submit import JobSpec, enqueue_in_transaction
from workers.observability.metrics import ALL_SCHEDULES, ERROR, FIRED, MISSED, SKIPPED, record_schedule_run
from workers.rq_seam.job import TaskJob, results_key_of, run_keys
from workers.schedules import fire_script
from workers.schedules.fire_script import APPLIED, MOVED, Block, LockLost
from workers.schedules.run_jobs import RunPlan, run_job, run_plan
from workers.schedules.spec import ScheduleSpec, plan_catch_up
from workers.schedules.store import KEPT_FIELD, derived_job_id, kept_id, kept_part, kept_parts, record_runs

log = logging.getLogger(__name__)
BUSY = {"queued", "started", "scheduled", "deferred"}
BATCH = 500
# A pass that fired waits at least PASS_GAP before the next: 100,000 schedules every minute fall
# due 0.6 ms apart, and a pass per due time would cost a pass's round trips per run; this way a
# busy scheduler fires several per pass, each at most PASS_GAP later than it would have. A pass
# that fired more than GAP_FROM runs (due more than ~800 a second) waits longer, in proportion,
# up to PASS_GAP_MAX: a pass's own cost (two round trips, the loop's wake and sleep) is then spread
# over ~40 runs instead of ~8, and a run is at most PASS_GAP_MAX later than it would have been.
PASS_GAP = 0.005
GAP_FROM = 4
PASS_GAP_MAX = 0.025
RETRY_BROKEN = 60.0  # seconds until a schedule with no computable next due time is tried again
# A run kept by count is released by the step that fires a later run; its own TTL is only a backstop
# (a schedule deleted while the run was still running), long enough never to matter otherwise. Not -1:
# RQ's worker logs "result will never expire" for every such job, and a lost one would stay for good.
KEPT_RESULT_TTL = 10 * 365 * 86_400
FIELDS = ("spec", "runs_total", "last_job_id", "updated_at", KEPT_FIELD)  # what a step reads of a due schedule
COMPACTED = 2  # the runs before the one fired whose results streams the step compacts
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
    lock_lost: bool = False  # the lock was another process's: nothing was written


run_job_id = derived_job_id


def fire_due(connection: Redis, settings: Settings, now: float, token: str = "") -> Pass:
    """Handle up to BATCH schedules due at or before `now` in one guarded Lua call.

    Two round trips for the batch's reads (the due set, then the schedules) and one
    for all its writes. The read of the due set also yields the earliest due time not
    yet reached: with the due times this pass advanced to, that is when to look again,
    without asking Redis. A schedule changed meanwhile (an API call) is left out of the
    pass, and the next due time is then left unknown. `token`: the lock owner's token,
    checked in the same call ('' for no lock, as in tests of the step alone).
    """
    found, later = fire_script.read(connection, keys.SCHEDULES_DUE, keys.schedule_key(""), now, BATCH, FIELDS)
    due = [(name, score) for name, score, _ in found]
    waiting = _next_waiting(due, later, now)
    if not due:
        return Pass([], waiting)
    try:
        steps = _fire_batch(connection, settings, due, now, token, [fields for _, _, fields in found])
    except LockLost:
        return Pass([], None, lock_lost=True)
    if len(steps) < len(due):
        return Pass(steps, None)  # a schedule moved under us: its due time is Redis's to say
    following = min([waiting, *(step.next_due for step in steps if step.next_due is not None)])
    if len(due) < BATCH:  # none left due now: what falls due within the gap waits for the next pass
        following = max(following, now + pass_gap(len(steps)))
    return Pass(steps, following)


def pass_gap(fired: int) -> float:
    """How long a pass that handled `fired` due schedules waits at least before the next (see PASS_GAP)."""
    return min(PASS_GAP_MAX, PASS_GAP * max(1.0, fired / GAP_FROM))


def _next_waiting(due: list[tuple[str, float]], later: float | None, now: float) -> float:
    """The earliest due time not fired in this pass: now when the batch was full, else the first later one."""
    if len(due) == BATCH:
        return now  # more are due already
    return later if later is not None else math.inf


@dataclass
class State:
    """A due schedule as read before its block is built."""

    name: str
    due: float
    updated_at: bytes
    spec: ScheduleSpec | None
    runs_total: int
    last_job_id: str | None
    kept: list[str]  # KEPT_FIELD's entries as stored (store.kept_parts), newest first
    last_status: str | None = None
    unreadable: str | None = None  # why the stored definition could not be read


def _fire_batch(
    connection: Redis,
    settings: Settings,
    due: list[tuple[str, float]],
    now: float,
    token: str,
    fields: list[list[bytes | None]],
) -> list[Fired]:
    """Every step of the batch in one guarded Lua call; a block refused for a key's type becomes an error run.

    `fields`: each due schedule's FIELDS as read with the due set; whether each is
    still due at the time read (and unchanged) is checked by the write itself.
    """
    started = time.monotonic()
    states = [state_of(name, score, *values) for (name, score), values in zip(due, fields, strict=True)]
    _read_last_status(connection, [s for s in states if s.spec and s.spec.overlap == "skip" and s.last_job_id])
    built = [_write_guarded(settings, state, now, started) for state in states]
    answers = _send(connection, token, [block for block, _ in built])
    steps, refused = [], []
    for (_, fired), state, answer in zip(built, states, answers, strict=True):
        if answer == APPLIED:
            steps.append(fired)
        elif answer != MOVED:
            refused.append((state, str(answer)))
    if refused:
        again = [_write_broken(settings, state, now, reason) for state, reason in refused]
        for (block, fired), answer in zip(again, _send(connection, token, [b for b, _ in again]), strict=True):
            if answer == APPLIED:
                steps.append(fired)
            elif answer != MOVED:
                raise RedisError(f"schedule {block.name}: {answer}")
    return steps


def _send(connection: Redis, token: str, blocks: list[Block]) -> list[int | str]:
    return fire_script.send(connection, keys.SCHEDULER_LOCK, token, keys.SCHEDULES_DUE, blocks)


def state_of(name: str, due: float, *fields: bytes | None) -> State:
    """A due schedule as stored; one whose definition cannot be read says why instead of raising."""
    raw, runs, last, updated, kept = fields
    stamp = updated or b""
    try:
        spec = _parsed(raw) if raw is not None else None
        jobs = kept_parts(kept)
        return State(name, due, stamp, spec, int(runs or 0), last.decode() if last else None, jobs)
    except Exception as error:  # noqa: BLE001 - one unreadable schedule must not stop the others
        return State(name, due, stamp, None, 0, None, [], unreadable=f"stored definition unreadable: {_reason(error)}")


_specs: dict[bytes, ScheduleSpec] = {}
SPECS_MAX = 100_000  # parsed definitions kept by their stored bytes: one per schedule of a big scheduler


def _parsed(raw: bytes) -> ScheduleSpec:
    """The stored definition, parsed once per exact bytes (a schedule fires every minute on the same ones)."""
    spec = _specs.get(raw)
    if spec is None:
        spec = ScheduleSpec.from_json(raw)
        if len(_specs) >= SPECS_MAX:
            _specs.clear()
        _specs[raw] = spec
    return spec


def _read_last_status(connection: Redis, states: list[State]) -> None:
    if not states:
        return
    with connection.pipeline(transaction=False) as reads:
        for state in states:
            reads.hget(TaskJob.key_for(state.last_job_id or ""), "status")
        for state, status in zip(states, reads.execute(), strict=True):
            state.last_status = status.decode() if status else None


def _block(state: State) -> Block:
    return Block(state.name, keys.schedule_key(state.name), state.due, state.updated_at)


def _write_guarded(settings: Settings, state: State, now: float, started: float) -> tuple[Block, Fired]:
    """One schedule's block; anything but Redis going wrong in it becomes that schedule's `error` run."""
    if state.unreadable is not None:
        return _write_broken(settings, state, now, state.unreadable)
    block = _block(state)
    try:
        return block, _write(block, settings, state, now, started)
    except RedisError:
        raise
    except Exception as error:  # noqa: BLE001 - one schedule must never stop the others
        return _write_broken(settings, state, now, _reason(error))


@dataclass
class _Run:
    """What became of the one due time a step fires (or tried to)."""

    outcome: str
    job_id: str | None
    runs_total: int
    reason: str | None = None


def _write(block: Block, settings: Settings, state: State, now: float, started: float) -> Fired:
    """Record one schedule's step on its block: fire, skip or record missed, then advance."""
    spec = state.spec
    if spec is None:
        block.zrem(keys.SCHEDULES_DUE, state.name)
        return Fired(state.name, state.due, None, "gone")
    plan_ = plan_catch_up(spec, state.due, now)
    fired_at = now + (time.monotonic() - started)  # later runs of a big batch are planned later: say so
    ledger: list[dict[str, Any]] = [_entry(None, missed, None, MISSED) for missed in plan_.missed]
    run = _Run(MISSED, None, state.runs_total)
    if plan_.fire is not None and spec.overlap == "skip" and state.last_status in BUSY:
        run = _Run(SKIPPED, None, state.runs_total)
        ledger.append(_entry(None, plan_.fire, fired_at, SKIPPED))
    elif plan_.fire is not None:
        run = _fire_run(block, settings, spec, state, plan_.fire, fired_at)
        ledger.append(_entry(run.job_id, plan_.fire, fired_at if run.job_id else None, run.outcome, run.reason))
    _count(block, spec.name, plan_.missed_total, run.outcome == SKIPPED)
    label = spec.name if settings.schedule_metrics == "per_schedule" else ALL_SCHEDULES
    _measure(block, label, plan_.missed_total, run.outcome, fired_at - plan_.fire if plan_.fire is not None else None)
    record_runs(block, spec.name, ledger)
    following = _advance(block, spec, now, run.runs_total)
    return Fired(spec.name, plan_.fire, run.job_id, run.outcome, following, run.reason)


def _fire_run(block: Block, settings: Settings, spec: ScheduleSpec, state: State, due: float, fired_at: float) -> _Run:
    """Write the run's job on the block; a job that cannot be built (task gone, queue refused) is an error run."""
    job_id = run_job_id(spec.name, due)
    mark = block.mark()
    runs = state.runs_total
    try:
        queue, commands = run_job(settings, plan_of(spec), job_id)
    except RedisError:
        raise
    except Exception as error:  # noqa: BLE001 - the schedule keeps its timing; the run is recorded as error
        block.undo(mark)
        return _Run(ERROR, None, runs, _reason(error))
    for name, key, args in commands:
        block.add(name, key, *args)
    last: dict[str, Any] = {"last_run_at": fired_at, "last_due_at": due, "last_job_id": job_id, "runs_total": runs + 1}
    last[KEPT_FIELD] = " ".join(keep_runs(block, settings, spec, queue, job_id, state.kept))
    block.hset(keys.schedule_key(spec.name), mapping=last)  # runs_total was read with the due time the block checks
    return _Run(FIRED, job_id, runs + 1)


_run_plans: dict[int, tuple[ScheduleSpec, RunPlan]] = {}


def plan_of(spec: ScheduleSpec) -> RunPlan:
    """The run job of a parsed definition (cached with it, by identity: `_parsed` keeps one object per definition).

    Built on the first run, inside the step's guard: a definition whose job cannot be built
    records error runs and keeps its timing, as before it was cached.
    """
    found = _run_plans.get(id(spec))
    if found is not None and found[0] is spec:
        return found[1]
    made = run_plan(_job_spec(spec, None, kept=spec.result_ttl is None))
    if len(_run_plans) >= SPECS_MAX:
        _run_plans.clear()
    _run_plans[id(spec)] = (spec, made)
    return made


def keep_runs(
    block: Block, settings: Settings, spec: ScheduleSpec, queue: str, job_id: str, kept: list[str]
) -> list[str]:
    """The run jobs kept after this run (newest first, as KEPT_FIELD stores them); release the ones that fall out.

    With its own `result_ttl` a schedule's runs expire by time, so none is kept by count
    (and the ones an earlier definition kept are released). The results streams of the
    two runs before this one (finished by now, as a rule) are compacted. `kept` and the
    answer are KEPT_FIELD's parts: a run's full id is built only for the few released or compacted.
    """
    name = spec.name
    if spec.result_ttl is not None:
        released, newest = kept, []
    else:
        everything = [kept_part(name, job_id), *kept]
        released, newest = everything[settings.schedule_runs_kept :], everything[: settings.schedule_runs_kept]
    for part in released:
        old = kept_id(name, part)
        job_key, results_key, registries = run_keys(old, queue)
        block.release(job_key, settings.result_ttl, old, results_key, registries)
    for previous in newest[1 : COMPACTED + 1]:
        block.compact(results_key_of(kept_id(name, previous)))
    return newest


def _write_broken(settings: Settings, state: State, now: float, reason: str) -> tuple[Block, Fired]:
    """Record an error run for a schedule whose step failed, and look again at its next due time.

    When that cannot be computed either (an unreadable definition, a cron or timezone
    this version rejects), it is tried again RETRY_BROKEN later, so a fix or a rollback heals it.
    """
    block = _block(state)
    try:
        following = state.spec.next_due(now) if state.spec is not None else now + RETRY_BROKEN
    except Exception:  # noqa: BLE001 - no next due time to be had: try again later
        following = now + RETRY_BROKEN
    record_runs(block, state.name, [_entry(None, state.due, None, ERROR, reason)])
    label = state.name if settings.schedule_metrics == "per_schedule" else ALL_SCHEDULES
    record_schedule_run(block, label, ERROR, None)  # type: ignore[arg-type]
    if following is None:
        block.zrem(keys.SCHEDULES_DUE, state.name)
    else:
        block.zadd(keys.SCHEDULES_DUE, {state.name: following})
    return block, Fired(state.name, state.due, None, ERROR, following, reason)


def _reason(error: Exception) -> str:
    """Our own errors say it all; anything else is named by its type too."""
    text = str(error) if isinstance(error, JobServiceError) else f"{type(error).__name__}: {error}"
    return text[:REASON_LIMIT]


def _count(block: Block, name: str, missed: int, skipped: bool) -> None:
    if missed:
        block.hincrby(keys.schedule_key(name), "missed_total", missed)
    if skipped:
        block.hincrby(keys.schedule_key(name), "skipped_total", 1)


def _measure(block: Block, label: str, missed: int, outcome: str, lateness: float | None) -> None:
    """Prometheus counters and the lateness histogram, in the same step as the run."""
    if missed:
        record_schedule_run(block, label, MISSED, None, missed)  # type: ignore[arg-type]
    if outcome in (FIRED, SKIPPED, ERROR):
        record_schedule_run(block, label, outcome, lateness if outcome == FIRED else None)  # type: ignore[arg-type]


def _advance(block: Block, spec: ScheduleSpec, now: float, runs_total: int) -> float | None:
    """Move the schedule to its next due time (returned), or out of the due set when it has ended."""
    following = spec.next_due(now)
    if following is None or (spec.repeat is not None and runs_total >= spec.repeat):
        block.zrem(keys.SCHEDULES_DUE, spec.name)
        return None
    block.zadd(keys.SCHEDULES_DUE, {spec.name: following})
    return following


def _entry(
    job_id: str | None, due: float, fired: float | None, status: str, reason: str | None = None
) -> dict[str, Any]:
    entry = {"job_id": job_id, "due_at": due, "fired_at": fired, "status": status}
    return entry if reason is None else {**entry, "reason": reason}


def _job_spec(spec: ScheduleSpec, job_id: str | None, kept: bool = False) -> JobSpec:
    """The run's job; `kept`: kept by count (the fire step releases it; KEPT_RESULT_TTL is only a backstop)."""
    return JobSpec(
        task=spec.task,
        args=spec.args,
        kwargs=spec.kwargs,
        queue=spec.queue,
        timeout=spec.timeout,
        retry=spec.retry_policy(),
        result_ttl=KEPT_RESULT_TTL if kept else spec.result_ttl,
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
