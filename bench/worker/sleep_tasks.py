"""Registered tasks that wait 50 ms, sync and async: how many a worker process overlaps.

Loaded through TASK_MODULES by the worker benchmark's fill and drain (ours); raw RQ runs
`bench.tasks.sleep_50ms` by path.
"""

from __future__ import annotations

import asyncio
import time

from workers.tasks.registry import task

SLEEP_SECONDS = 0.05


@task(name="bench.sleep_50ms")
def sleep_50ms() -> None:
    time.sleep(SLEEP_SECONDS)


@task(name="bench.async_sleep_50ms")
async def async_sleep_50ms() -> None:
    await asyncio.sleep(SLEEP_SECONDS)
