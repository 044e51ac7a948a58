"""The worker benchmark's figures as a table for people; nothing here measures anything."""

from __future__ import annotations

from typing import Any


def worker_table(result: dict[str, Any]) -> str:
    rows = [
        f"Worker throughput: no-op jobs on queue {result['queue']!r}, burst mode, clock from 'go' to last job ended",
        "",
        f"{'worker':<22}{'procs':>6}{'jobs':>7}{'seconds':>9}{'jobs/s':>9}{'failed':>8}{'redis cmds/job':>17}",
    ]
    for run in result["runs"]:
        rows.append(
            f"{run['label']:<22}{run['processes']:>6}{run['jobs']:>7}{run['seconds']:>9.2f}{run['jobs_per_s']:>9.1f}"
            f"{run['failed']:>8}{run['redis_commands_per_job']:>17.1f}"
        )
    ratios = ", ".join(f"{name} = {value}" for name, value in result["ratios"].items())
    rows.append(f"ratios: {ratios}")
    return "\n".join(rows)
