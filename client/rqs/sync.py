"""The blocking client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx

from rqs import api
from rqs.endpoints import Endpoints

DEFAULT_URL = "http://localhost:8000"


class Client(Endpoints[Any]):
    """`Client(url, key)`; every method returns the decoded JSON answer or raises `ApiError`."""

    def __init__(self, url: str = DEFAULT_URL, key: str | None = None, *, transport: httpx.BaseTransport | None = None):
        timeout = httpx.Timeout(10.0, read=api.MAX_SERVER_WAIT + 10.0)  # a long poll holds the answer up to 60 s
        self.http = httpx.Client(base_url=url, headers=api.headers(key), timeout=timeout, transport=transport)

    def _send(self, call: api.Call) -> Any:
        return api.read(self.http.send(api.build(self.http, call)))

    def wait(self, job_id: str, timeout: float | None = None) -> Any:
        """The job once it has ended (finished, failed, canceled, stopped), or as it is after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = api.MAX_SERVER_WAIT if deadline is None else deadline - time.monotonic()
            job = self._send(api.job_result(job_id, remaining))
            if job["status"] in api.ENDED or (deadline is not None and time.monotonic() >= deadline):
                return job

    def tail(self, after: str | None = None, **filters: Any) -> Iterator[Any]:
        """Job ends as they happen (`after`: a cursor to resume from), oldest first, until the caller stops.

        `filters`: task, queue, status. Each end is a dict with its `cursor`, `id`, `task`, `queue`,
        `status`, `at` and `duration`.
        """
        cursor = after
        while True:
            page = self.job_events(cursor, wait=api.TAIL_WAIT, **filters)
            cursor = page["cursor"]
            yield from page["events"]

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
