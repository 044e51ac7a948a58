"""Create many schedules fast, writing exactly what `schedule_store.upsert` writes.

`upsert` costs several round trips per schedule (WATCH, HMGET, MULTI/EXEC, a
read-back) and publishes a wake-up each time: 100,000 of them take minutes and
wake the scheduler 100,000 times. Here the first schedule goes through `upsert`
itself; the rest get the same keys in pipelines, one HSET per schedule plus one
SADD and one ZADD per chunk, and one wake-up at the end. The due time is the
spec's own public `next_due`, which is what `upsert` gives a new schedule that
is neither paused nor pinned to one `at` time (the only kind written here; any
other is refused). `check_same_as_upsert` then compares a bulk-written schedule
with the upserted one (and `bulk_upsert` the upserted one's due time with
`next_due`), so a change to `upsert` that this copy misses is reported instead
of silently measured.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis import Redis

from workers.core import keys
from workers.schedules import store as schedule_store
from workers.schedules.spec import ScheduleSpec

CHUNK = 5_000
TASK = "examples.noop"
SAMPLE = 100  # specs whose fast JSON is checked against ScheduleSpec.to_json


def make_specs(
    prefix: str, count: int, interval: float, first_start: float, spread: float, queue: str
) -> list[ScheduleSpec]:
    """`count` interval schedules whose start times are spread uniformly over `spread` seconds."""
    step = spread / count
    return [
        ScheduleSpec(
            name=f"{prefix}-{i:06d}", task=TASK, interval=interval, start_at=first_start + i * step, queue=queue
        )
        for i in range(count)
    ]


def bulk_upsert(connection: Redis, specs: list[ScheduleSpec], now: float, due_delay: float | None = None) -> float:
    """The first spec through `upsert`, the rest with upsert's writes in pipelines of CHUNK.

    The due times are written last, computed by `first_due` as of `now`, or with
    `due_delay` as of that many seconds after the hashes are written: a
    benchmark passes the time its scheduler needs to start, so no due time
    passes while 100,000 hashes are still being written. Returns that moment.
    """
    if not specs:
        return now
    refused = [spec.name for spec in specs if spec.at is not None or spec.paused]
    if refused:
        raise ValueError(f"bulk_upsert writes only unpaused schedules without `at`, not {refused[:3]}")
    _upsert_one(connection, specs[0], now)
    _write_hashes(connection, [spec.validate() for spec in specs[1:]], now)
    when = now if due_delay is None else time.time() + due_delay
    for start in range(0, len(specs), CHUNK):
        due = {spec.name: first_due(spec, when) for spec in specs[start : start + CHUNK]}
        mapping = {name: at for name, at in due.items() if at is not None}
        if mapping:
            connection.zadd(keys.SCHEDULES_DUE, mapping)
    connection.publish(keys.SCHEDULER_WAKE, specs[-1].name)
    return when


def _upsert_one(connection: Redis, spec: ScheduleSpec, now: float) -> None:
    """`upsert` itself, and a check that it chose the due time `first_due` chooses."""
    schedule_store.upsert(connection, spec, now)
    upserted = connection.zscore(keys.SCHEDULES_DUE, spec.name)
    if upserted != first_due(spec, now):
        raise RuntimeError(f"upsert gave {spec.name} due time {upserted}, not first_due's: bench.sched.fill is stale")


def _write_hashes(connection: Redis, specs: list[ScheduleSpec], now: float) -> None:
    """What `upsert` writes for a new schedule, but its due time: one HSET each, one SADD per chunk."""
    for start in range(0, len(specs), CHUNK):
        chunk = specs[start : start + CHUNK]
        with connection.pipeline(transaction=False) as pipe:
            for spec in chunk:
                fields = {"spec": _spec_json(spec), "updated_at": now, "created_at": now}
                pipe.hset(keys.schedule_key(spec.name), mapping=fields)
            pipe.sadd(keys.SCHEDULE_NAMES, *(spec.name for spec in chunk))
            pipe.execute()


def first_due(spec: ScheduleSpec, now: float) -> float | None:
    """The due time `upsert` gives a new, unpaused schedule without `at`: its first due time after `now`."""
    return spec.next_due(now)


def _spec_json(spec: ScheduleSpec) -> str:
    """`ScheduleSpec.to_json` without `asdict`'s deep copy (90 us a spec); equal for flat specs, see below."""
    return json.dumps(vars(spec), sort_keys=True)


def check_same_as_upsert(connection: Redis, specs: list[ScheduleSpec]) -> list[str]:
    """Differences between what `upsert` stored and what `bulk_upsert` stored (empty: none)."""
    problems = [f"fast JSON differs from to_json for {s.name}" for s in specs[:SAMPLE] if _spec_json(s) != s.to_json()]
    if len(specs) < 2:
        return problems
    names = (specs[0].name, specs[1].name)
    first, second = (connection.hgetall(keys.schedule_key(n)) for n in names)
    if set(first) != set(second):
        problems.append(f"hash fields differ: upsert {sorted(first)} vs bulk {sorted(second)}")
    stored: list[dict[str, Any]] = [json.loads(h[b"spec"]) for h in (first, second)]
    for entry in stored:
        entry.pop("name"), entry.pop("start_at")
    if stored[0] != stored[1]:
        problems.append("stored specs differ beyond name and start_at")
    for name in names:
        if connection.zscore(keys.SCHEDULES_DUE, name) is None:
            problems.append(f"{name} has no due time")
        if not connection.sismember(keys.SCHEDULE_NAMES, name):
            problems.append(f"{name} is not in {keys.SCHEDULE_NAMES}")
    return problems
