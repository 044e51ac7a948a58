"""Response bodies of /schedules; the request bodies are `workers.schedules.model`'s, shared with SCHEDULES_FILE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class DueTime(BaseModel):
    utc: datetime
    local: datetime


class RunOut(BaseModel):
    job_id: str | None
    due_at: datetime | None
    fired_at: datetime | None
    status: str


class RunList(BaseModel):
    runs: list[RunOut]


class ScheduleOut(BaseModel):
    name: str
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    cron: str | None
    timezone: str
    interval: float | None
    at: datetime | None
    start_at: datetime | None
    queue: str | None
    timeout: int | None
    retry: dict[str, Any] | None
    result_ttl: int | None
    misfire_grace_time: float
    overlap: str
    repeat: int | None
    paused: bool
    callback_url: str | None = None
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_job_id: str | None
    last_status: str | None
    runs_total: int
    missed_total: int
    skipped_total: int
    created_at: datetime
    updated_at: datetime
    upcoming: list[DueTime]


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]
