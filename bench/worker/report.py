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
    return "\n".join(rows)
