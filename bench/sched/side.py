"""One 1 s interval schedule on each contender at the same time: ours, rqscheduler -i 1, rq cron,
and (full plan only) rqscheduler at its default 60 s poll.

They run side by side, each on its own Redis db of one redis-server, so they
share the machine and the moment; each is light (one run a second), so they
hardly load each other. "fired" for every contender is the run's job
`enqueued_at` minus the due time that contender itself had for that run;
"drift" is how far that due time moved from the grid `first + n * interval`.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench.harness.proc_info import cpu_seconds, per_minute
from bench.harness.processes import Processes
from bench.harness.report import ratio, summary_ms
from bench.harness.wait import sleep_until
from bench.sched.baselines import start_rq_cron, start_rqscheduler
from bench.sched.drift import DriftRun
from bench.sched.plan import SchedPlan
from bench.sched.probes import Poller, Probe

INTERVAL = 1.0
DB_RQS_FAST, DB_RQS_DEFAULT, DB_CRON = 1, 2, 3
FIRE_ALLOWANCE = 1.5  # after the window, for runs due inside it to be enqueued


def run_side_by_side(processes: Processes, port: int, plan: SchedPlan, ours: DriftRun) -> dict[str, Any]:
    """Start the baselines next to our running 1 s schedule, measure one window, stop them."""
    start_at = math.ceil(time.time()) + 3.0
    started = [
        start_rqscheduler(processes, port, DB_RQS_FAST, 1.0, start_at, "rqscheduler -i 1"),
        start_rq_cron(processes, port, DB_CRON, "rq cron"),
    ]
    if plan.default_rqscheduler:
        started.append(
            start_rqscheduler(processes, port, DB_RQS_DEFAULT, None, start_at, "rqscheduler (default -i 60)")
        )
    probes: list[Probe] = [probe for _, probe in started]
    poller = Poller(probes, plan.side_by_side_seconds + 60)
    poller.start()
    try:
        since = start_at + 2.0
        until = since + plan.side_by_side_seconds
        sleep_until(since)
        cpu_before = cpu_seconds(ours.scheduler.pid)
        sleep_until(until)
        cpu = per_minute(cpu_before, cpu_seconds(ours.scheduler.pid), until - since)
        sleep_until(until + FIRE_ALLOWANCE)
    finally:
        poller.stop()
        for process, _ in started:
            processes.stop(process)
    contenders = {"ours": {**_ours(ours, since, until), "scheduler_cpu_s_per_min": cpu}}
    for probe in probes:
        probe.finish()
        contenders[probe.label] = _baseline(probe, since, until)
        probe.client.flushdb()
    return {
        "window_s": plan.side_by_side_seconds,
        "interval_s": INTERVAL,
        "contenders": contenders,
        "ratios_p99_fired_theirs_over_ours": _ratios(contenders),
        "probe_errors": poller.errors,
        "note": None
        if plan.default_rqscheduler
        else "rqscheduler at its default 60 s poll needs a 2-3 min window: run only in the full plan",
    }


def _ours(ours: DriftRun, since: float, until: float) -> dict[str, Any]:
    figures = ours.window(since, until)
    runs = [r for r in ours.runs() if since <= r.due < until]
    fired = sorted(r.enqueued_at for r in runs if r.status == "fired" and r.enqueued_at is not None)
    return {
        "due_on_grid": figures["due"],
        "fired": figures["fired"],
        "missed": figures["missed"],
        "fired_lateness": figures["fired_lateness"],
        "start_lateness": figures["start_lateness"],
        "spacing": summary_ms([b - a for a, b in zip(fired, fired[1:], strict=False)]),
        "drift_last_s": round(max((r.due for r in runs), default=since) - _grid_last(ours, runs), 6),
        "runs_for_drift": len(runs),
    }


def _grid_last(ours: DriftRun, runs: list[Any]) -> float:
    """Where the last run in the window should be on the grid, counting runs (not rounding due times)."""
    if not runs:
        return 0.0
    first = min(r.due for r in runs)
    return first + (len(runs) - 1) * INTERVAL


def _baseline(probe: Probe, since: float, until: float) -> dict[str, Any]:
    fires = [f for f in probe.fires if since <= f.due < until]
    everything = sorted(probe.fires, key=lambda f: f.enqueued_at)
    drift = [f.due - (everything[0].due + n * INTERVAL) for n, f in enumerate(everything)] if everything else []
    stamps = [f.enqueued_at for f in fires]
    grid_first = probe.start_at + math.ceil(max(0.0, since - probe.start_at) / INTERVAL) * INTERVAL
    return {
        "due_on_grid": max(0, math.ceil((until - grid_first) / INTERVAL)),
        "fired": len(fires),
        "unmatched_by_probe": probe.unmatched,
        "fired_lateness": summary_ms([f.enqueued_at - f.due for f in fires]),
        "start_lateness": None,
        "spacing": summary_ms([b - a for a, b in zip(stamps, stamps[1:], strict=False)]),
        "drift_last_s": round(drift[-1], 6) if drift else None,
        "runs_for_drift": len(drift),
        "drift_per_run_s": round(drift[-1] / (len(drift) - 1), 6) if len(drift) > 1 else None,
    }


def _ratios(contenders: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    ours = contenders["ours"]["fired_lateness"]["p99_ms"]
    return {
        label: ratio(figures["fired_lateness"]["p99_ms"], ours, digits=1)
        for label, figures in contenders.items()
        if label != "ours"
    }
