"""Read what our scheduler recorded (run ledgers, job timestamps) and turn it into lateness figures.

"fired" is the fired job's `enqueued_at`, stamped by RQ for each job as the
scheduler builds it; the ledger's own `fired_at` is the `now` the scheduler
took once before its whole batch (see `firing.fire_due`), so it is reported
too but understates lateness for every schedule but the first of a batch.
"start" is the job's `started_at`, stamped by the worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis

from bench.harness.report import summary_ms
from workers.core import keys
from workers.rq_seam.job import TaskJob
from workers.schedules.spec import ScheduleSpec
from workers.schedules.store import decode_entry

CHUNK = 2_000


@dataclass
class Run:
    """One ledger entry, with its job's timestamps when it fired."""

    name: str
    due: float
    status: str  # fired, missed, skipped
    fired_at: float | None
    job_id: str | None
    enqueued_at: float | None = None
    started_at: float | None = None


def rq_time(raw: bytes | None) -> float | None:
    """An RQ timestamp ('2026-01-01T00:00:00.123456Z', UTC) as epoch seconds."""
    if not raw:
        return None
    return datetime.fromisoformat(raw.decode().replace("Z", "+00:00")).timestamp()


def read_runs(connection: Redis, names: list[str]) -> list[Run]:
    """Every ledger entry of `names`, and for fired ones the job's enqueued_at and started_at."""
    runs: list[Run] = []
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        with connection.pipeline(transaction=False) as pipe:
            for name in chunk:
                pipe.lrange(keys.schedule_runs_key(name), 0, -1)
            ledgers = pipe.execute()
        for name, ledger in zip(chunk, ledgers, strict=True):
            for raw in reversed(ledger):  # the ledger is newest first
                entry = decode_entry(name, raw)
                runs.append(Run(name, entry["due_at"], entry["status"], entry["fired_at"], entry["job_id"]))
    _add_job_times(connection, [r for r in runs if r.job_id])
    return runs


def _add_job_times(connection: Redis, fired: list[Run]) -> None:
    for start in range(0, len(fired), CHUNK):
        chunk = fired[start : start + CHUNK]
        with connection.pipeline(transaction=False) as pipe:
            for run in chunk:
                pipe.hmget(TaskJob.key_for(str(run.job_id)), "enqueued_at", "started_at")
            replies = pipe.execute()
        for run, (enqueued, started) in zip(chunk, replies, strict=True):
            run.enqueued_at, run.started_at = rq_time(enqueued), rq_time(started)


def expected_dues(specs: list[ScheduleSpec], since: float, until: float) -> set[tuple[str, int]]:
    """(name, due in ms) of every interval due time in [since, until)."""
    wanted = set()
    for spec in specs:
        if spec.interval is None or spec.start_at is None:
            continue
        n = max(0, math.ceil((since - spec.start_at) / spec.interval))
        while (due := spec.start_at + n * spec.interval) < until:
            if due >= since:
                wanted.add((spec.name, _ms(due)))
            n += 1
    return wanted


def _ms(due: float) -> int:
    return int(round(due * 1000))


def window_figures(runs: list[Run], expected: set[tuple[str, int]], since: float, until: float) -> dict[str, Any]:
    """Lateness and accounting of the runs due in [since, until)."""
    inside = [r for r in runs if since <= r.due < until]
    fired = [r for r in inside if r.status == "fired"]
    seen: dict[tuple[str, int], int] = {}
    for run in fired:
        seen[(run.name, _ms(run.due))] = seen.get((run.name, _ms(run.due)), 0) + 1
    recorded = {(r.name, _ms(r.due)) for r in inside}
    return {
        "due": len(expected),
        "fired": len(fired),
        "missed": sum(r.status == "missed" for r in inside),
        "skipped": sum(r.status == "skipped" for r in inside),
        "unfired": len(expected - set(seen)),
        "never_recorded": len(expected - recorded),
        "never_recorded_sample": [[name, ms / 1000] for name, ms in sorted(expected - recorded)[:10]],
        "duplicates": sum(count - 1 for count in seen.values()),
        "fired_lateness": summary_ms([r.enqueued_at - r.due for r in fired if r.enqueued_at is not None]),
        "ledger_fired_lateness": summary_ms([r.fired_at - r.due for r in fired if r.fired_at is not None]),
        "start_lateness": summary_ms([r.started_at - r.due for r in fired if r.started_at is not None]),
        "not_started": sum(r.started_at is None for r in fired),
    }


def drift_figures(runs: list[Run], start_at: float, interval: float, first_index: int = 0) -> dict[str, Any]:
    """due(n) - (start_at + n * interval) over every recorded run, and the spacing of fired runs."""
    ordered = sorted(runs, key=lambda r: r.due)
    drifts = [r.due - (start_at + (first_index + n) * interval) for n, r in enumerate(ordered)]
    fired = [r.enqueued_at for r in ordered if r.status == "fired" and r.enqueued_at is not None]
    spacing = [b - a for a, b in zip(fired, fired[1:], strict=False)]
    return {
        "runs": len(ordered),
        "fired": len(fired),
        "drift_last_s": round(drifts[-1], 6) if drifts else None,
        "drift_max_abs_s": round(max((abs(d) for d in drifts), default=0.0), 6),
        "spacing": summary_ms(spacing),
    }
