"""The recovery figures as one table for people; nothing here measures anything."""

from __future__ import annotations

from typing import Any

from bench.harness.report import columns, percentile

Row = tuple[str, str, str]  # figure, value, goal


def summarize_kills(result: dict[str, Any]) -> dict[str, Any]:
    """p50/p99/max of the recovery times (all 8 jobs of a kill running again) of the rounds that recovered."""
    rounds = result["rounds"]
    times = [r["recovery_s"] for r in rounds if r.get("recovery_s") is not None]
    return {
        "kills": len(rounds),
        "recovered": len(times),
        "recovery_s": {"p50": percentile(times, 0.5), "p99": percentile(times, 0.99), "max": max(times, default=None)},
        "min_s": min(times, default=None),
        "kills_leaving_orphans": sum(1 for r in rounds if r.get("orphans_left_by_kill")),
        "orphans_all_rq_scheduler": all(
            r.get("orphans_were_rq_scheduler") for r in rounds if r.get("orphans_left_by_kill")
        ),
        "not_recovered": [r for r in rounds if r.get("recovery_s") is None],
    }


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def kill_rows(result: dict[str, Any]) -> list[Row]:
    if "error" in result:
        return [("1-2. kill -9 mid-job (ours)", f"FAILED: {result['error']}", "")]
    summary = result["summary"]
    times = summary["recovery_s"]
    jobs = result["jobs"]
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(jobs["statuses"].items()))
    starts = ", ".join(f"{k} starts: {v}" for k, v in jobs["body_starts_per_job"].items())
    orphan_kind = (
        " (its rq scheduler child)" if summary["kills_leaving_orphans"] and summary["orphans_all_rq_scheduler"] else ""
    )
    return [
        ("1. kills of our worker running 8 jobs", f"{summary['kills']} ({summary['recovered']} all 8 again)", "all"),
        ("   kill -> all 8 started again, p50", _s(times["p50"]), ""),
        ("   kill -> all 8 started again, p99", _s(times["p99"]), "< 5 s"),
        ("   kill -> all 8 started again, max", _s(times["max"]), ""),
        ("   kills leaving a process alive 5 s later", f"{summary['kills_leaving_orphans']}{orphan_kind}", "0"),
        ("2. jobs submitted / ended as", f"{jobs['submitted']} / {statuses}", "all finished"),
        ("   lost (no run of the body ended)", str(len(jobs["lost"])), "0"),
        ("   run again beyond the killed run", str(len(jobs["duplicated"])), "0"),
        ("   body starts per job", starts, "2 each"),
    ]


def baseline_rows(result: dict[str, Any]) -> list[Row]:
    if "error" in result:
        return [("1b. plain RQ kill -9 mid-job", f"FAILED: {result['error']}", "")]
    rows: list[Row] = []
    for number, run in enumerate(result["rounds"]):
        if run["seconds"] is None:
            value = f">{result['cap_s']:.0f} s (not recovered within the cap; job still {run['status_at_end']})"
        else:
            value = f"{run['seconds']:.2f} s ({run['outcome']})"
        rows.append((f"1b. plain `rq worker`, kill {number + 1}: kill -> rerun/failed", value, "context"))
    return rows


def shutdown_rows(result: dict[str, Any]) -> list[Row]:
    if "error" in result:
        return [("3. SIGTERM -> exit", f"FAILED: {result['error']}", "")]
    rows: list[Row] = []
    for name, row in result["processes"].items():
        verdict = "" if row["ok"] else "  << check failed"
        value = f"{row['seconds']:.2f} s, exit {row['exit_code']}, {row['check']}{verdict}"
        goal = "~25 s, requeued" if "120 s" in name else "< 30 s"
        rows.append((f"3. SIGTERM -> exit: {name}", value, goal))
    return rows


def fault_rows(result: dict[str, Any]) -> list[Row]:
    if "error" in result:
        return [("4. Redis faults under load", f"FAILED: {result['error']}", "")]
    answers = result["answers"]
    other_5xx = sum(n for code, n in answers.items() if code.startswith("5") and code != "503")
    others = sum(n for code, n in answers.items() if not code.startswith(("2", "5")))
    alive = ", ".join(f"{k} {'up' if v else 'DEAD'}" for k, v in result["processes_alive_after"].items())
    return [
        ("4. answers by status", ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())), "2xx and 503 only"),
        ("   other 5xx / no answer or other", f"{other_5xx} / {others}", "0 / 0"),
        ("   slowest answer", _slowest(result), "< 2.5 s"),
        ("   accepted jobs lost", f"{len(result['lost_accepted'])} of {result['accepted']}", "0"),
        ("   accepted missing from Redis after", str(result["accepted_missing_from_redis"]), "0"),
        ("   accepted run more than once", str(result["accepted_run_more_than_once"]), "0"),
        ("   refused (not 202) but ran anyway", f"{result['refused_but_ran']} of {result['refused']}", "info"),
        ("   processes after the faults", alive, "all up"),
        ("   rq:pubsub:* channels subscribed after", str(result["worker_pubsub_channels_after"]), "1 (one worker)"),
    ]


def _slowest(result: dict[str, Any]) -> str:
    slowest = result["slowest_answer_s"]
    if not slowest:
        return "-"
    label = max(slowest, key=lambda name: slowest[name])
    return f"{slowest[label]:.2f} s (a {label}, sent {result['slowest_answer_sent_at_s'][label]:.1f} s into the load)"


def table(results: dict[str, Any]) -> str:
    rows = [
        *kill_rows(results.get("kills", {"error": "not run"})),
        *baseline_rows(results.get("baseline", {"error": "not run"})),
        *shutdown_rows(results.get("shutdown", {"error": "not run"})),
        *fault_rows(results.get("faults", {"error": "not run"})),
    ]
    return columns(rows, ("figure", "value", "goal"))


def recovery_report(meta: dict[str, Any], results: dict[str, Any]) -> str:
    """The run's header lines, then the table."""
    env = meta["environment"]
    return "\n".join(
        [
            f"rq-service crash recovery ({meta['plan']['name']} plan), {meta['started_at']}, {meta['wall_s']} s",
            f"command: {meta['command']}  (cwd {meta['cwd']})",
            f"load average at start: {env['load_average']}, at end: {meta['load_average_at_end']}",
            f"machine: {env['cpus']} CPUs; redis-server {env['redis_server']}",
            "",
            table(results),
        ]
    )
