"""Schedules in Redis: create, replace, pause, resume, delete, and the run ledger."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from redis import Redis, WatchError
from redis.client import Pipeline

from workers.core import datetimes, keys
from workers.core.errors import ScheduleExistsError, ScheduleNotFoundError, ScheduleUnreadableError
from workers.rq_seam.job import TaskJob, run_keys
from workers.schedules.spec import ScheduleSpec

log = logging.getLogger(__name__)
RUNS_KEPT = 200  # runs each schedule keeps in its ledger: memory grows with schedules x this
KEPT_FIELD = "kept"  # the schedule hash's field listing its run jobs kept by count, newest first
CODES = {"fired": "f", "missed": "m", "skipped": "s", "error": "e"}
STATUSES = {code: status for status, code in CODES.items()}


@dataclass
class ScheduleInfo:
    """A stored schedule: its spec and what has happened to it."""

    spec: ScheduleSpec
    created_at: float
    updated_at: float
    next_run_at: float | None
    runs_total: int = 0
    missed_total: int = 0
    skipped_total: int = 0
    last_run_at: float | None = None
    last_due_at: float | None = None
    last_job_id: str | None = None
    last_status: str | None = None


@dataclass
class Upsert:
    info: ScheduleInfo
    created: bool
    changed: bool


def upsert(connection: Redis, spec: ScheduleSpec, now: float, create_only: bool = False) -> Upsert:
    """Create or replace by name; the same spec twice changes nothing (not even timing)."""
    spec.validate()
    key = keys.schedule_key(spec.name)
    with connection.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                stored, runs_raw = pipe.hmget(key, "spec", "runs_total")
                if stored is not None and create_only:
                    raise ScheduleExistsError(f"schedule {spec.name!r} already exists")
                old = _readable(stored)
                new = replace(spec, start_at=spec.start_at if spec.start_at is not None else _start(old, now))
                new.check_due_times(now)  # before any write: a read of it must never fail
                if old == new:
                    pipe.unwatch()
                    return Upsert(get(connection, spec.name), created=False, changed=False)
                pipe.multi()
                pipe.hset(key, mapping={"spec": new.to_json(), "updated_at": now})
                if old is None:
                    pipe.hsetnx(key, "created_at", now)
                    pipe.sadd(keys.SCHEDULE_NAMES, new.name)
                _set_due(pipe, new, now, int(runs_raw or 0), first=True)
                pipe.publish(keys.SCHEDULER_WAKE, new.name)
                pipe.execute()
                return Upsert(get(connection, spec.name), created=old is None, changed=True)
            except WatchError:
                continue


def _readable(stored: bytes | None) -> ScheduleSpec | None:
    """The stored definition, or None when there is none or this version cannot read it (then replaced)."""
    try:
        return ScheduleSpec.from_json(stored) if stored is not None else None
    except (ValueError, TypeError):
        return None


def _start(old: ScheduleSpec | None, now: float) -> float:
    """Keep the first start when a schedule is replaced, so its interval grid does not move
    (unless an older version stored one no datetime can show: then the grid starts afresh)."""
    kept = old.start_at if old is not None else None
    return kept if kept is not None and datetimes.as_datetime(kept) is not None else now


def _first_due(spec: ScheduleSpec, now: float, runs_total: int, first: bool) -> float | None:
    """When the schedule fires next; None while paused or once it has run `repeat` times."""
    if spec.paused or (spec.repeat is not None and runs_total >= spec.repeat):
        return None
    if first and spec.at is not None:
        return spec.at
    return spec.next_due(now)


def _set_due(pipe: Pipeline, spec: ScheduleSpec, now: float, runs_total: int, first: bool = False) -> None:
    """Put the schedule's next due time in the due set, or take it out (paused, ended)."""
    due = _first_due(spec, now, runs_total, first)
    if due is None:
        pipe.zrem(keys.SCHEDULES_DUE, spec.name)
    else:
        pipe.zadd(keys.SCHEDULES_DUE, {spec.name: due})


@dataclass
class PauseChange:
    info: ScheduleInfo
    changed: bool  # False: it was paused (or running) already


def set_paused(connection: Redis, name: str, paused: bool, now: float) -> PauseChange:
    """Pause (nothing fires) or resume (from the next due time after now; none missed while paused)."""
    info = get(connection, name)
    changed = info.spec.paused != paused
    if changed:
        spec = replace(info.spec, paused=paused)
        if not paused:
            spec.check_due_times(now)  # one stored by an older version may have none: 422, replace it
        with connection.pipeline() as pipe:
            pipe.hset(keys.schedule_key(name), mapping={"spec": spec.to_json(), "updated_at": now})
            _set_due(pipe, spec, now, info.runs_total)
            pipe.publish(keys.SCHEDULER_WAKE, name)
            pipe.execute()
    return PauseChange(get(connection, name), changed)


def delete(connection: Redis, name: str, result_ttl: int = 86_400) -> None:
    """Remove a schedule; the scheduler's guarded fire step then finds nothing to fire.

    Its run jobs kept by count (which do not expire by time) are handed to `result_ttl`.
    """
    kept = kept_ids(name, connection.hget(keys.schedule_key(name), KEPT_FIELD))
    with connection.pipeline(transaction=False) as reads:
        for job_id in kept:
            reads.hget(TaskJob.key_for(job_id), "origin")
        origins = reads.execute() if kept else []
    with connection.pipeline() as pipe:
        for job_id, origin in zip(kept, origins, strict=True):
            if origin is not None:
                _expire_run(pipe, job_id, origin.decode(), result_ttl)
        pipe.delete(keys.schedule_key(name), keys.schedule_runs_key(name))
        pipe.srem(keys.SCHEDULE_NAMES, name)
        pipe.zrem(keys.SCHEDULES_DUE, name)
        pipe.publish(keys.SCHEDULER_WAKE, name)
        removed = pipe.execute()[-4]
    if not removed:
        raise ScheduleNotFoundError(f"no schedule {name!r}")


def get(connection: Redis, name: str) -> ScheduleInfo:
    found = _fetch(connection, [name])
    if not found:
        raise ScheduleNotFoundError(f"no schedule {name!r}")
    if isinstance(found[0], ScheduleUnreadableError):
        raise found[0]
    return found[0]


def list_all(connection: Redis) -> list[ScheduleInfo]:
    names = sorted(n.decode() for n in connection.smembers(keys.SCHEDULE_NAMES))
    return get_many(connection, names)


def get_many(connection: Redis, names: list[str]) -> list[ScheduleInfo]:
    """The schedules this version can read; one it cannot is left out (and logged), never fails the rest."""
    infos = []
    for found in _fetch(connection, names):
        if isinstance(found, ScheduleUnreadableError):
            log.warning("%s", found)
        else:
            infos.append(found)
    return infos


def _fetch(connection: Redis, names: list[str]) -> list[ScheduleInfo | ScheduleUnreadableError]:
    """Read schedules in two round trips: their hashes and due times, then their last jobs' status."""
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.schedule_key(name))
            pipe.zscore(keys.SCHEDULES_DUE, name)
        replies = pipe.execute()
    found = [_info(n, h, due) for n, h, due in zip(names, replies[::2], replies[1::2], strict=True) if h.get(b"spec")]
    infos = [info for info in found if isinstance(info, ScheduleInfo)]
    statuses = _job_statuses(connection, [i.last_job_id for i in infos])
    for info in infos:
        info.last_status = statuses.get(info.last_job_id or "")
    return found


def _info(name: str, fields: dict[bytes, bytes], due: float | None) -> ScheduleInfo | ScheduleUnreadableError:
    try:
        return _parse_info(fields, due)
    except (ValueError, TypeError, KeyError) as error:
        return unreadable(name, error)


def unreadable(name: str, error: Exception) -> ScheduleUnreadableError:
    return ScheduleUnreadableError(
        f"schedule {name!r}: its stored definition cannot be read by this version ({type(error).__name__}: "
        f"{str(error)[:200]}); replace it with PUT or delete it"
    )


def _parse_info(fields: dict[bytes, bytes], due: float | None) -> ScheduleInfo:
    value = {k.decode(): v.decode() for k, v in fields.items()}
    return ScheduleInfo(
        spec=ScheduleSpec.from_json(value["spec"]),
        created_at=float(value.get("created_at", 0)),
        updated_at=float(value.get("updated_at", 0)),
        next_run_at=due,
        runs_total=int(value.get("runs_total", 0)),
        missed_total=int(value.get("missed_total", 0)),
        skipped_total=int(value.get("skipped_total", 0)),
        last_run_at=float(value["last_run_at"]) if "last_run_at" in value else None,
        last_due_at=float(value["last_due_at"]) if "last_due_at" in value else None,
        last_job_id=value.get("last_job_id"),
    )


def _job_statuses(connection: Redis, job_ids: list[str | None]) -> dict[str, str]:
    wanted = [job_id for job_id in job_ids if job_id]
    with connection.pipeline(transaction=False) as pipe:
        for job_id in wanted:
            pipe.hget(TaskJob.key_for(job_id), "status")
        replies = pipe.execute()
    return {job_id: (status.decode() if status else "expired") for job_id, status in zip(wanted, replies, strict=True)}


def kept_ids(name: str, raw: bytes | None) -> list[str]:
    """The run job ids in a schedule's KEPT_FIELD, which holds a derived id's due-time part only."""
    return [kept_id(name, part) for part in kept_parts(raw)]


def kept_parts(raw: bytes | None) -> list[str]:
    """KEPT_FIELD's entries as stored (the fire step works on these: a run's id is built only when needed)."""
    return (raw or b"").decode().split()


def kept_id(name: str, part: str) -> str:
    return part if not part.isdigit() else f"{name}-{part}"


def kept_part(name: str, job_id: str) -> str:
    prefix = f"{name}-"
    return job_id.removeprefix(prefix) if job_id.startswith(prefix) else job_id


def kept_field(name: str, job_ids: list[str]) -> str:
    return " ".join(kept_part(name, job_id) for job_id in job_ids)


def _expire_run(pipe: Pipeline, job_id: str, queue: str, ttl: int) -> None:
    """A kept run's job, result and registry entries expire in `ttl` like any other job's."""
    job_key, results_key, registries = run_keys(job_id, queue)
    if ttl < 0:
        return
    pipe.expire(job_key, ttl)
    pipe.expire(results_key, ttl)
    for registry in registries:
        pipe.zadd(registry, {job_id: time.time() + ttl}, xx=True)


def record_runs(pipe: Pipeline, name: str, entries: list[dict[str, Any]]) -> None:
    """Add ledger entries (oldest first in `entries`), compactly, and keep the newest RUNS_KEPT."""
    if entries:
        pipe.lpush(keys.schedule_runs_key(name), *(encode_entry(name, e) for e in entries))
        pipe.ltrim(keys.schedule_runs_key(name), 0, RUNS_KEPT - 1)


def encode_entry(name: str, entry: dict[str, Any]) -> str:
    """`code|due|fired-due|job|reason`, trailing empties left out: about 25 bytes instead of JSON's 110.

    A fired run's job id is left out when it is the one derived from name and due time.
    """
    due, fired, job_id = entry["due_at"], entry["fired_at"], entry["job_id"]
    parts = [CODES[entry["status"]], repr(due), "" if fired is None else repr(round(fired - due, 6))]
    parts.append("" if job_id is None or job_id == derived_job_id(name, due) else job_id)
    parts.append(entry.get("reason") or "")
    return "|".join(parts).rstrip("|")


def decode_entry(name: str, raw: bytes | str) -> dict[str, Any]:
    """A ledger entry as a dict (`job_id`, `due_at`, `fired_at`, `status`, `reason` when set); JSON ones too."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith("{"):
        return json.loads(text)  # written by an earlier version
    code, due_raw, fired_raw, job_id, reason = (text.split("|", 4) + ["", "", "", ""])[:5]
    due, status = float(due_raw), STATUSES[code]
    entry: dict[str, Any] = {
        "job_id": job_id or (derived_job_id(name, due) if status == "fired" else None),
        "due_at": due,
        "fired_at": due + float(fired_raw) if fired_raw else None,
        "status": status,
    }
    return entry if not reason else {**entry, "reason": reason}


def derived_job_id(name: str, due: float) -> str:
    """A timed run's job id: from the schedule and due time, so no second scheduler can fire it again."""
    return f"{name}-{int(round(due * 1000))}"


def runs(connection: Redis, name: str, limit: int) -> list[dict[str, Any]]:
    """The run ledger, newest first; a fired run shows its job's current status.

    A run whose job is gone (released as older than the runs kept, or expired) says so
    with `job_expired` and status `expired`, so no one follows its id to a 404.
    """
    get(connection, name)
    entries = [decode_entry(name, raw) for raw in connection.lrange(keys.schedule_runs_key(name), 0, limit - 1)]
    statuses = _job_statuses(connection, [e["job_id"] for e in entries if e["status"] == "fired"])
    for entry in entries:
        if entry["status"] == "fired":
            entry["status"] = statuses.get(entry["job_id"], "expired")
            entry["job_expired"] = entry["status"] == "expired"
    return entries
