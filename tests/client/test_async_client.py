"""`rqs.AsyncClient` over real HTTP: the same requests as `Client`, awaited."""

from __future__ import annotations

import asyncio

import pytest
from rqs import ApiError, AsyncClient

from tests.support.keys import ADMIN_KEY

pytestmark = pytest.mark.e2e


def test_submit_then_wait(url: str) -> None:
    async def run() -> object:
        async with AsyncClient(url, ADMIN_KEY) as rqs:
            job = await rqs.submit("tests.async_double", [21], idempotency_key="async-once")
            return (await rqs.wait(job["id"]))["result"]

    assert asyncio.run(run()) == 42


def test_many_waits_at_once(url: str) -> None:
    async def run() -> list[object]:
        async with AsyncClient(url, ADMIN_KEY) as rqs:
            jobs = (await rqs.submit_batch([{"task": "tests.echo", "args": [n]} for n in range(5)]))["jobs"]
            ended = await asyncio.gather(*(rqs.wait(job["id"]) for job in jobs))
            return [job["result"] for job in ended]

    assert asyncio.run(run()) == [0, 1, 2, 3, 4]


def test_schedules_and_catalog(url: str) -> None:
    async def run() -> tuple[bool, str]:
        async with AsyncClient(url, ADMIN_KEY) as rqs:
            await rqs.put_schedule("async-s", {"task": "tests.echo", "args": [1], "interval": 3600})
            paused = (await rqs.pause_schedule("async-s"))["paused"]
            await rqs.delete_schedule("async-s")
            return paused, (await rqs.health())["status"]

    assert asyncio.run(run()) == (True, "ok")


def test_an_error_is_an_api_error(url: str) -> None:
    async def run() -> None:
        async with AsyncClient(url, ADMIN_KEY) as rqs:
            await rqs.get_job("0" * 32)

    with pytest.raises(ApiError) as error:
        asyncio.run(run())
    assert error.value.status == 404
