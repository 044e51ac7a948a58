"""The fast success end (workers/rq_seam/fast_end.py) leaves in Redis what RQ's own success end leaves.

Each case runs one job to success twice on a fresh Redis, once through RQ's end (the fast
path switched off) and once through the fast one, and compares every key, field by field:
type, TTL and content, with the job's id, the execution's id and the timestamps of the run
left out (they differ between any two runs).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import ResponseError
from rq.job import JobStatus
from rq.utils import utcformat

from service.settings import ServiceSettings
from workers.core.connection import connect
from workers.jobs.spec import JobSpec
from workers.jobs.submit import submit
from workers.rq_seam.end_batch import LATE, RECORDED, RQ_PATH, EndBatches, EndBlock
from workers.rq_seam.job import TaskJob
from workers.rq_seam.queue import get_queue
from workers.rq_seam.worker import ServiceWorker
from workers.runner import RUNNER_PATH
from workers.tasks.registry import RetryPolicy

WORKER = "w"
# When each was written: differs between two runs of one job.
JOB_TIMES = {"created_at", "enqueued_at", "started_at", "ended_at", "last_heartbeat"}
RUN_TIMES = ("started_at", "ended_at", "last_heartbeat")  # set by the run, written by its end
RESULT_TIMES = {"execution_started_at", "execution_ended_at", "execution_id"}
EVENT_TIMES = {"at", "duration"}
CALLBACK_TIMES = {"delivery_id", "created_at", "next_attempt_at"}
WORKER_FIELDS = {"successful_job_count", "failed_job_count"}  # the rest is the worker's own life
TIMING_METRICS = ("rqs:metrics:task_run_seconds", "rqs:metrics:task_queue_wait_seconds")
UUID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def by_submit(**options: Any) -> Callable[[Redis, ServiceSettings], str]:
    def enqueue(redis: Redis, settings: ServiceSettings) -> str:
        spec = JobSpec(task="tests.echo", args=[{"a": [1, 2.5, "x"]}], queue="default", **options)
        return submit(redis, settings, spec).job.id

    return enqueue


def by_rq_enqueue(redis: Redis, settings: ServiceSettings) -> str:
    """A job RQ wrote itself (no result: the task returns None)."""
    job = get_queue("default", redis).enqueue_call(RUNNER_PATH, args=["tests.echo", [], {}], result_ttl=600)
    return str(job.id)


def by_other_writer(redis: Redis, settings: ServiceSettings) -> str:
    """A job another program wrote, without fields RQ writes for every job: its end writes them, as RQ's does."""
    job = get_queue("default", redis).enqueue_call(RUNNER_PATH, args=["tests.echo", [], {}], result_ttl=600)
    redis.hdel(job.key, "group_id", "stopped_callback_name", "last_heartbeat")
    return str(job.id)


def by_dependency(redis: Redis, settings: ServiceSettings) -> str:
    """A job that waited for another: it keeps the key of its dependencies, which its end gives a TTL."""
    queue = get_queue("default", redis)
    parent = queue.enqueue_call(RUNNER_PATH, args=["tests.echo", ["parent"], {}])
    return str(queue.enqueue_call(RUNNER_PATH, args=["tests.echo", ["child"], {}], depends_on=parent).id)


CASES: dict[str, Callable[[Redis, ServiceSettings], str]] = {
    "submitted": by_submit(),
    "retry policy": by_submit(retry=RetryPolicy(max=2, backoff=(1, 5))),
    "kept forever": by_submit(result_ttl=-1),
    "schedule-run ttl": by_submit(result_ttl=10 * 365 * 86_400),
    "callback": by_submit(callback_url="https://hooks.example.com/done"),
    "rq enqueue": by_rq_enqueue,
    "another writer": by_other_writer,
    "after a dependency": by_dependency,
    "async task": lambda redis, settings: (
        submit(redis, settings, JobSpec(task="tests.async_double", args=[21], queue="default")).job.id
    ),
}


def run_one(settings: ServiceSettings, fast: bool) -> dict[str, dict[str, str]]:
    """Drain the queue; returns the jobs whose end the fast path recorded, with the run's fields as they
    were in memory when it did (the times are left out of the comparison with RQ's end)."""
    connection = connect(settings)
    worker = ServiceWorker([get_queue("default", connection)], connection=connection, name=WORKER)
    recorded: dict[str, dict[str, str]] = {}
    fast_end = worker.fast_ends.record_success

    def record_success(worker: ServiceWorker, job: TaskJob, execution: Any) -> bytes | None:
        verdict = fast_end(worker, job, execution) if fast else None
        if verdict == RECORDED:
            recorded[job.id] = {name: utcformat(getattr(job, name)) for name in RUN_TIMES}
        return verdict

    worker.fast_ends.record_success = record_success  # type: ignore[method-assign]
    worker.work(burst=True)
    connection.close()
    return recorded


def snapshot(redis: Redis, job_id: str) -> dict[str, Any]:
    """Every key but the worker's own bookkeeping, with ids and run timestamps left out."""
    found: dict[str, Any] = {}
    for raw_key in redis.scan_iter():
        key = named(raw_key, job_id)
        kind = redis.type(raw_key).decode()
        if key.startswith("rq:worker") and key != f"rq:worker:{WORKER}":
            continue  # the registration of workers (birth, death), not the job's end
        ttl = redis.ttl(raw_key)
        found[key] = (kind, ttl if ttl < 0 else round(ttl, -1), content(redis, raw_key, kind, key, job_id))
    return found


def content(redis: Redis, raw_key: bytes, kind: str, key: str, job_id: str) -> Any:
    if kind == "hash":
        return hash_content(redis.hgetall(raw_key), key, job_id)
    if kind == "stream":
        return [entry(fields, job_id) for _, fields in redis.xrange(raw_key)]
    if kind == "zset":
        scored = redis.zrange(raw_key, 0, -1, withscores=True)
        return sorted((named(m, job_id), None if key == "rqs:callbacks:due" else score_kind(s)) for m, s in scored)
    if kind == "set":
        return sorted(named(m, job_id) for m in redis.smembers(raw_key))
    if kind == "list":
        return [named(item, job_id) for item in redis.lrange(raw_key, 0, -1)]
    return named(redis.get(raw_key) or b"", job_id)


def hash_content(fields: dict[bytes, bytes], key: str, job_id: str) -> dict[str, Any]:
    text = {named(f, job_id): v for f, v in fields.items()}
    if key == f"rq:worker:{WORKER}":
        return {f: v for f, v in text.items() if f in WORKER_FIELDS} | {"working_time": "total_working_time" in text}
    if key in TIMING_METRICS:  # which bucket a run falls in, and the sums, depend on how long it took
        series: dict[str, int] = {}
        for field, value in text.items():
            labels = json.loads(field)
            if labels[-1] != "sum":
                series[json.dumps(labels[:-1])] = series.get(json.dumps(labels[:-1]), 0) + int(value)
        return series
    left_out = JOB_TIMES if key.startswith("rq:job:") else CALLBACK_TIMES if key.startswith("rqs:callback:") else set()
    shown = {f: ("a time" if v else "") if f in left_out else named(v, job_id) for f, v in text.items()}
    if "data" in shown:
        shown["data"] = zlib.decompress(fields[b"data"]).decode()
    return shown


def entry(fields: dict[bytes, bytes], job_id: str) -> dict[str, str]:
    text = {named(f, job_id): named(v, job_id) for f, v in fields.items()}
    return {f: v if f not in RESULT_TIMES | EVENT_TIMES else "..." for f, v in text.items()}


def score_kind(score: float) -> str:
    """A registry's score is when the entry expires: forever, or some time from now."""
    return str(score) if score in (float("inf"), float("-inf")) else "a time"


def named(value: bytes, job_id: str) -> str:
    return UUID.sub("ID", value.decode(errors="replace").replace(job_id, "JOB"))


def ended_by(redis: Redis, settings: ServiceSettings, enqueue: Callable[..., str], fast: bool) -> dict[str, Any]:
    redis.flushdb()
    job_id = enqueue(redis, settings)
    recorded = run_one(settings, fast)
    assert (job_id in recorded) is fast
    if fast:  # the run's times, left out below, are the ones the run set
        stored = {name: redis.hget(TaskJob.key_for(job_id), name).decode() for name in RUN_TIMES}  # type: ignore[union-attr]
        assert stored == recorded[job_id]
    assert TaskJob.fetch(job_id, connection=redis).get_status() == JobStatus.FINISHED
    return snapshot(redis, job_id)


@pytest.mark.parametrize("case", CASES)
def test_the_fast_end_writes_what_rqs_success_end_writes(redis: Redis, settings: ServiceSettings, case: str) -> None:
    settings = settings.model_copy(update={"callback_hosts": ["hooks.example.com"]})
    expected = ended_by(redis, settings, CASES[case], fast=False)
    assert ended_by(redis, settings, CASES[case], fast=True) == expected


def test_a_job_with_dependents_ends_through_rqs_path_and_its_dependent_runs(redis: Redis, run_worker: Any) -> None:
    queue = get_queue("default", redis)
    parent = queue.enqueue_call(RUNNER_PATH, args=["tests.echo", ["parent"], {}])
    child = queue.enqueue_call(RUNNER_PATH, args=["tests.echo", ["child"], {}], depends_on=parent)
    run_worker()
    assert TaskJob.fetch(parent.id, connection=redis).return_value() == "parent"
    assert TaskJob.fetch(child.id, connection=redis).return_value() == "child"


def test_ends_sent_together_are_each_checked_and_applied_on_their_own(redis: Redis) -> None:
    """end_batch.py: of blocks that may share one script call, a late one and one with dependents write nothing."""
    batches = EndBatches(redis)
    redis.zadd("rq:wip:default", {"owned:e1": 1, "with-dependents:e2": 1})
    redis.sadd("rq:job:with-dependents:dependents", "child")

    def block(member: str, dependents: str, key: str) -> EndBlock:
        return EndBlock(["rq:wip:default", member, dependents, 1, 3, "SET", key, "written"])

    blocks = {
        "owned": block("owned:e1", "rq:job:owned:dependents", "owned"),
        "late": block("late:e3", "rq:job:late:dependents", "late"),
        "dependents": block("with-dependents:e2", "rq:job:with-dependents:dependents", "dependents"),
    }
    with ThreadPoolExecutor(len(blocks)) as pool:
        verdicts = dict(zip(blocks, pool.map(batches.send, blocks.values()), strict=True))
    assert verdicts == {"owned": RECORDED, "late": LATE, "dependents": RQ_PATH}
    assert [redis.get(key) for key in blocks] == [b"written", None, None]


def test_a_failing_command_fails_its_own_block_only_and_the_rest_of_it_is_applied(redis: Redis) -> None:
    """As in RQ's MULTI/EXEC: the other commands still apply, and the end's sender sees the error."""
    batches = EndBatches(redis)
    redis.zadd("rq:wip:default", {"a:e1": 1})
    redis.set("a-string", "x")
    commands = [4, "HSET", "a-string", "f", "v"], [3, "SET", "after", "written"]
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        batches.send(EndBlock(["rq:wip:default", "a:e1", "rq:job:a:dependents", 2, *commands[0], *commands[1]]))
    assert redis.get("after") == b"written"
    redis.zadd("rq:wip:default", {"b:e2": 1})
    assert batches.send(EndBlock(["rq:wip:default", "b:e2", "rq:job:b:dependents", 0])) == RECORDED


def test_ends_go_on_after_redis_forgot_the_script_or_dropped_the_connection(redis: Redis) -> None:
    """A restarted Redis knows no script and closed every connection: the end loads it again, on a new connection."""
    batches = EndBatches(redis)
    redis.zadd("rq:wip:default", {"a:e1": 1, "b:e2": 1, "c:e3": 1})
    assert batches.send(EndBlock(["rq:wip:default", "a:e1", "rq:job:a:dependents", 0])) == RECORDED
    redis.script_flush()
    assert batches.send(EndBlock(["rq:wip:default", "b:e2", "rq:job:b:dependents", 0])) == RECORDED
    redis.client_kill_filter(_type="normal", skipme=True)
    redis.script_flush()
    assert batches.send(EndBlock(["rq:wip:default", "c:e3", "rq:job:c:dependents", 0])) == RECORDED
