"""Example tasks shipped with the service, to try from `/docs`."""

from __future__ import annotations

import asyncio
import time

from workers.tasks.registry import task


@task(name="examples.add")
def add(a: float, b: float) -> float:
    """Add two numbers: the smallest synchronous task."""
    return a + b


@task(name="examples.sleep")
async def sleep(seconds: float = 1.0) -> dict[str, float]:
    """Wait asynchronously, then report how long it waited."""
    started = time.monotonic()
    await asyncio.sleep(seconds)
    return {"slept": round(time.monotonic() - started, 3)}


@task(name="examples.fail", retry=0)
def fail(message: str = "this task always fails") -> None:
    """Raise an error, to see a failed job and its traceback."""
    raise RuntimeError(message)


@task(name="examples.noop")
def noop() -> None:
    """Do nothing: used to measure the cost of the queue itself."""
