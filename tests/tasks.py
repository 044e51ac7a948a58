"""Tasks the tests register through TASK_MODULES, as a user's module would."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

from redis import Redis
from rq import Retry, get_current_job

from bench.harness.wait import wait_until
from workers import progress, task


def _ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


@task(name="tests.echo")
def echo(value: object = None) -> object:
    return value


@task(name="tests.anything")
def anything(*args: object, **kwargs: object) -> dict[str, object]:
    """Takes any arguments, so tests of arbitrary values are not refused by the signature check."""
    return {"args": list(args), "kwargs": kwargs}


@task(name="tests.async_double")
async def async_double(value: int) -> int:
    await asyncio.sleep(0.01)
    return value * 2


@task(name="tests.flaky", retry={"max": 3, "backoff": [1, 1, 1]})
def flaky(key: str, failures: int) -> str:
    """Fail `failures` times (counted in Redis), then succeed."""
    count = _ledger().incr(f"flaky:{key}")
    if count <= failures:
        raise RuntimeError(f"failure {count}")
    return f"ok after {count}"


def running_key(job_id: str) -> str:
    """The ledger key a `tests.sleep` job sets once its body runs: what a test can wait on."""
    return f"running:{job_id}"


@task(name="tests.sleep")
def sleep(seconds: float) -> float:
    """Sleep `seconds`, having first marked the job as running in the ledger."""
    job = get_current_job()
    if job is not None:
        _ledger().set(running_key(job.id), 1)
    time.sleep(seconds)
    return seconds


@task(name="tests.touch")
def touch(path: str) -> str:
    Path(path).write_text("ran")
    return path


@task(name="tests.record")
def record(key: str) -> int:
    return int(_ledger().incr(f"record:{key}"))


@task(name="tests.rendezvous")
def rendezvous(key: str, parties: int, timeout: float = 60) -> int:
    """Arrive, then wait for `parties` arrivals: the jobs can only all finish on as many concurrent workers."""
    ledger = _ledger()
    ledger.incr(f"rendezvous:{key}")

    def arrived() -> bool:
        return int(ledger.get(f"rendezvous:{key}") or 0) >= parties

    wait_until(arrived, timeout, f"{parties} arrivals at rendezvous {key}", interval=0.02)
    return parties


@task(name="tests.ledger")
def ledger(path: str, token: str, seconds: float = 0.0) -> str:
    """Append to a file outside the Redis under test, so lost and repeated runs can be counted."""
    with open(path, "a") as handle:
        handle.write(f"start {token}\n")
    time.sleep(seconds)
    with open(path, "a") as handle:
        handle.write(f"end {token}\n")
    return token


@task(name="tests.ask_retry")
def ask_retry() -> Retry:
    """Return `rq.Retry` rather than raise: RQ's other retry path."""
    return Retry(max=1)


@task(name="tests.gate")
def gate(key: str, timeout: float = 120) -> int:
    """Arrive (counted in `arrived:<key>`), wait until the test opens `open:<key>`; return the arrivals then."""
    _gate_wait(key, timeout)
    return int(_ledger().get(f"arrived:{key}") or 0)


@task(name="tests.async_gate")
async def async_gate(key: str, timeout: float = 120) -> int:
    """`tests.gate` as a coroutine: waits by awaiting, so it shares the event loop with its peers."""
    await _async_gate_wait(key, timeout)
    return int(_ledger().get(f"arrived:{key}") or 0)


@task(name="tests.async_sleep")
async def async_sleep(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


@task(name="tests.not_thread_safe", concurrency_safe=False)
def not_thread_safe(key: str, seconds: float = 0.05) -> int:
    """Counts, in `overlap:<key>`, every start that found another run of this task still in progress."""
    ledger = _ledger()
    if int(ledger.incr(f"active:{key}")) > 1:
        ledger.incr(f"overlap:{key}")
    time.sleep(seconds)
    return int(ledger.decr(f"active:{key}"))


def stop_once_started(redis: Redis, job_id: str) -> threading.Thread:
    """A thread that asks the worker to stop a `tests.sleep` job once its body runs (tests of stop)."""
    from workers.jobs import submit as jobs

    def stop() -> None:
        ledger = _ledger()
        wait_until(lambda: ledger.exists(running_key(job_id)) == 1, timeout=10, what=f"{job_id} to run")
        ledger.close()
        jobs.cancel(redis, job_id)

    thread = threading.Thread(target=stop, daemon=True)
    thread.start()
    return thread


def _gate_wait(key: str, timeout: float) -> None:
    """Arrive at gate `key`, then block until the test opens it."""
    ledger = _ledger()
    ledger.incr(f"arrived:{key}")
    deadline = time.monotonic() + timeout
    while not ledger.exists(f"open:{key}"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {key} never opened")
        time.sleep(0.02)


async def _async_gate_wait(key: str, timeout: float) -> None:
    """`_gate_wait` by awaiting, so the task shares the event loop with its peers."""
    ledger = _ledger()
    ledger.incr(f"arrived:{key}")
    deadline = time.monotonic() + timeout
    while not ledger.exists(f"open:{key}"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {key} never opened")
        await asyncio.sleep(0.02)


@task(name="tests.progress_gate")
def progress_gate(key: str, before: float, after: float, timeout: float = 120) -> float:
    """Report `before`, wait at gate `key` (the test reads progress mid-run), then report `after`."""
    progress(before, f"before {before}")
    _gate_wait(key, timeout)
    progress(after, f"after {after}")
    return after


@task(name="tests.async_progress_gate")
async def async_progress_gate(key: str, before: float, after: float, timeout: float = 120) -> float:
    """`tests.progress_gate` as a coroutine on the shared loop."""
    progress(before, f"before {before}")
    await _async_gate_wait(key, timeout)
    progress(after, f"after {after}")
    return after


@task(name="tests.progress_twice")
def progress_twice(fraction: float, message: str) -> str:
    """Report `fraction` and `message` twice: the second write must not be skipped nor mixed."""
    progress(0.0, "start")
    progress(fraction, message)
    return "reported"


@task(name="tests.handed_on")
def handed_on(outcome: str) -> str:
    """As if the run were taken for abandoned meanwhile: its started entry gone; then `outcome` (ok, fail)."""
    job = get_current_job()
    if job is not None:
        registry = job.started_job_registry
        for member in job.connection.zrange(registry.key, 0, -1):
            if member.decode().startswith(f"{job.id}:"):
                job.connection.zrem(registry.key, member)
    if outcome == "fail":
        raise RuntimeError("late failure")
    return "late result"
