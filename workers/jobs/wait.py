"""Waiting for jobs to end without holding a thread or a connection each: the web's long-polls.

The signal is unchanged: a job's results stream, which a worker writes to when a run
ends, and the job's status, which a cancel changes without writing a result. One task
per process watches every waited-on job at once: each step reads their statuses and
newest stream ids in one pipeline, wakes the waiters of ended (or vanished) jobs, then
blocks up to a second in one XREAD on all their streams, which a new result ends early.
So 500 waiters cost two Redis connections (not 500 connects at once) and no thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from redis.asyncio import Redis as AsyncRedis
from rq.job import Job, JobStatus
from rq.results import Result

from workers.jobs.submit import ENDED

WAIT_STEP = 1.0


class JobWaits:
    """Every long-poll of one process, served by one watching task on `connection`."""

    def __init__(self, connection: AsyncRedis) -> None:
        self._connection = connection
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._joining: set[str] = set()
        self._joiner: asyncio.Task[None] | None = None

    async def wait(self, job_id: str, seconds: float) -> None:
        """Return once the job has ended or is gone, or after `seconds`; Redis errors are raised.

        Only two tasks talk to Redis, so any number of waiters share their two connections: the
        watcher, and the joiner, which answers at once a job that had already ended. A job that
        ends while its waiter joins the watch is seen at the watcher's next step, within a second.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[job_id].add(waiter)
        self._joining.add(job_id)
        if self._joiner is None or self._joiner.done():
            self._joiner = asyncio.create_task(self._check_joining())
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, seconds)
        finally:
            self._forget(job_id, waiter)

    async def close(self) -> None:
        """Stop watching and close the connection (at shutdown)."""
        for task in (self._task, self._joiner):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._connection.aclose()

    def _forget(self, job_id: str, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(job_id)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[job_id]

    async def _check_joining(self) -> None:
        """Answer the waiters of jobs that ended before they joined, in one pipeline per batch."""
        while self._joining:
            batch = list(self._joining)
            self._joining.clear()
            try:
                async with self._connection.pipeline(transaction=False) as pipe:
                    for job_id in batch:
                        pipe.hget(Job.key_for(job_id), "status")
                    statuses = await pipe.execute()
            except Exception:  # noqa: BLE001 - the watcher meets the same error and answers 503
                continue
            for job_id, status in zip(batch, statuses, strict=True):
                if _has_ended(status):
                    self._resolve(job_id)

    async def _watch(self) -> None:
        """Until nobody waits: wake the waiters of ended jobs, then block on all their streams."""
        while self._waiters:
            try:
                newest = await self._wake_ended(list(self._waiters))
                if newest:
                    await self._connection.xread(newest, count=1, block=int(WAIT_STEP * 1000))
            except Exception as error:  # noqa: BLE001 - Redis gone: every waiter answers 503
                self._fail_all(error)

    async def _wake_ended(self, job_ids: list[str]) -> dict[str, bytes | str]:
        """Wake waiters of ended jobs; return the streams (and newest ids) of the others."""
        async with self._connection.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(Job.key_for(job_id), "status")
                pipe.xrevrange(Result.get_key(job_id), "+", "-", count=1)
            replies = await pipe.execute()
        newest: dict[str, bytes | str] = {}
        for job_id, status, entries in zip(job_ids, replies[::2], replies[1::2], strict=True):
            if _has_ended(status):
                self._resolve(job_id)
            else:
                newest[Result.get_key(job_id)] = entries[0][0] if entries else "0-0"
        return newest

    def _resolve(self, job_id: str) -> None:
        for waiter in self._waiters.pop(job_id, set()):
            if not waiter.done():
                waiter.set_result(None)

    def _fail_all(self, error: Exception) -> None:
        for job_id in list(self._waiters):
            for waiter in self._waiters.pop(job_id):
                if not waiter.done():
                    waiter.set_exception(error)


def _has_ended(status: bytes | str | None) -> bool:
    """Ended, or no such job (the caller's read answers 404 then)."""
    if status is None:
        return True
    try:
        return JobStatus(status.decode() if isinstance(status, bytes) else status) in ENDED
    except ValueError:  # a status this rq does not know: keep waiting, the read shows it
        return False
