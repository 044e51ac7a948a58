"""The audit trail: who changed what, in Redis under our prefix, newest first.

Every entry is one JSON object `{"at", "key", "action", "target", "before", "after"}`:
`key` is the API key's *name* (never the key), `target` a job id (a batch: its ids
joined by commas), a schedule name or a dashboard path, and `before`/`after` the
schedule's definition around the change (null where that does not apply).

Entries go on one capped list (the newest `AUDIT_MAX_ENTRIES`, default 10,000). An
entry about a schedule also goes on that schedule's own list (its newest 1,000), so
`GET /audit?schedule=NAME` reads only that schedule's entries instead of scanning
the trail. A deleted schedule's list outlives it by `DELETED_SCHEDULE_KEPT_FOR`:
who deleted it is the question the trail must still answer; then it expires, so
names that come and go do not pile up.

Only changes are recorded: a request that changes nothing (a PUT of the same
definition, pausing a paused schedule, an idempotency-key replay) writes no entry.
The request log (service/mutation_log.py) still shows every request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from workers.core import keys
from workers.schedules.spec import ScheduleSpec, iso
from workers.schedules.store import Upsert, upsert

# Records one change: (action, target, before, after); the API's Auditor is one.
Recorder = Callable[[str, str, dict[str, Any] | None, dict[str, Any] | None], None]

log = logging.getLogger(__name__)

TRAIL = f"{keys.PREFIX}audit"  # list: every entry, newest first, capped
SCHEDULE_ENTRIES_KEPT = 1000  # the largest page GET /audit serves
DELETED_SCHEDULE_KEPT_FOR = 90 * 86_400  # seconds


def schedule_trail_key(name: str) -> str:
    """List: one schedule's entries, newest first, capped."""
    return f"{keys.PREFIX}audit:schedule:{name}"


@dataclass(frozen=True)
class AuditEntry:
    at: str
    key: str
    action: str
    target: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    @property
    def schedule(self) -> str | None:
        """The schedule this entry is about, for its own list."""
        return self.target if self.action.startswith("schedule.") else None


def new_entry(
    key_name: str,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry stamped now, in UTC."""
    return AuditEntry(datetime.now(UTC).isoformat(), key_name, action, target, before, after)


def record(connection: Redis, entry: AuditEntry, max_entries: int) -> bool:
    """Store `entry` in one round trip; False (and the entry logged at ERROR) when Redis refused.

    This never raises, on purpose: it runs after the change was made, and an error
    answer would report a change that did happen as failed (and invite a retry that
    makes it twice). The price: when Redis fails between the change and this write,
    the change has no entry in Redis, only the ERROR line in this process's log.
    """
    raw = json.dumps(asdict(entry), separators=(",", ":"), default=str)
    try:
        with connection.pipeline() as pipe:  # MULTI/EXEC: the trail and the schedule's list agree
            pipe.lpush(TRAIL, raw)
            pipe.ltrim(TRAIL, 0, max_entries - 1)
            if entry.schedule is not None:
                own = schedule_trail_key(entry.schedule)
                pipe.lpush(own, raw)
                pipe.ltrim(own, 0, SCHEDULE_ENTRIES_KEPT - 1)
                if entry.action == "schedule.delete":
                    pipe.expire(own, DELETED_SCHEDULE_KEPT_FOR)
                else:
                    pipe.persist(own)  # created again under the same name
            pipe.execute()
    except RedisError as error:
        log.error("audit entry not stored (%s): %s", error, raw, extra={"audit": asdict(entry)})
        return False
    return True


def read(connection: Redis, limit: int, schedule: str | None = None) -> list[AuditEntry]:
    """The newest `limit` entries, newest first; with `schedule`, only that schedule's."""
    key = TRAIL if schedule is None else schedule_trail_key(schedule)
    entries = (_parse(raw) for raw in connection.lrange(key, 0, limit - 1))
    return [entry for entry in entries if entry is not None]


def _parse(raw: bytes) -> AuditEntry | None:
    try:
        data = json.loads(raw)
        return AuditEntry(**{name: data.get(name) for name in AuditEntry.__dataclass_fields__})
    except (ValueError, TypeError, AttributeError):
        log.warning("unreadable audit entry skipped: %r", raw[:200])
        return None


def schedule_state(spec: ScheduleSpec | dict[str, Any] | None) -> dict[str, Any] | None:
    """A schedule's definition as the API shows it: times as ISO strings in UTC."""
    if spec is None:
        return None
    data = asdict(spec) if isinstance(spec, ScheduleSpec) else dict(spec)
    for name in ("at", "start_at"):
        if isinstance(data.get(name), int | float):
            data[name] = iso(data[name])
    return data


def stored_schedule(connection: Redis, name: str) -> dict[str, Any] | None:
    """The definition stored for `name` right now (the `before` of a change), or None.

    Never raises: a failure here must not stop the change itself, which then answers
    for Redis on its own; the entry just has no `before`.
    """
    try:
        raw = connection.hget(keys.schedule_key(name), "spec")
        return schedule_state(json.loads(raw)) if raw is not None else None
    except (RedisError, ValueError, TypeError) as error:
        log.warning("could not read schedule %r before changing it: %s", name, error)
        return None


def audited_upsert(connection: Redis, spec: ScheduleSpec, now: float, record: Recorder) -> Upsert:
    """`upsert`, and `record` the create or replace it made; the same spec twice records nothing."""
    before = stored_schedule(connection, spec.name)
    result = upsert(connection, spec, now)
    if result.changed:
        action = "schedule.create" if result.created else "schedule.replace"
        record(action, spec.name, before, schedule_state(result.info.spec))
    return result
