"""The HTTP benchmark's figures as a table for people; nothing here measures anything."""

from __future__ import annotations

from typing import Any

PATHS = {"bare": "POST /bare", "ours": "POST /jobs"}


def http_table(result: dict[str, Any], rounds: int) -> str:
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
            f"{PATHS[name]:<12}{figures['rate']:>9.1f}  {per_round:<20}"
            f"{figures['p50_ms']:>8.2f}{figures['p99_ms']:>8.2f}"
            f"{figures['non_2xx']:>9}{figures['socket_errors']:>9}{figures['timeouts']:>9}"
            f"{'-' if calls is None else f'{calls:.1f}':>17}"
        )
    ratio = result["ratio_ours_to_bare"]
    verdict = "meets" if ratio is not None and ratio >= result["goal_ratio"] else "below"
    rows.append(f"rate ours/bare: {ratio}  ({verdict} the stated goal of >= {result['goal_ratio']})")
    rows.append(_long_polls_row(result["long_polls"]))
    return "\n".join(rows)


def _long_polls_row(figures: dict[str, Any]) -> str:
    return (
        f"GET /healthz p50: {figures['healthz_idle_p50_ms']} ms alone, "
        f"{figures['healthz_with_waiters_p50_ms']} ms with {figures['waiters']} long-polls open "
        f"({figures['still_waiting']} still waiting): ratio {figures['ratio_with_to_without']} (1.0 = no cost)"
    )
