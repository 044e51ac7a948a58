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

from dataclasses import dataclass
from datetime import UTC, datetime

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
    fields = {"id": job_id, "task": task, "queue": queue, "status": status, "at": datetime.now(UTC).isoformat()}
    if duration is not None:
        fields["duration"] = f"{max(0.0, duration):.6f}"
    pipeline.xadd(STREAM, fields, maxlen=KEPT, approximate=True)  # type: ignore[arg-type]


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
