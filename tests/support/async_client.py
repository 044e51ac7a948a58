"""Run a coroutine on a fresh asyncio Redis client of the test's settings, closed after."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis as AsyncRedis

from workers.core.connection import connect_async
from workers.core.settings import Settings


def on_async_client(settings: Settings, use: Callable[[AsyncRedis], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        # fifty sockets opened at once on a shared machine: connecting is not what these tests measure
        patient = settings.model_copy(update={"redis_timeout": 10.0})
        client = connect_async(patient, patient.redis_timeout, max_connections=50)
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(run())
