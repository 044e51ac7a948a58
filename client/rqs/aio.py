"""The asyncio client: the same methods as `Client`, awaited."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx2 as httpx

from rqs import api
from rqs.endpoints import Endpoints
from rqs.sync import DEFAULT_URL


class AsyncClient(Endpoints[Awaitable[Any]]):
    """`async with AsyncClient(url, key) as rqs: await rqs.submit(...)`."""

    def __init__(
        self, url: str = DEFAULT_URL, key: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None
    ):
        timeout = httpx.Timeout(10.0, read=api.MAX_SERVER_WAIT + 10.0)
        self.http = httpx.AsyncClient(base_url=url, headers=api.headers(key), timeout=timeout, transport=transport)

    async def _send(self, call: api.Call) -> Any:  # type: ignore[override]
        return api.read(await self.http.send(api.build(self.http, call)))

    async def wait(self, job_id: str, timeout: float | None = None) -> Any:
        """The job once it has ended, or as it is after `timeout` s (see `Client.wait`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = api.MAX_SERVER_WAIT if deadline is None else deadline - time.monotonic()
            job = await self._send(api.job_result(job_id, remaining))
            if job["status"] in api.ENDED or (deadline is not None and time.monotonic() >= deadline):
                return job

    async def tail(self, after: str | None = None, **filters: Any) -> AsyncIterator[Any]:
        """Job ends as they happen, until the caller stops (see `Client.tail`)."""
        cursor = after
        while True:
            page = await self.job_events(cursor, wait=api.TAIL_WAIT, **filters)
            cursor = page["cursor"]
            for end in page["events"]:
                yield end

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
