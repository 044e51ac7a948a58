"""/schedules: create, replace, read, pause, resume, trigger and delete schedules."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, ValidationError
from redis import Redis

from service.audit import AuditDep, Auditor
from service.deps import AdminKey, ReadKey, RedisDep, SettingsDep
from service.guarded_route import GuardedRoute
from service.job_answers import accepted
from service.schedule_actions import set_paused, trigger_now
from service.schedule_schemas import (
    DueTime,
    RunOut,
    ScheduleList,
    ScheduleOut,
)
from service.schemas import JobAccepted
from workers.core import datetimes
from workers.core.errors import ScheduleUnreadableError
from workers.jobs import submit as jobs
from workers.observability.audit import audited_upsert, schedule_state
from workers.schedules import store as schedule_store
from workers.schedules.model import ScheduleCreate, ScheduleIn
from workers.schedules.spec import NAME_PATTERN, UPCOMING, ScheduleSpec, check_callback
from workers.schedules.store import ScheduleInfo

log = logging.getLogger(__name__)
router = APIRouter(tags=["schedules"], route_class=GuardedRoute)


class ScheduleRun(RunOut):
    """A ledger entry; `reason` says why an `error` run could not be fired (None for every other status)."""

    reason: str | None = None
    job_expired: bool | None = Field(
        default=None,
        description="fired runs only: true when the run's job is gone (older than the runs kept, or expired)",
    )


class ScheduleRuns(BaseModel):
    runs: list[ScheduleRun]


NamePath = Annotated[str, Path(pattern=NAME_PATTERN, description="schedule name")]


def to_out(info: ScheduleInfo, now: float) -> ScheduleOut:
    spec = info.spec
    return ScheduleOut(
        **{k: v for k, v in asdict(spec).items() if k not in ("at", "start_at")},
        at=_time(spec.at),
        start_at=_time(spec.start_at),
        next_run_at=_time(info.next_run_at),
        last_run_at=_time(info.last_run_at),
        last_job_id=info.last_job_id,
        last_status=info.last_status,
        runs_total=info.runs_total,
        missed_total=info.missed_total,
        skipped_total=info.skipped_total,
        created_at=_time(info.created_at),
        updated_at=_time(info.updated_at),
        upcoming=_due_times(spec, now, info.runs_total),
    )


def _due_times(spec: ScheduleSpec, now: float, runs_total: int) -> list[DueTime]:
    """The next due times in UTC and local; none for a definition they cannot be computed for."""
    upcoming = spec.shown_upcoming(now, UPCOMING, runs_total)
    zone = ZoneInfo(spec.timezone) if upcoming else UTC  # shown_upcoming checked the zone
    return [DueTime(utc=_time(t), local=datetime.fromtimestamp(t, zone)) for t in upcoming]


def _time(timestamp: float | None) -> datetime | None:
    """None too for a time an older version stored that no datetime can show: a read never fails on it."""
    return datetimes.as_datetime(timestamp)


@router.post("/schedules", status_code=201)
def create_schedule(
    body: ScheduleCreate, redis: RedisDep, settings: SettingsDep, key: AdminKey, audit: AuditDep
) -> ScheduleOut:
    """Create a schedule; 409 when the name is taken."""
    now = time.time()
    spec = check_callback(body.to_spec(), settings)
    info = schedule_store.upsert(redis, spec, now, create_only=True).info
    audit("schedule.create", info.spec.name, after=schedule_state(info.spec))
    return to_out(info, now)


@router.put("/schedules/{name}", responses={201: {"model": ScheduleOut}})
def put_schedule(
    name: NamePath,
    body: ScheduleIn,
    response: Response,
    redis: RedisDep,
    settings: SettingsDep,
    key: AdminKey,
    audit: AuditDep,
) -> ScheduleOut:
    """Create or replace a schedule; the same body twice changes nothing."""
    now = time.time()
    result = audited_upsert(redis, check_callback(body.to_spec(name), settings), now, audit)
    response.status_code = 201 if result.created else 200
    return to_out(result.info, now)


@router.get("/schedules")
def list_schedules(redis: RedisDep, key: ReadKey) -> ScheduleList:
    """Every schedule with its timing and state."""
    now = time.time()
    shown = (_shown(info, now) for info in schedule_store.list_all(redis))
    return ScheduleList(schedules=[out for out in shown if not isinstance(out, ScheduleUnreadableError)])


@router.get("/schedules/{name}")
def get_schedule(name: NamePath, redis: RedisDep, key: ReadKey) -> ScheduleOut:
    """One schedule, with its next five due times in UTC and in its timezone."""
    shown = _shown(schedule_store.get(redis, name), time.time())
    if isinstance(shown, ScheduleUnreadableError):
        raise shown
    return shown


def _shown(info: ScheduleInfo, now: float) -> ScheduleOut | ScheduleUnreadableError:
    """The answer for one schedule, or why it cannot be shown (a field of a type another version wrote)."""
    try:
        return to_out(info, now)
    except ValidationError as error:
        logged = schedule_store.unreadable(info.spec.name, error)
        log.warning("%s", logged)
        return logged


@router.delete("/schedules/{name}", status_code=204)
def delete_schedule(name: NamePath, redis: RedisDep, settings: SettingsDep, key: AdminKey, audit: AuditDep) -> Response:
    """Delete a schedule; no later run fires."""
    before = audit.stored_schedule(name)
    schedule_store.delete(redis, name, settings.result_ttl)
    audit("schedule.delete", name, before=before)
    return Response(status_code=204)


@router.post("/schedules/{name}/pause")
def pause_schedule(name: NamePath, redis: RedisDep, key: AdminKey, audit: AuditDep) -> ScheduleOut:
    """Pause: nothing fires until resumed."""
    return _set_paused(redis, audit, name, True)


@router.post("/schedules/{name}/resume")
def resume_schedule(name: NamePath, redis: RedisDep, key: AdminKey, audit: AuditDep) -> ScheduleOut:
    """Resume from the next due time; runs due while paused are not fired."""
    return _set_paused(redis, audit, name, False)


def _set_paused(redis: Redis, audit: Auditor, name: str, paused: bool) -> ScheduleOut:
    now = time.time()
    return to_out(set_paused(redis, audit, name, paused, now), now)


@router.post("/schedules/{name}/trigger", status_code=202)
def trigger_schedule(
    name: NamePath, redis: RedisDep, settings: SettingsDep, key: AdminKey, audit: AuditDep
) -> JobAccepted:
    """Fire one run now, outside the timing."""
    return accepted(jobs.fetch(redis, trigger_now(redis, settings, audit, name, time.time())))


@router.get("/schedules/{name}/runs")
def schedule_runs(
    name: NamePath, redis: RedisDep, key: ReadKey, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> ScheduleRuns:
    """The run ledger, newest first, with missed, skipped and error runs."""
    entries = schedule_store.runs(redis, name, limit)
    return ScheduleRuns(runs=[_run(entry) for entry in entries])


def _run(entry: dict[str, Any]) -> ScheduleRun:
    return ScheduleRun(
        job_id=entry["job_id"],
        due_at=_time(entry["due_at"]),
        fired_at=_time(entry["fired_at"]),
        status=entry["status"],
        reason=entry.get("reason"),
        job_expired=entry.get("job_expired"),
    )
