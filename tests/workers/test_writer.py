"""The job writer stores what RQ's own enqueue stores, field by field, and a batch whole or not at all."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import ResponseError
from rq import Retry
from rq.job import Dependency

from workers.jobs import writer
from workers.jobs.writer import JobOptions, JobWrite
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue
from workers.runner import RUNNER_PATH

RQ_ID, OUR_ID, PARENT = "made-by-rq", "made-by-writer", "parent"
TIMESTAMPS = {b"created_at", b"enqueued_at"}  # when each was written: never equal
DUE = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


def options(job_id: str, retry_max: int = 0, at_front: bool = False) -> JobOptions:
    return JobOptions(
        job_id=job_id,
        queue="default",
        task="tests.echo",
        args=[1, "two", {"three": [3.0]}],
        kwargs={"four": None},
        description='tests.echo(1, "two")',
        meta={"task": "tests.echo", "retry_max": retry_max, "submitted_by": "ci"},
        timeout=42,
        result_ttl=300,
        failure_ttl=600,
        retry_max=retry_max,
        retry_intervals=[1, 5] if retry_max else [],
        at_front=at_front,
    )


def rq_options(job_id: str, retry_max: int = 0) -> dict[str, Any]:
    """The same request in RQ's own words."""
    ours = options(job_id, retry_max)
    return {
        "args": [ours.task, ours.args, ours.kwargs],
        "timeout": ours.timeout,
        "result_ttl": ours.result_ttl,
        "failure_ttl": ours.failure_ttl,
        "description": ours.description,
        "job_id": job_id,
        "meta": ours.meta,
        "retry": Retry(max=retry_max, interval=[1, 5]) if retry_max else None,
    }


def by_rq_enqueue(redis: Redis, **extra: Any) -> None:
    get_queue("default", redis).enqueue_call(RUNNER_PATH, **rq_options(RQ_ID, extra.pop("retry_max", 0)), **extra)


def by_rq_enqueue_at(redis: Redis) -> None:
    request = rq_options(RQ_ID)
    request["job_timeout"] = request.pop("timeout")  # enqueue_at's spelling: `timeout` is dropped
    get_queue("default", redis).enqueue_at(DUE, RUNNER_PATH, at_front=True, **request)


CASES: dict[str, tuple[Callable[[Redis], None], Callable[[], JobWrite]]] = {
    "immediate": (by_rq_enqueue, lambda: writer.enqueued(options(OUR_ID))),
    "delayed": (by_rq_enqueue_at, lambda: writer.scheduled(options(OUR_ID, at_front=True), DUE)),
    "retry": (lambda r: by_rq_enqueue(r, retry_max=2), lambda: writer.enqueued(options(OUR_ID, retry_max=2))),
    "at_front": (lambda r: by_rq_enqueue(r, at_front=True), lambda: writer.enqueued(options(OUR_ID, at_front=True))),
    "deferred": (
        lambda r: by_rq_enqueue(r, depends_on=Dependency(jobs=[PARENT], enqueue_at_front=True)),
        lambda: writer.deferred(options(OUR_ID, at_front=True), [PARENT]),
    ),
}


def snapshot(redis: Redis, job_id: str) -> dict[str, Any]:
    """Every key in Redis and what it holds, the job's id replaced by JOB and timestamps left out."""

    def named(value: bytes) -> str:
        return value.decode(errors="replace").replace(job_id, "JOB")

    found: dict[str, Any] = {}
    for key in redis.scan_iter():
        kind = redis.type(key).decode()
        if kind == "hash":
            fields = {f: v for f, v in redis.hgetall(key).items() if f not in TIMESTAMPS}
            if b"data" in fields:
                fields[b"data"] = zlib.decompress(fields[b"data"])  # equal calls, compressed by one zlib
            content: Any = {named(f): named(v) for f, v in fields.items()}
        elif kind == "list":
            content = [named(item) for item in redis.lrange(key, 0, -1)]
        elif kind == "set":
            content = sorted(named(member) for member in redis.smembers(key))
        else:  # zset: the deferred registry scores by the second of writing, like created_at
            scored = redis.zrange(key, 0, -1, withscores=True)
            content = [(named(m), s if b"deferred" not in key else None) for m, s in scored]
        found[named(key)] = (kind, redis.ttl(key), content)
    return found


def written_by(redis: Redis, write: Callable[[], None], job_id: str) -> dict[str, Any]:
    redis.flushdb()
    get_queue("default", redis).enqueue_call(RUNNER_PATH, job_id=PARENT, args=["tests.echo", [], {}])
    redis.rpush("rq:queue:default", "someone-else")  # so at_front is seen
    write()
    return snapshot(redis, job_id)


@pytest.mark.parametrize("case", CASES)
def test_the_writer_stores_what_rq_enqueue_stores(redis: Redis, case: str) -> None:
    by_rq, ours = CASES[case]
    expected = written_by(redis, lambda: by_rq(redis), RQ_ID)
    assert written_by(redis, lambda: writer.send(redis, [ours()]), OUR_ID) == expected


@pytest.mark.parametrize("case", CASES)
def test_rq_reads_back_what_the_writer_planned(redis: Redis, case: str) -> None:
    planned = CASES[case][1]()
    writer.send(redis, [planned])
    stored = TaskJob.fetch(OUR_ID, connection=redis)
    assert stored.to_dict() == planned.job(redis).to_dict()


def test_a_key_of_the_wrong_type_refuses_the_whole_batch(redis: Redis) -> None:
    """What MULTI/EXEC cannot do: its other commands would still apply."""
    redis.set("rq:queue:low", "not a list")
    batch = [writer.enqueued(options("first")), writer.enqueued(replace(options("second"), queue="low"))]
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        writer.send(redis, batch)
    assert redis.keys("rq:job:*") == []


def test_a_server_that_lost_its_scripts_gets_the_script_again(redis: Redis) -> None:
    """Sent by SHA; a restarted or SCRIPT FLUSHed server has not seen it, and must still get the job."""
    redis.script_flush()
    writer.send(redis, [writer.enqueued(options("after-flush"))])
    assert redis.lrange("rq:queue:default", 0, -1) == [b"after-flush"]
