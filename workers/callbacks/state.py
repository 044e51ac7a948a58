"""What a job shows of its callback (`callback` in GET /jobs/{id}): the outbox record, or that none is due yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from workers.callbacks import outbox

CALLBACK_URL = "callback_url"  # the job's meta field holding its callback URL


@dataclass
class JobCallback:
    url: str
    status: str  # pending (not delivered yet: the job has not ended, or an attempt is due), delivered, failed
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_response_status: int | None


def callback_url(meta: dict[str, Any]) -> str | None:
    """The job's callback URL, or None (also for anything but a string written there by hand)."""
    value = meta.get(CALLBACK_URL)
    return value if isinstance(value, str) and value else None


def callback_of(connection: Redis, job_id: str, meta: dict[str, Any]) -> JobCallback | None:
    """None for a job without a callback; one read of its outbox record otherwise."""
    url = callback_url(meta)
    if url is None:
        return None
    state = outbox.read(connection, job_id)
    if state is None:
        return JobCallback(url, outbox.PENDING, 0, None, None, None, None)
    return JobCallback(
        url=url,
        status=state.status,
        attempts=state.attempts,
        last_error=state.last_error,
        next_attempt_at=_time(state.next_attempt_at) if state.status == outbox.PENDING else None,
        delivered_at=_time(state.delivered_at),
        last_response_status=state.last_response_status,
    )


def _time(stamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None
