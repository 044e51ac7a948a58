"""Submit-to-start latency on an idle worker at a steady 50 jobs/s, and the worker's memory after it.

One worker process (ours, or rq.SimpleWorker) serves the queue, idle; jobs are
submitted in LATENCY_ROUNDS rounds, the two workers taking turns (ours first, then
theirs, then theirs first...), so a burst of load on the shared machine falls on
both alike; the samples of all rounds are pooled. Jobs are submitted at `rate` per
second (ours through `workers.jobs.submit`, as the API does; RQ's with
`queue.enqueue`). A job's latency is its hash's `started_at` minus its
`enqueued_at`, both written on this host's clock by RQ's own code paths (our submit
writes `enqueued_at` as RQ does). Then the worker's RSS is read from /proc.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.utils import utcparse

from bench import tasks as raw_tasks
from bench.harness.proc_info import rss_mb
from bench.harness.processes import Process, Processes
from bench.harness.redis import RedisServer
from bench.harness.report import percentile, ratio
from bench.harness.wait import pause, wait_until
from bench.worker.fill import QUEUE, TASK_MODULES
from bench.worker.plan import WorkerPlan
from workers.core.connection import connect
from workers.core.settings import Settings
from workers.jobs.submit import JobSpec, submit
from workers.tasks.registry import RetryPolicy, load_task_modules

KINDS = ("service", "simple")
LATENCY_ROUNDS = 4


def run_latency(processes: Processes, redis: RedisServer, plan: WorkerPlan, log_dir: Path) -> dict[str, Any]:
    """Both workers in turn on a flushed Redis; p50/p99 submit-to-start and RSS, and our p99 over theirs."""
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    rss: dict[str, list[float]] = {kind: [] for kind in KINDS}
    jobs = max(1, plan.latency_jobs // LATENCY_ROUNDS)
    for round_number in range(LATENCY_ROUNDS):
        for kind in KINDS if round_number % 2 == 0 else reversed(KINDS):
            seconds, mb = _one(processes, redis, kind, jobs, plan, log_dir / f"latency-{kind}-{round_number}.log")
            samples[kind] += seconds
            if mb is not None:
                rss[kind].append(mb)
    runs = {kind: _summary(samples[kind], rss[kind]) for kind in KINDS}
    ours, simple = runs["service"], runs["simple"]
    return {
        "rate_per_s": plan.latency_rate,
        "jobs": jobs * LATENCY_ROUNDS,
        "rounds": LATENCY_ROUNDS,
        "runs": runs,
        "p99_ratio_ours_over_simple": ratio(ours["p99_ms"], simple["p99_ms"]),
        "rss_ratio_ours_over_simple": ratio(ours["rss_mb"], simple["rss_mb"]),
    }


def _one(
    processes: Processes, redis: RedisServer, kind: str, jobs: int, plan: WorkerPlan, log: Path
) -> tuple[list[float], float | None]:
    """One round of one worker: each job's submit-to-start seconds, and the worker's RSS after."""
    redis.flush()
    worker = _start(processes, kind, redis.url, log)
    try:
        wait_until(lambda: _registered(redis.client), plan.startup_timeout, f"{kind} worker to register")
        pause(1.0)  # idle: its first poll is behind it
        ids = _submit_steadily(redis, kind, jobs, plan.latency_rate)
        wait_until(lambda: _all_started(redis.client, ids), plan.drain_timeout, f"{kind} to start every job")
        return [_latency(redis.client, job_id) for job_id in ids], rss_mb(worker.pid)
    finally:
        processes.stop(worker)


def _summary(seconds: list[float], rss: list[float]) -> dict[str, Any]:
    return {
        "p50_ms": _ms(percentile(seconds, 0.5)),
        "p99_ms": _ms(percentile(seconds, 0.99)),
        "max_ms": _ms(max(seconds, default=None)),
        "rss_mb": max(rss, default=None),
    }


def _start(processes: Processes, kind: str, url: str, log: Path) -> Process:
    args = ["-m", "bench.worker.drain", kind, QUEUE, "--redis-url", url, "--log", str(log), "--serve"]
    worker = processes.python(log.stem, args, pipes=True)
    if worker.stdout is None or worker.stdin is None:
        raise RuntimeError("latency worker started without pipes")
    if worker.stdout.readline().strip() != b"ready":
        raise RuntimeError(f"the {kind} worker did not get ready (exit code {worker.poll()})")
    worker.stdin.write(b"go\n")
    worker.stdin.flush()
    return worker


def _registered(client: Redis) -> bool:
    return bool(client.scard(f"rq:workers:{QUEUE}"))


def _submit_steadily(redis: RedisServer, kind: str, jobs: int, rate: float) -> list[str]:
    """`jobs` jobs, one every 1/rate s on a fixed timetable (a late one does not shift the rest)."""
    if kind == "service":
        settings = Settings(redis_url=redis.url, task_modules=[TASK_MODULES])
        load_task_modules(settings.task_modules)
        connection = connect(settings)
        connection.ping()  # connected before the clock runs, as RQ's side (the bench's own client) is

        def one() -> str:
            spec = JobSpec(task="examples.noop", queue=QUEUE, retry=RetryPolicy(max=1))
            return str(submit(connection, settings, spec).job.id)
    else:
        queue = Queue(QUEUE, connection=redis.client)

        def one() -> str:
            return str(queue.enqueue(raw_tasks.noop, retry=Retry(max=1)).id)

    ids = []
    start = time.monotonic()
    for n in range(jobs):
        pause(start + n / rate - time.monotonic())
        ids.append(one())
    return ids


def _all_started(client: Redis, ids: list[str]) -> bool:
    with client.pipeline(transaction=False) as pipeline:
        for job_id in ids:
            pipeline.hget(f"rq:job:{job_id}", "started_at")
        return all(pipeline.execute())


def _latency(client: Redis, job_id: str) -> float:
    enqueued, started = client.hmget(f"rq:job:{job_id}", ["enqueued_at", "started_at"])
    return (utcparse(started.decode()) - utcparse(enqueued.decode())).total_seconds()


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)
