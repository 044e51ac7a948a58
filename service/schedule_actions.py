"""Pause, resume and trigger with their audit entries, done the same way by the API and the schedules view."""

from __future__ import annotations

from dataclasses import replace

from redis import Redis

from service.audit import Auditor
from workers.core.settings import Settings
from workers.observability.audit import schedule_state
from workers.schedules import store as schedule_store
from workers.schedules.firing import trigger
from workers.schedules.store import ScheduleInfo


def set_paused(redis: Redis, audit: Auditor, name: str, paused: bool, now: float) -> ScheduleInfo:
    """Pause or resume; audited only when it changed something (pausing twice is one change)."""
    change = schedule_store.set_paused(redis, name, paused, now)
    if change.changed:
        before = schedule_state(replace(change.info.spec, paused=not paused))
        audit("schedule.pause" if paused else "schedule.resume", name, before, schedule_state(change.info.spec))
    return change.info


def trigger_now(redis: Redis, settings: Settings, audit: Auditor, name: str, now: float) -> str:
    """Fire one run of `name` now, outside its timing; returns the run's job id."""
    job_id = trigger(redis, settings, schedule_store.get(redis, name).spec, now)
    audit("schedule.trigger", name, after={"job_id": job_id})
    return job_id
