"""Figures as a table for people and as JSON for tools; nothing here measures anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def header(meta: dict[str, Any]) -> str:
    env = meta["environment"]
    lines = [
        f"rq-service benchmarks ({meta['plan']['name']} plan), {meta['started_at']}",
        f"command: {meta['command']}  (cwd {meta['cwd']})",
        f"load average (1/5/15 min) at start: {env['load_average']}, at end: {meta.get('load_average_at_end', '-')}",
        f"machine: {env['cpus']} CPUs; python {env['python']}; redis-server {env['redis_server']}; {env['wrk']}",
        "packages: " + ", ".join(f"{k} {v}" for k, v in env["packages"].items()),
    ]
    return "\n".join(lines)


def http_table(result: dict[str, Any], rounds: int) -> str:
    paths = {"bare": "POST /bare", "ours": "POST /jobs"}
    rows = [
        f"HTTP submission: one uvicorn process, {rounds} round(s) alternating bare/ours, Redis flushed before each run",
        f"server: {result['server_command']}",
        f"load:   {result['wrk_commands']['ours']}",
        "",
        f"{'endpoint':<12}{'req/s':>9}  {'per round':<20}{'p50 ms':>8}{'p99 ms':>8}{'non-2xx':>9}{'sock err':>9}"
        f"{'timeouts':>9}{'redis cmds/req':>17}",
    ]
    for name, figures in result["endpoints"].items():
        per_round = ", ".join(f"{r:.0f}" for r in figures["rounds"])
        calls = figures["redis_commands_per_request"]
        rows.append(
            f"{paths[name]:<12}{figures['rate']:>9.1f}  {per_round:<20}"
            f"{figures['p50_ms']:>8.2f}{figures['p99_ms']:>8.2f}"
            f"{figures['non_2xx']:>9}{figures['socket_errors']:>9}{figures['timeouts']:>9}"
            f"{'-' if calls is None else f'{calls:.1f}':>17}"
        )
    ratio = result["ratio_ours_to_bare"]
    verdict = "meets" if ratio is not None and ratio >= result["goal_ratio"] else "below"
    rows.append(f"rate ours/bare: {ratio}  ({verdict} the stated goal of >= {result['goal_ratio']})")
    return "\n".join(rows)


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


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
