"""Tasks the tests register through TASK_MODULES, as a user's module would."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from redis import Redis

from workers import task


def _ledger() -> Redis:
    return Redis.from_url(os.environ["TEST_LEDGER_URL"])


@task(name="tests.echo")
def echo(value: object) -> object:
    return value


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


@task(name="tests.sleep")
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task(name="tests.touch")
def touch(path: str) -> str:
    Path(path).write_text("ran")
    return path


@task(name="tests.record")
def record(key: str) -> int:
    return int(_ledger().incr(f"record:{key}"))
