"""The callback outbox in Redis: one hash per job's delivery, one sorted set of when each is due.

A delivery is queued on the very transaction that records the job's end (the worker's
end pipeline, the cancel transaction), so a job never ends without its delivery being
recorded. Deliverers claim due entries atomically: the claim pushes the entry's due time
a lease ahead and stamps a token on its hash, so a deliverer that dies mid-attempt leaves
an entry that falls due again when the lease runs out, and a late deliverer's result
(wrong token) is ignored. Each attempt is recorded with its outcome and the next due time.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline

from workers.core.keys import CALLBACKS_DUE, callback_key

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
KEEP_SECONDS = 7 * 86_400  # a settled delivery's record is kept this long, for GET /jobs/{id}

_CLAIM = """
local limit = tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit * 4)
local out = {}
for i, id in ipairs(ids) do
  local key = ARGV[5] .. id
  if #out >= limit then break end
  if redis.call('HGET', key, 'status') == 'pending' then
    local token = ARGV[4] .. ':' .. i
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', key, 'claim', token)
    local f = redis.call('HMGET', key, 'attempts', 'url', 'body', 'delivery_id', 'ended', 'created_at')
    table.insert(out, {id, token, f[1], f[2], f[3], f[4], f[5], f[6]})
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

_RECORD = """
if redis.call('HGET', KEYS[2], 'claim') ~= ARGV[1] then return 0 end
for i = 4, #ARGV - 1, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
if ARGV[3] == 'pending' then
  redis.call('HDEL', KEYS[2], 'claim')
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[#ARGV])
else
  redis.call('HDEL', KEYS[2], 'claim')
  redis.call('ZREM', KEYS[1], ARGV[#ARGV])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 1
"""

_KEEP_BODY = """
if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'body', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Claim:
    """A due delivery this deliverer holds until its lease runs out."""

    job_id: str
    token: str
    attempts: int  # attempts made before this one
    url: str
    body: bytes | None  # the body of the first attempt, sent again unchanged by every retry
    delivery_id: str
    ended: str  # the job's final status when its end was recorded
    created_at: float


@dataclass(frozen=True)
class Attempt:
    """The outcome of one attempt (or of a postponement, which is not counted)."""

    status: str  # PENDING (another attempt is due at next_attempt_at), DELIVERED or FAILED
    attempts: int
    last_error: str = ""
    next_attempt_at: float | None = None
    delivered_at: float | None = None
    response_status: int | None = None


@dataclass(frozen=True)
class CallbackState:
    """What GET /jobs/{id} shows of a job's callback."""

    url: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: float | None
    delivered_at: float | None
    last_response_status: int | None
    delivery_id: str | None


def queue_delivery(pipe: Pipeline, job_id: str, url: str, ended: str, now: float | None = None) -> None:
    """Queue on `pipe` (the transaction recording the job's end) a delivery due now.

    A job requeued and ended again gets a new delivery: the earlier one (and any claim
    on it) is replaced.
    """
    now = time.time() if now is None else now
    key = callback_key(job_id)
    pipe.delete(key)
    pipe.hset(
        key,
        mapping={
            "url": url,
            "status": PENDING,
            "attempts": 0,
            "ended": ended,
            "delivery_id": str(uuid.uuid4()),
            "created_at": now,
            "next_attempt_at": now,
        },
    )
    pipe.zadd(CALLBACKS_DUE, {job_id: now})


def claim(connection: Redis, now: float, lease: float, limit: int) -> list[Claim]:
    """Up to `limit` deliveries due by `now`, each held for `lease` seconds."""
    script = connection.register_script(_CLAIM)
    rows = script(keys=[CALLBACKS_DUE], args=[now, now + lease, limit, uuid.uuid4().hex, callback_key("")])
    return [_claim(row) for row in rows]


def _claim(row: list[bytes | None]) -> Claim:
    job_id, token, attempts, url, body, delivery_id, ended, created_at = row
    return Claim(
        job_id=_text(job_id),
        token=_text(token),
        attempts=int(attempts or 0),
        url=_text(url),
        body=body,
        delivery_id=_text(delivery_id),
        ended=_text(ended),
        created_at=float(created_at or 0),
    )


def keep_body(connection: Redis, held: Claim, body: bytes) -> bool:
    """Store the first attempt's body, so every retry sends the same bytes; False if the claim was lost."""
    script = connection.register_script(_KEEP_BODY)
    return bool(script(keys=[callback_key(held.job_id)], args=[held.token, body]))


def record(connection: Redis, held: Claim, attempt: Attempt, now: float | None = None) -> bool:
    """Record an attempt and reschedule or settle the delivery; False if the claim was lost meanwhile."""
    now = time.time() if now is None else now
    fields: dict[str, object] = {
        "status": attempt.status,
        "attempts": attempt.attempts,
        "last_error": attempt.last_error,
        "last_attempt_at": now,
        "next_attempt_at": attempt.next_attempt_at if attempt.next_attempt_at is not None else "",
        "delivered_at": attempt.delivered_at if attempt.delivered_at is not None else "",
        "last_response_status": attempt.response_status if attempt.response_status is not None else "",
    }
    due = attempt.next_attempt_at if attempt.status == PENDING else KEEP_SECONDS
    pairs = [item for pair in fields.items() for item in pair]
    script = connection.register_script(_RECORD)
    keys = [CALLBACKS_DUE, callback_key(held.job_id)]
    return bool(script(keys=keys, args=[held.token, due, attempt.status, *pairs, held.job_id]))


def read(connection: Redis, job_id: str) -> CallbackState | None:
    """The delivery state of a job's callback, or None when none was recorded (yet)."""
    fields = {_text(k): _text(v) for k, v in connection.hgetall(callback_key(job_id)).items()}
    return state_of(fields) if fields else None


def state_of(fields: dict[str, str]) -> CallbackState:
    return CallbackState(
        url=fields.get("url", ""),
        status=fields.get("status", PENDING),
        attempts=int(fields.get("attempts") or 0),
        last_error=fields.get("last_error") or None,
        next_attempt_at=_number(fields.get("next_attempt_at")),
        delivered_at=_number(fields.get("delivered_at")),
        last_response_status=int(fields["last_response_status"]) if fields.get("last_response_status") else None,
        delivery_id=fields.get("delivery_id"),
    )


def _number(value: str | None) -> float | None:
    return float(value) if value else None


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
