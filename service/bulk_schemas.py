"""Bodies of the bulk actions, `POST /jobs/cancel` and `POST /jobs/requeue`: `GET /jobs`'s filters, as JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workers.core.input_fields import QUEUE_PATTERN
from workers.jobs.bulk import MAX_LIMIT
from workers.schedules.spec import NAME_PATTERN as SCHEDULE_NAME

TIME = {"min_length": 1, "max_length": 64, "json_schema_extra": {"format": "date-time"}}
FILTERS = ("queue", "status", "task", "schedule", "submitted_by", "since", "until")


def at_least_one_filter() -> list[dict[str, Any]]:
    """JSON Schema for "one filter set, not null": what the route checks, so /docs and fuzzers know it."""
    return [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in FILTERS]


class BulkFilter(BaseModel):
    """Which jobs: at least one filter (an empty body would mean every job, and is refused)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": at_least_one_filter(),
            "examples": [
                {"task": "reports.build", "status": "failed"},
                {"queue": "low", "since": "2026-12-01T00:00:00Z"},
            ],
        },
    )

    queue: str | None = Field(default=None, pattern=QUEUE_PATTERN)
    status: str | None = Field(default=None, description="one status; default: every status the action applies to")
    task: str | None = Field(default=None, min_length=1, max_length=200, description="the task's name")
    schedule: str | None = Field(default=None, pattern=SCHEDULE_NAME, description="jobs a schedule fired")
    submitted_by: str | None = Field(default=None, min_length=1, max_length=200, description="an API key's name")
    since: str | None = Field(default=None, description="enqueued at or after, ISO 8601 with a timezone", **TIME)
    until: str | None = Field(default=None, description="enqueued at or before, ISO 8601 with a timezone", **TIME)
    limit: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT, description="act on at most this many jobs")

    def given(self) -> dict[str, Any]:
        """The filters set, in a fixed order (for the audit entry)."""
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name) is not None}


class CancelFilter(BulkFilter):
    status: str | None = Field(
        default=None,
        pattern="^(queued|scheduled|deferred|started)$",
        description="one of queued, scheduled, deferred, started (default: all four; started jobs are stopped)",
    )


class RequeueFilter(BulkFilter):
    status: str | None = Field(
        default=None,
        pattern="^(failed|stopped|canceled)$",
        description="one of failed, stopped, canceled (default: all three)",
    )


class BulkResultOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 42, "more": False}]})

    count: int = Field(description="jobs canceled (or asked to stop) or requeued")
    more: bool = Field(description="more jobs matched than `limit`: call again for the rest")
