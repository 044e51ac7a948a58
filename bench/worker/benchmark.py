"""Worker throughput benchmark: no-op jobs/s drained by our worker and by raw RQ's two workers.

Each contender gets a freshly flushed Redis pre-filled with N jobs, then 1 or 2
burst-mode worker processes; the clock runs from `go` until every job is in the
finished or failed registry. Our jobs are submitted through `workers.jobs.submit`,
the way the API submits them; raw RQ's are a plain function enqueued with RQ's defaults.
"""

from __future__ import annotations

import select
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from bench.harness.processes import Process, Processes
from bench.harness.redis import RedisServer, command_delta
from bench.harness.report import ratio
from bench.harness.wait import poll_until, wait_until
from bench.worker.fill import QUEUE, fill, registry_keys
from bench.worker.plan import WorkerPlan

POLL_SECONDS = 0.02
LABELS = {"service": "ours (ServiceWorker)", "simple": "rq.SimpleWorker", "fork": "rq.Worker (fork)"}


@dataclass(frozen=True)
class Contender:
    kind: str
    processes: int
    jobs: int


def contenders(plan: WorkerPlan) -> list[Contender]:
    """Interleaved (each kind at 1 process, then each at 2) so drift hits every kind alike."""
    jobs = {"service": plan.simple_jobs, "simple": plan.simple_jobs, "fork": plan.fork_jobs}
    return [Contender(kind, n, jobs[kind]) for n in (1, 2) for kind in ("service", "simple", "fork")]


def run(plan: WorkerPlan, workdir: Path) -> dict[str, Any]:
    """Run every contender on one private Redis and compare our rate with raw RQ's."""
    with (
        RedisServer(workdir / "redis-worker", startup_timeout=plan.startup_timeout) as redis,
        Processes(workdir / "logs") as processes,
    ):
        runs = [_drain(processes, redis, c, plan, workdir / "logs") for c in contenders(plan)]
        redis.flush()
    return {"queue": QUEUE, "runs": runs, "ratios": _ratios(runs)}


def _drain(
    processes: Processes, redis: RedisServer, contender: Contender, plan: WorkerPlan, log_dir: Path
) -> dict[str, Any]:
    """Fill, start the workers, say go, and time until all jobs have ended."""
    redis.flush()
    fill(redis, contender.kind, contender.jobs)
    queued = int(redis.client.llen(f"rq:queue:{QUEUE}"))
    if queued != contender.jobs:
        raise RuntimeError(f"pre-fill left {queued} jobs on the queue, expected {contender.jobs}")
    name = f"{contender.kind}-x{contender.processes}"
    workers = [
        _start_drain(processes, contender.kind, redis.url, log_dir / f"{name}-{i}.log")
        for i in range(contender.processes)
    ]
    _wait_ready(workers, plan.startup_timeout)
    before = redis.command_calls()
    started = time.perf_counter()
    for worker in workers:
        _send_go(worker)
    finished, failed, polls = _poll_until_done(redis.client, contender, workers, plan.drain_timeout)
    seconds = time.perf_counter() - started
    calls = command_delta(before, redis.command_calls())
    calls.pop("info", None)
    calls["zcard"] = calls.get("zcard", 0) - 2 * polls  # our own polling, not the workers'
    wait_until(lambda: all(w.poll() is not None for w in workers), 15, f"{name} workers to exit")
    for worker in workers:
        processes.stop(worker)
    return {
        "kind": contender.kind,
        "label": LABELS[contender.kind],
        "processes": contender.processes,
        "jobs": contender.jobs,
        "finished": finished,
        "failed": failed,
        "seconds": round(seconds, 3),
        "jobs_per_s": round(finished / seconds, 1),
        "redis_commands_per_job": round(sum(calls.values()) / max(finished + failed, 1), 2),
        "redis_commands": {k: v for k, v in calls.items() if v > 0},
        "exit_codes": [w.returncode for w in workers],
    }


def _start_drain(processes: Processes, kind: str, url: str, log: Path) -> Process:
    args = ["-m", "bench.worker.drain", kind, QUEUE, "--redis-url", url, "--log", str(log)]
    return processes.python(log.stem, args, pipes=True)


def _wait_ready(workers: list[Process], timeout: float) -> None:
    """Every worker has built itself and said `ready`, within `timeout` in all."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        if worker.stdout is None:
            raise RuntimeError("drain worker started without a stdout pipe")
        readable, _, _ = select.select([worker.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = worker.stdout.readline().strip() if readable else b""
        if line != b"ready":
            raise RuntimeError(f"a drain worker did not get ready (said {line!r}, exit code {worker.poll()})")


def _send_go(worker: Process) -> None:
    if worker.stdin is None:
        raise RuntimeError("drain worker started without a stdin pipe")
    worker.stdin.write(b"go\n")
    worker.stdin.flush()


def _poll_until_done(
    client: Redis, contender: Contender, workers: list[Process], timeout: float
) -> tuple[int, int, int]:
    """(finished, failed, polls) once every job has ended, all workers quit, or `timeout` passed."""
    finished_key, failed_key = registry_keys(contender.kind, client)
    counts = [0, 0, 0]  # finished, failed, polls

    def done() -> bool:
        counts[2] += 1
        pipe = client.pipeline(transaction=False)
        counts[0], counts[1] = pipe.zcard(finished_key).zcard(failed_key).execute()
        return counts[0] + counts[1] >= contender.jobs or all(w.poll() is not None for w in workers)

    if not poll_until(done, timeout, f"{contender.kind} x{contender.processes} to drain", POLL_SECONDS):
        print(f"warning: {contender.kind} x{contender.processes} not done after {timeout:.0f}s", file=sys.stderr)
    return counts[0], counts[1], counts[2]


def _ratios(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    """Our rate over raw RQ's, at equal process counts."""
    rate = {(r["kind"], r["processes"]): r["jobs_per_s"] for r in runs}
    ratios: dict[str, float | None] = {}
    for processes in sorted({r["processes"] for r in runs}):
        ours = rate.get(("service", processes))
        for kind, name in (("simple", "rq.SimpleWorker"), ("fork", "rq.Worker")):
            raw = rate.get((kind, processes))
            ratios[f"ours/{name} x{processes}"] = ratio(ours, raw)
    return ratios
