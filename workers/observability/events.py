"""Job ends as they happen, for `GET /jobs/events` and `rqs tail`: one capped Redis stream.

Each end is one stream entry, added on the pipeline that already commits the end (the
worker's, a cancel's), so following jobs costs no extra round trip per job. The stream
keeps about the newest `KEPT` entries (`XADD MAXLEN ~`); a reader that falls further
behind than that misses the oldest, which `GET /jobs/{id}` and `GET /jobs` still show.

`status` is how the run ended: `finished`, `failed` (no retries left), `retried`
(failed, will run again), `stopped`, `canceled`, `interrupted` (put back at shutdown),
`abandoned` (its worker died).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline

from workers.core import keys

STREAM = f"{keys.PREFIX}events:job-ends"
KEPT = 100_000  # about this many newest ends; a few MB


@dataclass(frozen=True)
class JobEnd:
    """One entry: its stream id is the cursor a reader resumes after."""

    cursor: str
    id: str
    task: str
    queue: str
    status: str
    at: str
    duration: float | None


def add_job_end(
    pipeline: Pipeline, job_id: str, task: str, queue: str, status: str, duration: float | None = None
) -> None:
    """Queue one end on `pipeline`, which the caller executes with the end itself."""
    at = datetime.now(UTC).isoformat()
    fields = ["id", job_id, "task", task, "queue", queue, "status", status, "at", at]
    if duration is not None:
        fields += ["duration", f"{max(0.0, duration):.6f}"]
    # What `pipeline.xadd(STREAM, fields, maxlen=KEPT, approximate=True)` sends, without its per-call checks
    pipeline.execute_command("XADD", STREAM, "MAXLEN", "~", KEPT, "*", *fields)


def parse(entry_id: bytes | str, fields: dict[bytes, bytes] | dict[str, str]) -> JobEnd:
    """A stream entry as read back (bytes or text, as the client decodes)."""
    text = {_text(name): _text(value) for name, value in fields.items()}
    duration = text.get("duration")
    return JobEnd(
        cursor=_text(entry_id),
        id=text.get("id", ""),
        task=text.get("task", ""),
        queue=text.get("queue", ""),
        status=text.get("status", ""),
        at=text.get("at", ""),
        duration=float(duration) if duration else None,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


CURSOR_PATTERN = r"^(0|[0-9]{1,20}-[0-9]{1,20})$"
POLL_STEP = 0.2  # seconds between reads while a long-poll waits: a short command, no connection held


@dataclass(frozen=True)
class EventFilter:
    """Fields left None match any end."""

    task: str | None = None
    queue: str | None = None
    status: str | None = None

    def matches(self, end: JobEnd) -> bool:
        wanted = (self.task, self.queue, self.status)
        found = (end.task, end.queue, end.status)
        return all(want is None or want == have for want, have in zip(wanted, found, strict=True))


@dataclass(frozen=True)
class EventPage:
    ends: list[JobEnd]
    cursor: str  # pass it as `after` next time: the last entry read, matching or not


async def newest_cursor(connection: AsyncRedis) -> str:
    """The id of the newest end kept (`0` when none): "from now on"."""
    newest = await connection.xrevrange(STREAM, "+", "-", count=1)
    return _text(newest[0][0]) if newest else "0"


async def read_ends(connection: AsyncRedis, after: str, narrowed: EventFilter, limit: int, wait: float) -> EventPage:
    """Ends after `after` that match, up to `limit`; waits up to `wait` seconds for the first one.

    The wait is a loop of short reads with sleeps between them on the event loop, so a
    waiting reader holds neither a thread nor a Redis connection.
    """
    deadline = asyncio.get_running_loop().time() + wait
    cursor = after
    while True:
        entries = await connection.xrange(STREAM, min=f"({cursor}" if cursor != "0" else "-", count=limit)
        ends = [parse(entry_id, fields) for entry_id, fields in entries]
        if ends:
            cursor = ends[-1].cursor
        matching = [end for end in ends if narrowed.matches(end)]
        if matching or len(ends) == limit or asyncio.get_running_loop().time() >= deadline:
            return EventPage(matching, cursor)
        await asyncio.sleep(min(POLL_STEP, max(0.0, deadline - asyncio.get_running_loop().time())))
