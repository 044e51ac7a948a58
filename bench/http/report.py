"""The HTTP benchmark's figures as a table for people; nothing here measures anything."""

from __future__ import annotations

from typing import Any

PATHS = {"bare": "POST /bare", "handwritten": "hand-written", "ours": "POST /jobs"}


def http_table(result: dict[str, Any], rounds: int) -> str:
    rows = [
        f"HTTP submission: {rounds} round(s) alternating bare/hand-written/ours, Redis flushed before each run;",
        "bare and ours in one uvicorn process, hand-written (FastAPI sync def + queue.enqueue) in its own",
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
    rows.append(f"rate ours/bare: {result['ratio_ours_to_bare']}")
    rows.append(
        _verdict("rate ours/hand-written", result["ratio_ours_to_handwritten"], result["goal_ratio_to_handwritten"])
    )
    rows.append(_batch_row(result["batch"]))
    rows.append(_long_polls_row(result["long_polls"]))
    return "\n".join(rows)


def _verdict(label: str, ratio: float | None, goal: float) -> str:
    met = "meets" if ratio is not None and ratio >= goal else "below"
    return f"{label}: {ratio}  ({met} the goal of >= {goal})"


def _batch_row(figures: dict[str, Any]) -> str:
    return (
        f"POST /jobs/batch of {figures['batch']}: {figures['ours_jobs_per_s']} jobs/s; RQ enqueue_many in-process: "
        f"{figures['rq_enqueue_many_jobs_per_s']} jobs/s (best of {figures['rounds']}); "
        + _verdict("ratio", figures["ratio_ours_to_rq"], figures["goal_ratio"])
    )


def _long_polls_row(figures: dict[str, Any]) -> str:
    idle, loaded = figures["idle"], figures["with_waiters"]
    return (
        f"POST /jobs p99 with {figures['waiters']} `?wait=60` long-polls open: {loaded['p99_ms']} ms "
        f"({loaded['rate']} req/s; still waiting after each run: {figures['still_waiting_after_each_run']}); "
        f"none open: {idle['p99_ms']} ms ({idle['rate']} req/s); {figures['rounds']} round(s) alternating; "
        + _verdict_at_most("p99 ratio", figures["p99_ratio_with_to_without"], figures["goal_p99_ratio"])
    )


def _verdict_at_most(label: str, ratio: float | None, goal: float) -> str:
    met = "meets" if ratio is not None and ratio <= goal else "above"
    return f"{label}: {ratio}  ({met} the goal of <= {goal})"
