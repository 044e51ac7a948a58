"""Request and response bodies of /schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from service.schemas import QUEUE_PATTERN, JsonArgs, JsonKwargs, RetrySpec
from workers.schedules.spec import NAME_PATTERN

ScheduleName = Annotated[str, Field(pattern=NAME_PATTERN)]


class ScheduleIn(BaseModel):
    """Exactly one of `cron`, `interval`, `at`; `name` may be left out of a PUT body."""

    model_config = ConfigDict(extra="forbid")

    name: ScheduleName | None = None
    task: str = Field(min_length=1, max_length=200)
    args: JsonArgs = Field(default_factory=list)
    kwargs: JsonKwargs = Field(default_factory=dict)
    cron: str | None = Field(default=None, max_length=200)
    timezone: str = Field(default="UTC", max_length=100)
    interval: float | None = Field(default=None, ge=1, le=366 * 86_400)
    at: AwareDatetime | None = None
    start_at: AwareDatetime | None = None
    queue: str | None = Field(default=None, pattern=QUEUE_PATTERN)
    timeout: int | None = Field(default=None, ge=1, le=7 * 86_400)
    retry: Annotated[int, Field(ge=0, le=100)] | RetrySpec | None = None
    result_ttl: int | None = Field(
        default=None,
        ge=-1,
        le=366 * 86_400,
        description="seconds each run's result is kept (default RESULT_TTL; -1: for ever); short for frequent runs",
    )
    misfire_grace_time: float = Field(default=60, ge=0, le=366 * 86_400)
    overlap: Literal["allow", "skip"] = "allow"
    repeat: int | None = Field(default=None, ge=1)
    paused: bool = False


class ScheduleCreate(ScheduleIn):
    """The body of POST /schedules, where the name is not in the path and so is required."""

    name: ScheduleName


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
