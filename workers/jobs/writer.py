"""The one job writer: job hashes exactly as RQ 3.0 stores them, many jobs in one atomic call.

RQ builds a `Job` object per enqueue and sends its writes one command at a time on a
pipeline: most of the cost of a submission, and of every scheduled run. Here a job is
planned as plain data (its hash and the registry writes RQ would make for the same
request), and a whole batch goes to Redis as ONE Lua call, which

- checks the type of every key it will write before writing any, so a key of the wrong
  type refuses the whole batch (MULTI/EXEC would have applied the commands before it);
- with an idempotency key, writes the key and the job together, or answers the id of
  the job the key already names (so concurrent identical requests make one job).

The command is built once and sent by either client, sync or asyncio (`send`, `send_async`),
or queued on a caller's MULTI (`queue_on`). `tests/workers/test_writer.py` compares what is
written here, field by field, with what RQ's own enqueue writes.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import NoScriptError
from rq import Queue
from rq.job import JobStatus
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry

from workers.core.errors import JobStateError
from workers.core.shared_trips import shared_trips
from workers.rq_seam.job import SAVED_EVEN_EMPTY, SERIALIZER, TaskJob
from workers.runner import RUNNER_PATH

# A key whose job is missing and that is younger than this was written by a request that may
# still be storing its job (a web process of an older version writes the key first).
IN_FLIGHT_SECONDS = 10
JOB_PREFIX = TaskJob.redis_job_namespace_prefix
QUEUES_KEY = Queue.redis_queues_keys
ZLIB_LEVEL, ZLIB_WINDOW_BITS, ZLIB_MEMORY_LEVEL = 6, 12, 4  # zlib's default level; a 4 KB window

WRITE_SCRIPT = """
-- KEYS: every key written (the idempotency key first when guarded).
-- ARGV: guarded ('1'/'0'), the job id the idempotency key names, its ttl, the job key prefix,
--       the seconds a key without its job counts as in flight,
--       then each command as: name, index of its key in KEYS, argument count, arguments.
local guarded = ARGV[1] == '1'
if guarded then
  local existing = redis.call('GET', KEYS[1])
  if existing and redis.call('EXISTS', ARGV[4] .. existing) == 1 then return {'replay', existing} end
  if existing and redis.call('TTL', KEYS[1]) > tonumber(ARGV[3]) - tonumber(ARGV[5]) then
    return {'in-flight', existing}
  end
end
local TYPES = {HSET = 'hash', RPUSH = 'list', LPUSH = 'list', ZADD = 'zset', SADD = 'set'}
local commands, checked, i = {}, {}, 6
while i <= #ARGV do
  local name, key, count = ARGV[i], KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2])
  if not checked[key] then
    local kind = redis.call('TYPE', key)['ok']
    if kind ~= 'none' and kind ~= TYPES[name] then
      return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. kind .. ': nothing of this batch was written')
    end
    checked[key] = true
  end
  commands[#commands + 1] = {name, key, i + 3, count}
  i = i + 3 + count
end
if guarded then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
for _, c in ipairs(commands) do
  redis.call(c[1], c[2], unpack(ARGV, c[3], c[3] + c[4] - 1))
end
return false
"""

SCRIPT_SHA = hashlib.sha1(WRITE_SCRIPT.encode()).hexdigest()


@dataclass(frozen=True)
class JobOptions:
    """Everything a job's hash holds, with every default already applied."""

    job_id: str
    queue: str
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    description: str
    meta: dict[str, Any]
    timeout: int
    result_ttl: int
    failure_ttl: int
    retry_max: int
    retry_intervals: list[int]
    at_front: bool = False


@dataclass(frozen=True)
class JobWrite:
    """One planned job: its hash and the commands that store and place it, as RQ would."""

    options: JobOptions
    status: JobStatus
    mapping: dict[str, Any]
    commands: tuple[tuple[str, str, tuple[Any, ...]], ...]
    scheduled_for: datetime | None = None
    enqueued_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.options.job_id

    @property
    def queue(self) -> str:
        return self.options.queue

    @property
    def task(self) -> str:
        return self.options.task

    def job(self, connection: Redis) -> TaskJob:
        """The job as `Job.fetch` would read it back, without reading it back."""
        job = TaskJob(self.id, connection=connection)
        job.restore(
            {key: value if isinstance(value, bytes) else str(value).encode() for key, value in self.mapping.items()}
        )
        return job


@dataclass(frozen=True)
class Guard:
    """An idempotency key: written with the job, or naming the job a first request wrote."""

    key: str
    job_id: str
    ttl: int


def enqueued(options: JobOptions) -> JobWrite:
    """A job on its queue now (RQ: `Queue.enqueue_call`)."""
    mapping = _mapping(options, JobStatus.QUEUED)
    enqueued_at = datetime.now(UTC)
    mapping["enqueued_at"] = rq_time(enqueued_at)
    queue_key = Queue.redis_queue_namespace_prefix + options.queue
    push = "LPUSH" if options.at_front else "RPUSH"
    commands = (
        ("SADD", QUEUES_KEY, (queue_key,)),
        ("HSET", TaskJob.key_for(options.job_id), _flat(mapping)),
        (push, queue_key, (options.job_id,)),
    )
    return JobWrite(options, JobStatus.QUEUED, mapping, commands, enqueued_at=enqueued_at)


def scheduled(options: JobOptions, due: datetime) -> JobWrite:
    """A job in its queue's scheduled registry until `due` (RQ: `Queue.enqueue_at`); whole seconds, as RQ stores."""
    mapping = _mapping(options, JobStatus.SCHEDULED)
    if options.at_front:
        mapping["enqueue_at_front"] = 1
    score = calendar.timegm(due.utctimetuple())
    commands = (
        ("SADD", QUEUES_KEY, (Queue.redis_queue_namespace_prefix + options.queue,)),
        ("HSET", TaskJob.key_for(options.job_id), _flat(mapping)),
        ("ZADD", ScheduledJobRegistry.key_template.format(options.queue), (score, options.job_id)),
    )
    return JobWrite(options, JobStatus.SCHEDULED, mapping, commands, datetime.fromtimestamp(score, UTC))


def deferred(options: JobOptions, depends_on: list[str]) -> JobWrite:
    """A job waiting for unfinished dependencies (RQ: `enqueue_call(depends_on=Dependency(...))`)."""
    mapping = _mapping(options, JobStatus.DEFERRED)
    mapping["dependency_id"] = depends_on[0]
    mapping["dependency_ids"] = json.dumps(depends_on)
    mapping["allow_dependency_failures"] = 0
    mapping["enqueue_at_front"] = int(options.at_front)
    job_id = options.job_id
    commands = (
        ("HSET", TaskJob.key_for(job_id), _flat(mapping)),
        ("ZADD", DeferredJobRegistry.key_template.format(options.queue), (int(time.time()), job_id)),
        *(("SADD", TaskJob.dependents_key_for(dependency), (job_id,)) for dependency in depends_on),
        ("SADD", f"{JOB_PREFIX}:{job_id}:dependencies", tuple(depends_on)),  # rq's own key, double colon and all
        ("SADD", QUEUES_KEY, (Queue.redis_queue_namespace_prefix + options.queue,)),
    )
    return JobWrite(options, JobStatus.DEFERRED, mapping, commands)


def _mapping(options: JobOptions, status: JobStatus) -> dict[str, Any]:
    """The fields `Job.to_dict` writes for such a job (rq/job.py), in JSON."""
    call = (RUNNER_PATH, None, [options.task, options.args, options.kwargs], {})
    mapping: dict[str, Any] = dict.fromkeys(SAVED_EVEN_EMPTY, "")
    mapping["created_at"] = rq_time(datetime.now(UTC))
    mapping["data"] = compressed(SERIALIZER.dumps(call))
    if options.retry_max:
        mapping["retries_left"] = options.retry_max
        mapping["retry_intervals"] = json.dumps(options.retry_intervals)
    mapping["origin"] = options.queue
    mapping["description"] = options.description
    mapping["timeout"] = options.timeout
    mapping["result_ttl"] = options.result_ttl
    mapping["failure_ttl"] = options.failure_ttl
    mapping["status"] = status.value
    mapping["meta"] = SERIALIZER.dumps(options.meta)
    return mapping


def compressed(data: bytes) -> bytes:
    """zlib data any `zlib.decompress` reads (RQ's, rq-dashboard's), compressed with a 4 KB window.

    `zlib.compress` at its defaults sets up some 300 KB of window and tables per call:
    tens of microseconds for a job's call of a hundred bytes, more than the rest of its
    plan. A job's call is small (at most 128 KB of arguments), and this costs a few.
    """
    packer = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, ZLIB_WINDOW_BITS, ZLIB_MEMORY_LEVEL)
    return packer.compress(data) + packer.flush()


def _flat(mapping: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(chain.from_iterable(mapping.items()))


def rq_time(moment: datetime) -> str:
    """rq's `utcformat` of a UTC time (2026-01-02T03:04:05.000006Z), without strftime's cost."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def command(writes: list[JobWrite], guard: Guard | None = None) -> list[Any]:
    """The one EVAL that writes every job of `writes` (and the idempotency key), or none of them."""
    keys: dict[str, int] = {}
    if guard is not None:
        keys[guard.key] = 1
        head: list[Any] = ["1", guard.job_id, guard.ttl, JOB_PREFIX, IN_FLIGHT_SECONDS]
    else:
        head = ["0", "", 0, JOB_PREFIX, 0]
    body: list[Any] = []
    for write in writes:
        for name, key, args in write.commands:
            index = keys.setdefault(key, len(keys) + 1)
            body.extend((name, index, len(args), *args))
    return ["EVAL", WRITE_SCRIPT, len(keys), *keys, *head, *body]


def send(connection: Redis, writes: list[JobWrite], guard: Guard | None = None) -> str | None:
    """Write `writes` now; with `guard`, the id of the job its key already names (nothing written) or None.

    By the script's SHA (a request then carries its arguments only); a server that has not
    seen the script yet (restarted, flushed) gets it whole once.
    """
    call = command(writes, guard)
    try:
        return existing(connection.execute_command("EVALSHA", SCRIPT_SHA, *call[2:]))
    except NoScriptError:
        return existing(connection.execute_command(*call))


async def send_async(connection: AsyncRedis, writes: list[JobWrite], guard: Guard | None = None) -> str | None:
    """`send`, on the asyncio client, sharing its round trip with other requests' (workers/core/shared_trips.py)."""
    call = command(writes, guard)
    trips = shared_trips(connection)
    try:
        return existing(await trips.execute("EVALSHA", SCRIPT_SHA, *call[2:]))
    except NoScriptError:
        return existing(await trips.execute(*call))


def queue_on(pipeline: Any, writes: list[JobWrite], guard: Guard | None = None) -> None:
    """Add the write to a MULTI the caller executes (sync or asyncio pipeline); its reply is `existing`'s."""
    pipeline.execute_command(*command(writes, guard))


def existing(reply: Any) -> str | None:
    """The job id a guarded write answered, None when it wrote."""
    if not reply:
        return None
    outcome, job_id = (part.decode() if isinstance(part, bytes) else str(part) for part in reply)
    if outcome == "in-flight":
        raise JobStateError("a request with this Idempotency-Key is still in progress; retry shortly")
    return job_id
