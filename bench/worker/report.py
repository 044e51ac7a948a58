"""The worker benchmark's figures as a table for people; nothing here measures anything."""

from __future__ import annotations

from typing import Any


def worker_table(result: dict[str, Any]) -> str:
    rows = [
        f"Worker throughput on queue {result['queue']!r}, clock from 'go' to last job ended, one retry per job",
        "",
        f"{'worker':<22}{'task':<12}{'conc':>5}{'procs':>6}{'jobs':>7}{'seconds':>9}{'jobs/s':>9}{'failed':>8}"
        f"{'cmds/job':>10}{'trips/job':>11}",
    ]
    for run in result["runs"]:
        concurrency = run.get("concurrency") or "-"
        rows.append(
            f"{run['label']:<22}{run['task']:<12}{concurrency:>5}{run['processes']:>6}{run['jobs']:>7}"
            f"{run['seconds']:>9.2f}{run['jobs_per_s']:>9.1f}{run['failed']:>8}"
            f"{run['redis_commands_per_job']:>10.1f}{run['round_trips_per_job']:>11.2f}"
        )
    ratios = ", ".join(f"{name} = {value}" for name, value in result["ratios"].items())
    rows.append(f"ratios: {ratios}")
    rows += _latency_rows(result.get("latency"), result["runs"])
    return "\n".join(rows)


def _latency_rows(latency: dict[str, Any] | None, runs: list[dict[str, Any]]) -> list[str]:
    if not latency:
        return []
    rows = [
        "",
        f"Submit-to-start on one idle worker, {latency['jobs']} no-op jobs at {latency['rate_per_s']:.0f}/s"
        f" in {latency.get('rounds', 1)} rounds taken in turns (RSS: the largest after a round)",
        f"{'worker':<22}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'RSS MB':>9}",
    ]
    for kind, run in latency["runs"].items():
        label = "ours (ServiceWorker)" if kind == "service" else "rq.SimpleWorker"
        rows.append(f"{label:<22}{run['p50_ms']:>9}{run['p99_ms']:>9}{run['max_ms']:>9}{run['rss_mb']!s:>9}")
    dramatiq = next((r for r in runs if r["kind"] == "dramatiq" and r.get("rss_mb_tree")), None)
    if dramatiq is not None:
        rows.append(
            f"dramatiq RSS after its no-op drain: {dramatiq['rss_mb_per_worker_process']} MB per worker process, "
            f"{dramatiq['rss_mb_tree']} MB for its tree of 2 workers and the supervisor"
        )
    rows.append(
        f"p99 ours/SimpleWorker = {latency['p99_ratio_ours_over_simple']} (goal <= 1), "
        f"RSS ours/SimpleWorker = {latency['rss_ratio_ours_over_simple']}"
    )
    return rows
