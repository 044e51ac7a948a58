"""The scheduler benchmark's figures as a table; nothing here measures anything."""

from __future__ import annotations

from typing import Any

GOAL_FIRED_P99_10K_MS = 5.0
GOAL_START_P99_10K_MS = 10.0
GOAL_FIRED_P99_100K_MS = 100.0
GOAL_FAILOVER_GAP_S = 5.0
GOAL_HERD_LAST_MS = 250.0  # 10,000 cron schedules due at one boundary: the last on its queue after it
GOAL_CPU_100K_PER_MIN = 15.0  # scheduler CPU-seconds per minute with 100,000 interval schedules
GOAL_STEADY_GIB = 4.0  # steady-state Redis memory, 100,000 schedules every 60 s


def _trio(summary: dict[str, Any] | None) -> str:
    """'p50 / p99 / max' in ms, or '-'."""
    if not summary or not summary.get("n"):
        return "-"
    return " / ".join(_ms(summary[k]) for k in ("p50_ms", "p99_ms", "max_ms"))


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 10_000 else f"{value / 1000:.1f}s"


def side_by_side_table(side: dict[str, Any]) -> list[str]:
    rows = [
        f"1 s interval schedule, all contenders at once for {side['window_s']:.0f} s (own Redis db each, one server)",
        "fired = job enqueued_at - the contender's own due time; start = job started_at - due (ours runs a worker)",
        f"{'contender':<30}{'due':>5}{'fired':>6}  {'fired p50/p99/max ms':<26}{'start p50/p99/max ms':<24}"
        f"{'spacing p50/p99 ms':<22}{'drift':>10}{'  p99 theirs/ours':>17}",
    ]
    ratios = side.get("ratios_p99_fired_theirs_over_ours", {})
    for label, c in side["contenders"].items():
        spacing = c["spacing"]
        spacing_text = "-" if not spacing.get("n") else f"{_ms(spacing['p50_ms'])} / {_ms(spacing['p99_ms'])}"
        drift = "-" if c.get("drift_last_s") is None else f"{c['drift_last_s']:+.3f}s/{c['runs_for_drift']}"
        ratio = "-" if label == "ours" else str(ratios.get(label))
        rows.append(
            f"{label:<30}{c['due_on_grid']:>5}{c['fired']:>6}  {_trio(c['fired_lateness']):<26}"
            f"{_trio(c.get('start_lateness')):<24}{spacing_text:<22}{drift:>10}{ratio:>17}"
        )
    rows.append("note: plain rq-scheduler keeps whole-second due times, so its lateness depends on where its poll")
    rows.append("falls within the second (uniform 0-1 s with -i 1): compare its spacing and run counts too")
    if side.get("note"):
        rows.append(f"note: {side['note']}")
    return rows


def scale_table(scales: list[dict[str, Any]], one: dict[str, Any] | None) -> list[str]:
    rows = [
        "N schedules every 60 s, start times spread over the minute, one scheduler process; due times inside the",
        "window only (fired = job enqueued_at - due; ledger = the ledger's fired_at, which is the batch's `now`)",
        f"{'N':>7}{'win s':>6}{'due':>7}{'fired':>7}{'missed':>7}{'never':>6}{'dup':>4}  "
        f"{'fired p50/p99/max ms':<24}{'ledger p99':>11}  {'start p50/p99/max ms':<24}"
        f"{'sched CPU s/min':>16}{'redis CPU s/min':>16}{'B/schedule':>11}{'B/run':>8}",
    ]
    if one:
        rows.append(
            f"{1:>7}{'':>6}{one['due_on_grid']:>7}{one['fired']:>7}{one['missed']:>7}{'':>6}{'':>4}  "
            f"{_trio(one['fired_lateness']):<24}{'':>11}  {_trio(one['start_lateness']):<24}"
            f"{_num(one.get('scheduler_cpu_s_per_min')):>16}   (1 s interval: the side-by-side window)"
        )
    for s in scales:
        if "error" in s:
            rows.append(f"{s.get('schedules', '?'):>7}  failed: {s['error']}")
            continue
        rows.append(
            f"{s['schedules']:>7}{s['window_s']:>6.0f}{s['due']:>7}{s['fired']:>7}{s['missed']:>7}"
            f"{s['never_recorded']:>6}{s['duplicates']:>4}  {_trio(s['fired_lateness']):<24}"
            f"{_ms(s['ledger_fired_lateness']['p99_ms']):>11}  "
            f"{_trio(s['start_lateness']) if s['worker'] else 'not measured':<24}"
            f"{_num(s['scheduler_cpu_s_per_min']):>16}{_num(s['redis_cpu_s_per_min']):>16}"
            f"{_num(s['redis_bytes_per_schedule']):>11}{_num(s['redis_bytes_per_fired_run']):>8}"
        )
    rows.append(
        "never = due in the window but not in the ledger (neither fired nor missed) when the catch-up wait ended; "
        "B/run = Redis memory growth per fired run (job, ledger entry, queue entry; with a worker also its result)"
    )
    fires = [
        f"{s['schedules']}: {s['fires_per_s_in_window']}/s of {s['fires_per_s_needed']}/s"
        for s in scales
        if s.get("fires_per_s_in_window") is not None
    ]
    if fires:
        rows.append(f"the scheduler fired (N: runs/s in the window, of runs/s due): {', '.join(fires)}")
    rates = [
        f"{s['schedules']}: {s['worker_jobs_started_per_s']}/s" for s in scales if s.get("worker_jobs_started_per_s")
    ]
    if rates:
        rows.append(f"the one worker started jobs at (N: rate in the window): {', '.join(rates)}")
    cut = [str(s["schedules"]) for s in scales if "error" not in s and not s["caught_up_within_timeout"]]
    if cut:
        rows.append(f"not caught up within the catch-up wait (still behind when stopped): N = {', '.join(cut)}")
    return rows


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if value >= 100 else f"{value:.2f}"


def drift_lines(drift: dict[str, Any], side: dict[str, Any] | None) -> list[str]:
    rows = [
        f"drift, ours: 1 s schedule over the whole benchmark: {drift.get('runs_made', '?')} runs, "
        f"{drift.get('runs_fired_at_exact_due_times', '?')} of them fired as the job of due time start + n*1s exactly "
        "(the job id names the due time);",
        f"  the ledger's newest {drift['runs']} ({drift['fired']} fired): due(n) - (start + n*1s) after the last = "
        f"{drift['drift_last_s']:+.6f} s, max |drift| = {drift['drift_max_abs_s']:.6f} s; "
        f"fired spacing p50/p99/max = {_trio(drift['spacing'])} ms",
        "  its lateness over all runs (other phases loading the machine): "
        f"fired {_trio(drift['fired_lateness_all_runs'])} ms, start {_trio(drift['start_lateness_all_runs'])} ms",
    ]
    for label, c in (side or {}).get("contenders", {}).items():
        per_run = c.get("drift_per_run_s")
        if label == "ours" or per_run is None:
            continue
        rows.append(
            f"drift, {label}: {c['drift_last_s']:+.3f} s after {c['runs_for_drift']} runs "
            f"({per_run * 1000:+.2f} ms a run; extrapolated to 1,000 runs: {per_run * 1000:+.1f} s)"
        )
    return rows


def memory_lines(result: dict[str, Any]) -> list[str]:
    """Steady-state memory: measured bytes per run x runs kept, plus per schedule (bench/sched/memory.py)."""
    m = result.get("memory")
    if not m or "error" in m:
        return [f"memory failed: {m['error']}"] if m else []
    return [
        f"memory: {m['schedules']} schedules every 60 s fired and finished {m['rounds_fired_and_finished']} times: "
        f"a kept run {m['bytes_per_run']:.0f} B x {m['runs_kept']} kept, "
        f"a schedule {m['bytes_per_schedule_without_runs']:.0f} B "
        f"+ ledger {m['ledger_entries_kept']} x {m['bytes_per_ledger_entry']:.0f} B "
        f"= {m['bytes_per_schedule_steady']:.0f} B per schedule in steady state "
        f"({m['bytes_per_schedule_steady_by_used_memory']:.0f} B by used_memory; the larger counts): "
        f"{m['steady_state_gib_100k']} GiB at 100,000 schedules "
        f"(before: {m['before_bytes_100k_one_day'] / 2**40:.2f} TiB of runs kept a day)",
    ]


def failover_lines(f: dict[str, Any]) -> list[str]:
    gaps = [e["lock_gap_s"] for e in f["events"]]
    return [
        f"failover: {f['processes']} scheduler processes, {f['schedules']} schedules every {f['interval_s']:.0f} s, "
        f"lock holder SIGKILLed {f['kills']} times",
        f"  duplicate runs {f['duplicate_runs']}, job ids queued twice {f['job_ids_queued_twice']}; "
        f"lock gap p50/max {_trio(f['lock_gap'])} ms; first fire after kill p50/max {_trio(f['fire_gap'])} ms",
        f"  due {f['due']}, fired {f['fired']}, missed (coalesced by catch-up during gaps) {f['missed']}, "
        f"never recorded {f['never_recorded']}; lock gaps s: {gaps}",
    ]


def herd_lines(herd: dict[str, Any]) -> list[str]:
    late = herd["fired_lateness"]
    return [
        f"cron herd: {herd['schedules']} schedules on {herd['expression']!r} ({herd['timezone']}), all due at one "
        f"minute boundary: {herd['fired']} of {herd['due_at_boundary']} fired; fired lateness p50/p99/max "
        f"{late['p50_ms']} / {late['p99_ms']} / {late['max_ms']} ms (the last fires when all before it have); "
        f"all on the queue {herd.get('last_queued_after_boundary_ms')} ms after the boundary; "
        f"scheduler CPU {herd.get('scheduler_cpu_s')} s"
    ]


def goal_lines(result: dict[str, Any]) -> list[str]:
    scales = [s for s in result.get("scales", []) if "error" not in s]
    rows = ["goals (from the issue) against this run:"]
    for s in (s for s in scales if s["schedules"] == 10_000):
        how = "with a worker on the same CPUs" if s["worker"] else "scheduler alone, no worker"
        rows.append(_goal(f"fired p99 at 10,000 ({how})", s["fired_lateness"]["p99_ms"], GOAL_FIRED_P99_10K_MS, "ms"))
        if s["worker"]:
            rows.append(_goal("start p99 at 10,000", s["start_lateness"]["p99_ms"], GOAL_START_P99_10K_MS, "ms"))
    for s in (s for s in scales if s["schedules"] == 100_000):
        rows.append(_goal("unfired at 100,000", s["unfired"], 0, "runs", strict=False))
        cpu = s["scheduler_cpu_s_per_min"]
        rows.append(
            _goal("scheduler CPU-s/min at 100,000", cpu, GOAL_CPU_100K_PER_MIN, "s", strict=False, at_most=True)
        )
        rows.append(_goal("fired p99 at 100,000", s["fired_lateness"]["p99_ms"], GOAL_FIRED_P99_100K_MS, "ms"))
    if "drift" in result and "error" not in result["drift"]:
        drift = result["drift"]
        rows.append(_goal("|drift| of ours (ledger)", drift["drift_max_abs_s"], 0, "s", strict=False))
        if "runs_made" in drift:
            off = drift["runs_made"] - drift["runs_fired_at_exact_due_times"]
            rows.append(_goal(f"runs of {drift['runs_made']} not at start + n*1s", off, 0, "", strict=False))
    herd = result.get("herd") or {}
    if herd and "error" not in herd:
        last = herd.get("last_queued_after_boundary_ms")
        rows.append(
            _goal(f"herd of {herd['schedules']}: last queued after the boundary", last, GOAL_HERD_LAST_MS, "ms")
        )
    memory = result.get("memory") or {}
    if memory and "error" not in memory:
        rows.append(_goal("steady-state memory at 100,000", memory["steady_state_gib_100k"], GOAL_STEADY_GIB, "GiB"))
    failover = result.get("failover", {})
    if "error" not in failover and failover:
        rows.append(_goal("duplicates under failover", failover["duplicate_runs"], 0, "", strict=False))
        gap = failover["fire_gap"]["max_ms"]
        rows.append(_goal("failover gap (max, to next fire)", gap and gap / 1000, GOAL_FAILOVER_GAP_S, "s"))
    return rows


def _goal(what: str, value: float | None, goal: float, unit: str, strict: bool = True, at_most: bool = False) -> str:
    if value is None:
        return f"  {what}: not measured"
    met = value < goal if strict else value <= goal
    relation = "<" if strict else ("<=" if at_most else "=")
    return f"  {what}: {value} {unit} (goal {relation} {goal} {unit}): {'met' if met else 'NOT met'}"


def _ours_one(result: dict[str, Any]) -> dict[str, Any] | None:
    side = result.get("side_by_side") or {}
    return None if "error" in side else side.get("contenders", {}).get("ours")


def sched_table(result: dict[str, Any]) -> str:
    rows = [
        f"Scheduler benchmark ({result['plan']['name']} plan), {result['seconds']:.0f} s; load average at start "
        f"{result['load_average_at_start']}, at end {result['load_average_at_end']}"
    ]
    sections: list[tuple[str, Any]] = [
        ("side_by_side", side_by_side_table),
        ("scales", lambda s: scale_table(s, _ours_one(result))),
        ("drift", lambda d: drift_lines(d, result.get("side_by_side"))),
        ("herd", herd_lines),
        ("failover", failover_lines),
    ]
    for key, render in sections:
        value = result.get(key)
        rows.append("")
        if isinstance(value, dict) and "error" in value:
            rows.append(f"{key} failed: {value['error']}")
        elif value is not None:
            rows.extend(render(value))
    rows.append("")
    rows.extend(memory_lines(result))
    rows.append("")
    rows.extend(goal_lines(result))
    return "\n".join(rows)
