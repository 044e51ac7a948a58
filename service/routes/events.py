"""GET /jobs/events: job ends as they happen, a long-poll over the capped stream workers write (`rqs tail`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from service.deps import AsyncRedisDep, ReadKey
from service.guarded_route import GuardedRoute
from workers.core.input_fields import QUEUE_PATTERN
from workers.observability.events import CURSOR_PATTERN, EventFilter, newest_cursor, read_ends

router = APIRouter(tags=["jobs"], route_class=GuardedRoute)
END_STATUSES = "^(finished|failed|retried|stopped|canceled|interrupted|abandoned)$"


class JobEndOut(BaseModel):
    cursor: str = Field(description="this end's place in the stream")
    id: str = Field(description="the job's id")
    task: str
    queue: str
    status: str = Field(description="finished, failed, retried, stopped, canceled, interrupted or abandoned")
    at: str = Field(description="when the end was recorded, ISO 8601 in UTC")
    duration: float | None = Field(description="seconds the run took (null for a cancel)")


class JobEvents(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "cursor": "1765080000000-0",
                            "id": "2f6c1d0e9b7a4c1e8d3f5a6b7c8d9e0f",
                            "task": "reports.build",
                            "queue": "default",
                            "status": "finished",
                            "at": "2026-12-07T04:00:00.000000+00:00",
                            "duration": 1.25,
                        }
                    ],
                    "cursor": "1765080000000-0",
                }
            ]
        }
    )

    events: list[JobEndOut]
    cursor: str = Field(description="pass as `after` on the next call")


@router.get("/jobs/events")
async def job_events(
    async_redis: AsyncRedisDep,
    key: ReadKey,
    after: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="a cursor from an earlier answer; `0`: the oldest kept")
    ] = None,
    wait: Annotated[float, Query(ge=0, le=60, description="seconds to wait for a first matching end")] = 0,
    task: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    queue: Annotated[str | None, Query(pattern=QUEUE_PATTERN)] = None,
    status: Annotated[str | None, Query(pattern=END_STATUSES)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JobEvents:
    """Job ends (finished, failed, stopped, canceled...) after `after`, oldest first, waiting up to `wait` seconds.

    Without `after`, only ends from now on. Workers keep the newest ~100,000 ends. The wait
    holds no thread and no Redis connection (short reads with sleeps on the event loop).
    """
    start = after if after is not None else await newest_cursor(async_redis)
    page = await read_ends(async_redis, start, EventFilter(task, queue, status), limit, wait)
    return JobEvents(events=[JobEndOut(**vars(end)) for end in page.ends], cursor=page.cursor)
