"""The seam's shortcuts in reading a job: dates parsed by `fromisoformat`, the JSON serializer resolved at once.

Both must give exactly what rq's own code gives, and rq must still call them where the seam expects.
"""

from __future__ import annotations

import inspect
import json
import zlib
from typing import Any

import pytest
import rq.job
import rq.queue
import rq.registry
import rq.results
from redis import Redis
from rq.job import Job
from rq.serializers import resolve_serializer
from rq.utils import now, str_to_date, utcformat

from workers.rq_seam.job import SERIALIZER, TaskJob
from workers.rq_seam.job_restore import parse_rq_date
from workers.rq_seam.serializer import _resolve


def job_hash_data() -> bytes:
    """A job's data as RQ stores it (compressed)."""
    return zlib.compress(json.dumps(["workers.runner.run_task", None, ["examples.noop"], {}]).encode())


def job_hash(redis: Redis, **fields: bytes) -> dict[bytes, bytes]:
    """A job's hash as Redis holds it, then with `fields` written over it."""
    job = TaskJob.create("workers.runner.run_task", args=["examples.noop"], connection=redis, serializer=SERIALIZER)
    job.enqueued_at = now()
    job.save()
    stored: dict[bytes, bytes] = redis.hgetall(job.key)  # type: ignore[assignment]
    stored.update({name.encode(): value for name, value in fields.items()})
    return stored


@pytest.mark.parametrize(
    "text",
    [utcformat(now()), "2026-12-07T09:00:00.000000Z", "2026-12-07T09:00:00Z", "2026-02-28T23:59:59.999999Z"],
)
def test_a_date_reads_as_rq_reads_it(text: str) -> None:
    assert parse_rq_date(text) == str_to_date(text)
    assert parse_rq_date(text.encode()).tzinfo == str_to_date(text).tzinfo


@pytest.mark.parametrize("text", ["2026-12-07T09:00:00.000000+02:00", "2026-12-07 09:00:00.000000Z", "yesterday"])
def test_a_date_in_another_form_fails_as_rq_fails(text: str) -> None:
    with pytest.raises(ValueError):
        str_to_date(text)
    with pytest.raises(ValueError):
        parse_rq_date(text)


def attributes(job: Job) -> dict[str, Any]:
    """Everything the job holds but its connection (and what only ours notes: `stored_in_full`)."""
    return {name: value for name, value in vars(job).items() if name not in ("connection", "stored_in_full")}


EVERY_FIELD = {  # each field RQ's restore reads, set
    "result": b'{"a": [1, 2]}',
    "exc_info": zlib.compress(b"Traceback: boom"),
    "success_callback_name": b"tests.on_success",
    "success_callback_timeout": b"5",
    "failure_callback_name": b"tests.on_failure",
    "failure_callback_timeout": b"6",
    "stopped_callback_name": b"tests.on_stop",
    "stopped_callback_timeout": b"7",
    "webhooks": json.dumps([{"url": "https://hooks.example.com/x", "job_status": "finished"}]).encode(),
    "dependency_ids": b'["a", "b"]',
    "allow_dependency_failures": b"1",
    "enqueue_at_front": b"0",
    "ttl": b"60",
    "group_id": b"g",
    "worker_name": b"w",
    "number_of_retries": b"2",
    "retries_left": b"1",
    "retry_intervals": b"[1, 5]",
    "enqueue_at_front_on_retry": b"1",
    "repeats_left": b"3",
    "repeat_intervals": b"[10]",
    "rate_limit_key": b"rl",
    "rate_limit_concurrency": b"4",
    "timeout": b"90",
    "status": b"started",
}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"started_at": b"2026-12-07T09:00:00.123456Z", "last_heartbeat": b"2026-12-07T09:00:01Z"},
        {"ended_at": b"", "created_at": b"2026-12-07T08:00:00.000001Z"},
        EVERY_FIELD,
        EVERY_FIELD | {"exc_info": b"not compressed", "result": b"not json", "meta": b"not json", "status": b""},
        EVERY_FIELD | {"webhooks": b"[{}]", "dependency_ids": b"", "dependency_id": b"older"},
        {"data": zlib.decompress(job_hash_data()), "description": b"", "origin": b""},
    ],
    ids=["as written", "dates", "empty and early", "every field", "unreadable", "older forms", "uncompressed"],
)
def test_a_job_restores_as_rqs_job_restores(redis: Redis, fields: dict[str, bytes]) -> None:
    fields = job_hash(redis, **fields)
    ours, theirs = TaskJob("j", connection=redis), Job("j", connection=redis, serializer=SERIALIZER)
    ours.restore(fields)
    theirs.restore(dict(fields))
    assert attributes(ours) == attributes(theirs)
    assert ours.enqueued_at is not None and ours.enqueued_at.tzinfo is not None


def test_a_hash_is_stored_in_full_with_every_field_rq_always_writes_and_its_data_compressed(redis: Redis) -> None:
    fields = job_hash(redis)

    def stored_in_full(hash_fields: dict[bytes, bytes]) -> bool:
        job = TaskJob("j", connection=redis)
        job.restore(hash_fields)
        return job.stored_in_full

    assert stored_in_full(fields)
    assert not stored_in_full({name: value for name, value in fields.items() if name != b"group_id"})
    assert not stored_in_full(fields | {b"data": rq.job.zlib.decompress(fields[b"data"])})
    assert not TaskJob("j", connection=redis).stored_in_full


def test_json_resolves_at_once_and_anything_else_through_rq() -> None:
    assert _resolve(SERIALIZER) is SERIALIZER is resolve_serializer(SERIALIZER)
    with pytest.raises(NotImplementedError):
        _resolve(object())
    for module in (rq.job, rq.queue, rq.registry, rq.results):
        assert module.resolve_serializer is _resolve
        assert "resolve_serializer(serializer)" in inspect.getsource(module)
