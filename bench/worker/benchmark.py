"""Worker throughput benchmark: jobs/s drained by our worker, raw RQ's workers and dramatiq's, on one Redis.

Each contender gets a freshly flushed Redis pre-filled with N jobs (each with one
retry), then its worker processes; the clock runs from `go` until every job has
ended. Our jobs are submitted through `workers.jobs.submit`, the way the API submits
them; raw RQ's are a plain function enqueued with RQ's defaults; dramatiq's are
messages of an actor with the Redis results middleware (bench/worker/dramatiq_side.py).
Round trips are Redis's own count of socket reads (INFO stats `total_reads_processed`):
a pipeline or a script is one.
"""

from __future__ import annotations

import select
import statistics
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
from bench.worker import dramatiq_side
from bench.worker.fill import QUEUE, fill, registry_keys
from bench.worker.latency import run_latency
from bench.worker.plan import WorkerPlan

POLL_SECONDS = 0.02
LABELS = {
    "service": "ours (ServiceWorker)",
    "simple": "rq.SimpleWorker",
    "fork": "rq.Worker (fork)",
    "dramatiq": "dramatiq 2x8 threads",
}


@dataclass(frozen=True)
class Contender:
    kind: str
    processes: int
    jobs: int
    task: str = "noop"  # noop, sleep (50 ms, sync) or async_sleep (50 ms, awaited)
    concurrency: int | None = None  # ours: jobs at once per process (None: WORKER_CONCURRENCY)
    round: int = 0  # of the no-op pair, ours and dramatiq's, run `noop_rounds` times

    @property
    def name(self) -> str:
        suffix = f"-c{self.concurrency}" if self.concurrency else ""
        return f"{self.kind}-{self.task}-x{self.processes}{suffix}" + (f"-r{self.round}" if self.round else "")


def contenders(plan: WorkerPlan) -> list[Contender]:
    """No-op jobs on 2 processes for all, then the 50 ms tasks on one process; 1 process and fork: full plan.

    Ours and dramatiq's no-op drains run in turns, `noop_rounds` pairs, the first of a pair
    alternating: a drain lasts seconds, and a shared machine's speed moves more than that
    within a minute, so one pair alone can say either way.
    """
    jobs = plan.simple_jobs
    runs: list[Contender] = []
    for number in range(plan.noop_rounds):
        pair = [Contender("service", 2, jobs, round=number), Contender("dramatiq", 2, jobs, round=number)]
        runs += pair if number % 2 == 0 else pair[::-1]
    runs.append(Contender("simple", 2, jobs))
    if plan.fork_jobs:
        runs += [Contender(kind, 1, jobs) for kind in ("service", "simple")]
        runs += [Contender("fork", n, plan.fork_jobs) for n in (1, 2)]
    runs += [
        Contender("service", 1, plan.sleep_jobs, "sleep", plan.sleep_concurrency),
        Contender("service", 1, plan.sleep_jobs, "async_sleep", plan.sleep_concurrency),
        Contender("simple", 1, plan.simple_sleep_jobs, "sleep"),
    ]
    return runs


def run(plan: WorkerPlan, workdir: Path) -> dict[str, Any]:
    """Run every contender on one private Redis and compare our rates with the others'."""
    with (
        RedisServer(workdir / "redis-worker", startup_timeout=plan.startup_timeout) as redis,
        Processes(workdir / "logs") as processes,
    ):
        runs = [_drain(processes, redis, c, plan, workdir / "logs") for c in contenders(plan)]
        latency = run_latency(processes, redis, plan, workdir / "logs")
        redis.flush()
    return {"queue": QUEUE, "runs": runs, "ratios": _ratios(runs), "latency": latency}


def _drain(
    processes: Processes, redis: RedisServer, contender: Contender, plan: WorkerPlan, log_dir: Path
) -> dict[str, Any]:
    """Fill, start the workers, say go, and time until all jobs have ended."""
    redis.flush()
    if contender.kind == "dramatiq":
        return _drain_dramatiq(processes, redis, contender, plan)
    fill(redis, contender.kind, contender.jobs, contender.task)
    queued = int(redis.client.llen(f"rq:queue:{QUEUE}"))
    if queued != contender.jobs:
        raise RuntimeError(f"pre-fill left {queued} jobs on the queue, expected {contender.jobs}")
    workers = [
        _start_drain(processes, contender, redis.url, log_dir / f"{contender.name}-{i}.log")
        for i in range(contender.processes)
    ]
    _wait_ready(workers, plan.startup_timeout)
    before = _counters(redis)
    started = time.perf_counter()
    for worker in workers:
        _send_go(worker)
    finished, failed, polls = _poll_until_done(redis.client, contender, workers, plan.drain_timeout)
    seconds = time.perf_counter() - started
    counted = _counted(before, _counters(redis), polls, finished + failed)
    wait_until(lambda: all(w.poll() is not None for w in workers), 15, f"{contender.name} workers to exit")
    for worker in workers:
        processes.stop(worker)
    return _figures(contender, finished, failed, seconds, counted) | {"exit_codes": [w.returncode for w in workers]}


def _drain_dramatiq(processes: Processes, redis: RedisServer, contender: Contender, plan: WorkerPlan) -> dict[str, Any]:
    dramatiq_side.fill(redis.url, contender.jobs, contender.task)
    worker = dramatiq_side.start(processes, redis.url, contender.name)
    wait_until(lambda: dramatiq_side.ready(redis.client), plan.startup_timeout, "dramatiq workers to fetch")
    before = _counters(redis)
    started = time.perf_counter()
    dramatiq_side.go(redis.client)
    polls = [0]

    def done() -> bool:
        polls[0] += 1
        return dramatiq_side.left(redis.client) == 0 or worker.poll() is not None

    poll_until(done, plan.drain_timeout, f"{contender.name} to drain", POLL_SECONDS)
    seconds = time.perf_counter() - started
    finished = contender.jobs - dramatiq_side.left(redis.client)
    counted = _counted(before, _counters(redis), polls[0] + 1, finished)
    rss = dramatiq_side.rss(worker)
    processes.stop(worker)
    return _figures(contender, finished, 0, seconds, counted) | rss


def _counters(redis: RedisServer) -> dict[str, int]:
    return {**redis.command_calls(), "reads": int(redis.client.info("stats")["total_reads_processed"])}


def _counted(before: dict[str, int], after: dict[str, int], polls: int, ended: int) -> dict[str, Any]:
    """Commands and round trips per ended job, our own polling (and INFO readings) left out."""
    calls = command_delta(before, after)
    reads = calls.pop("reads", 0) - polls - 2  # each poll one read; the two `_counters` readings two more each
    calls.pop("info", None)
    for name in ("zcard", "hlen"):
        if name in calls:
            calls[name] -= polls * (2 if name == "zcard" else 1)
    per_job = max(ended, 1)
    return {
        "redis_commands_per_job": round(sum(v for v in calls.values() if v > 0) / per_job, 2),
        "round_trips_per_job": round(max(reads, 0) / per_job, 2),
        "redis_commands": {k: v for k, v in calls.items() if v > 0},
    }


def _figures(
    contender: Contender, finished: int, failed: int, seconds: float, counted: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": contender.kind,
        "label": LABELS[contender.kind],
        "task": contender.task,
        "concurrency": contender.concurrency,
        "processes": contender.processes,
        "jobs": contender.jobs,
        "finished": finished,
        "failed": failed,
        "seconds": round(seconds, 3),
        "jobs_per_s": round(finished / seconds, 1),
        **counted,
    }


def _start_drain(processes: Processes, contender: Contender, url: str, log: Path) -> Process:
    args = ["-m", "bench.worker.drain", contender.kind, QUEUE, "--redis-url", url, "--log", str(log)]
    if contender.concurrency:
        args += ["--concurrency", str(contender.concurrency)]
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

    if not poll_until(done, timeout, f"{contender.name} to drain", POLL_SECONDS):
        print(f"warning: {contender.name} not done after {timeout:.0f}s", file=sys.stderr)
    return counts[0], counts[1], counts[2]


def _ratios(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Our rate over each baseline's, on the same task and process count: with several rounds
    against one baseline, the median of the rounds' ratios (and each round's, listed)."""
    rates: dict[tuple[str, str, int], list[float]] = {}
    for run in runs:
        rates.setdefault((run["kind"], run["task"], run["processes"]), []).append(run["jobs_per_s"])
    ratios: dict[str, Any] = {}
    for processes in (2, 1):
        ours = rates.get(("service", "noop", processes))
        for kind in ("dramatiq", "simple", "fork"):
            other = rates.get((kind, "noop", processes))
            if ours is None or other is None:
                continue
            name = f"no-op ours/{LABELS[kind]} x{processes}"
            if len(ours) == len(other) > 1:
                rounds = [ratio(a, b) for a, b in zip(ours, other, strict=True)]
                measured = [r for r in rounds if r is not None]
                ratios[name] = statistics.median(measured) if measured else None
                ratios[f"{name}, each round"] = rounds
            else:
                ratios[name] = ratio(statistics.median(ours), statistics.median(other))
    simple_sleep = _rate_of(rates, ("simple", "sleep", 1))
    for task in ("sleep", "async_sleep"):
        ratios[f"50 ms {task} ours x1/rq.SimpleWorker x1"] = ratio(_rate_of(rates, ("service", task, 1)), simple_sleep)
    return ratios


def _rate_of(rates: dict[tuple[str, str, int], list[float]], key: tuple[str, str, int]) -> float | None:
    """The median rate of the runs of `key` (kind, task, processes), None if none ran."""
    found = rates.get(key)
    return statistics.median(found) if found else None
