"""Take a batch of jobs and start them in ONE Lua step, writing what RQ's start writes.

RQ starts a job in three round trips after the pop (`Job.fetch`, `prepare_execution`,
`prepare_job_execution`); our worker did it in two (a take step, then a start pipeline).
Here one atomic script pops up to `wanted` ids, queues in priority order, and for each:

- reads its hash (gone: the id is dropped, as RQ drops a job it cannot fetch);
- writes RQ 3's execution (hash, the job's execution registry, the started registry's
  `<job_id>:<execution_id>` member, the worker's execution set: `Execution.create`) and
  the job's start fields with PERSIST (`Job.prepare_for_execution`, `prepare_job_execution`);
- or, for a job of a limited task, only moves the id into its queue's intermediate list
  (as the take step did): the worker admits it through workers/limits/ and starts it then.

Atomic, so an id is never only in a client's memory: it is on its queue, in its
intermediate list, or started under an execution naming this worker, whose liveness key
the same step sets (the reaper recovers it within seconds of a kill -9). The same step
checks RQ's suspension flag (a suspended worker starts nothing, and an id BLMOVE took
goes back to the front of its queue) and writes the worker's state and heartbeat when due.
tests/workers/test_start_step.py compares what it writes, field by field, with RQ's own start.
"""

from __future__ import annotations

import calendar
import weakref
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from redis import Redis
from rq.executions import Execution, ExecutionRegistry
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.registry import StartedJobRegistry
from rq.suspension import WORKERS_SUSPENDED
from rq.utils import as_text, now, utcformat

from workers.core.held_script import HeldScript
from workers.rq_seam.reaper import EXECUTION_PREFIX

EXECUTION_REGISTRY_PREFIX = ExecutionRegistry.key_template.format("")
SUSPENDED = b"suspended"
HELD = b""  # in place of an execution id: taken into the intermediate list, not started

# KEYS: RQ's suspension flag, the worker's hash, its execution set, its liveness key,
#   then for each queue in priority order: the queue, its intermediate list, its started registry.
# ARGV: [1] ids wanted, [2] job key prefix, [3] execution key prefix, [4] execution registry
#   prefix, [5] worker name, [6] the jobs' heartbeat ttl, [7] now as the execution hash writes it
#   (float seconds), [8] now as the job hash writes it (RQ's utcformat), [9] now in whole
#   seconds (registry scores), [10] liveness ttl ('': set lately), [11] the worker's state if a
#   job starts ('': as is), [12] its state if none starts ('': as is), [13] the worker
#   heartbeat's ttl ('': not due),
#   [14] the started status, [15] queue number of an id BLMOVE already put in its intermediate
#   list (0: none), [16] that id, [17] '1' if some task is limited, [18] count n of the tasks
#   without limits, [19..18+n] their names, then one fresh execution id per job wanted.
# Answers {'suspended'} or a flat list: queue number, id, execution id ('' when held), hash.
TAKE_AND_START = """
local function queue_keys(number)
  local base = 4 + (number - 1) * 3
  return KEYS[base + 1], KEYS[base + 2], KEYS[base + 3]
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[15] ~= '0' then
    local queue, intermediate = queue_keys(tonumber(ARGV[15]))
    if redis.call('LREM', intermediate, 1, ARGV[16]) == 1 then redis.call('LPUSH', queue, ARGV[16]) end
  end
  return {'suspended'}
end
local wanted, ttl, seconds = tonumber(ARGV[1]), tonumber(ARGV[6]), tonumber(ARGV[9])
local some_limited, free = ARGV[17] == '1', {}
for i = 1, tonumber(ARGV[18]) do free[ARGV[18 + i]] = true end
local next_execution = 19 + tonumber(ARGV[18])
local STARTED = {last_heartbeat = ARGV[8], status = ARGV[14], started_at = ARGV[8], worker_name = ARGV[5]}
local taken, count, started = {}, 0, 0

-- While some task is limited, a job starts here only if its description names a task
-- without limits (`name(...)`, as the service writes it); any other is held for admission.
local function is_held(fields)
  if not some_limited then return false end
  local description = ''
  for i = 1, #fields, 2 do
    if fields[i] == 'description' then description = fields[i + 1] break end
  end
  local call = string.find(description, '(', 1, true)
  return not (call and free[string.sub(description, 1, call - 1)])
end

local function take(number, id)
  local _, intermediate, registry = queue_keys(number)
  local job_key = ARGV[2] .. id
  local fields = redis.call('HGETALL', job_key)
  if #fields == 0 then return end
  count = count + 1
  if is_held(fields) then
    redis.call('RPUSH', intermediate, id)
    taken[#taken + 1] = number; taken[#taken + 1] = id; taken[#taken + 1] = ''; taken[#taken + 1] = fields
    return
  end
  local execution_id = ARGV[next_execution]
  next_execution = next_execution + 1
  local member = id .. ':' .. execution_id
  local execution_key = ARGV[3] .. member
  local executions = ARGV[4] .. id
  redis.call('HSET', execution_key, 'id', execution_id, 'job_id', id, 'created_at', ARGV[7],
    'last_heartbeat', ARGV[7], 'worker_name', ARGV[5])
  redis.call('EXPIRE', execution_key, ttl)
  redis.call('ZADD', executions, seconds + ttl + 60, execution_id)
  redis.call('EXPIRE', executions, ttl + 60)
  redis.call('ZADD', registry, seconds + ttl, member)
  redis.call('SADD', KEYS[3], member)
  redis.call('HSET', job_key, 'last_heartbeat', ARGV[8], 'status', ARGV[14], 'started_at', ARGV[8],
    'worker_name', ARGV[5])
  redis.call('PERSIST', job_key)
  local seen = {}
  for i = 1, #fields, 2 do
    local value = STARTED[fields[i]]
    if value then fields[i + 1] = value; seen[fields[i]] = true end
  end
  for name, value in pairs(STARTED) do
    if not seen[name] then fields[#fields + 1] = name; fields[#fields + 1] = value end
  end
  started = started + 1
  taken[#taken + 1] = number; taken[#taken + 1] = id; taken[#taken + 1] = execution_id; taken[#taken + 1] = fields
end

if ARGV[15] ~= '0' then
  local number = tonumber(ARGV[15])
  local _, intermediate = queue_keys(number)
  if redis.call('LREM', intermediate, 1, ARGV[16]) == 1 then take(number, ARGV[16]) end
end
for number = 1, (#KEYS - 4) / 3 do
  local queue = queue_keys(number)
  while count < wanted do
    local id = redis.call('LPOP', queue)
    if not id then break end
    take(number, id)
  end
  if count >= wanted then break end
end
if started > 0 then
  redis.call('EXPIRE', KEYS[3], ttl + 60)
  if ARGV[10] ~= '' then redis.call('SET', KEYS[4], 1, 'EX', ARGV[10]) end
  if ARGV[11] ~= '' then redis.call('HSET', KEYS[2], 'state', ARGV[11]) end
elseif ARGV[12] ~= '' then
  redis.call('HSET', KEYS[2], 'state', ARGV[12])
end
if ARGV[13] ~= '' then
  redis.call('HSET', KEYS[2], 'last_heartbeat', ARGV[8])
  redis.call('EXPIRE', KEYS[2], ARGV[13])
  redis.call('EXPIRE', KEYS[3], ARGV[13])
end
return taken
"""


@dataclass(frozen=True)
class WorkerSide:
    """What the step writes for the worker: its keys, and its state and heartbeat when they change or are due."""

    name: str
    key: str
    executions_key: str
    alive_key: str
    alive_ttl: int | None  # None: the step set the liveness key lately, it has most of its ttl left
    state_if_started: str = ""
    state_if_none: str = ""
    heartbeat_ttl: int | None = None  # the worker hash's ttl, when its heartbeat is due


@dataclass(frozen=True)
class Limited:
    """Whether any task is limited, and the tasks that are not: while any is, a job starts in the step
    only if its description names one of `free` (a job RQ enqueued directly names the runner
    function, a long name is cut short: such jobs go through admission, which starts them if free)."""

    any: bool = False
    free: tuple[str, ...] = ()


@dataclass
class Batch:
    """The step's answer: jobs started (each with its execution), jobs held in their intermediate list."""

    started: list[tuple[Job, Queue, Execution]]
    held: list[tuple[Job, Queue]]
    suspended: bool = False


def take_and_start(
    queues: list[Queue],
    wanted: int,
    connection: Redis,
    job_class: type[Job],
    worker: WorkerSide,
    job_ttl: int,
    limited: Limited,
    moved: tuple[Queue, str] | None = None,
) -> Batch:
    """Up to `wanted` jobs (`moved`, already in its intermediate list, first), highest-priority queue first."""
    right_now = now()
    moved_number, moved_id = (queues.index(moved[0]) + 1, moved[1]) if moved is not None else (0, "")
    executions = max(wanted, 1 if moved is not None else 0)  # `moved` counts as one of the wanted
    keys = [WORKERS_SUSPENDED, worker.key, worker.executions_key, worker.alive_key]
    for queue in queues:
        keys += [queue.key, queue.intermediate_queue_key, StartedJobRegistry.key_template.format(queue.name)]
    args: list[Any] = [
        wanted,
        job_class.redis_job_namespace_prefix,
        EXECUTION_PREFIX,
        EXECUTION_REGISTRY_PREFIX,
        worker.name,
        job_ttl,
        repr(right_now.timestamp()),
        utcformat(right_now),
        calendar.timegm(right_now.utctimetuple()),
        "" if worker.alive_ttl is None else worker.alive_ttl,
        worker.state_if_started,
        worker.state_if_none,
        "" if worker.heartbeat_ttl is None else worker.heartbeat_ttl,
        JobStatus.STARTED.value,
        moved_number,
        moved_id,
        "1" if limited.any else "0",
        len(limited.free) if limited.any else 0,
        *(limited.free if limited.any else ()),
        *(uuid4().hex for _ in range(executions)),
    ]
    flat = _script(connection)(keys=keys, args=args)
    if flat and flat[0] == SUSPENDED:
        return Batch([], [], suspended=True)
    batch = Batch([], [])
    for i in range(0, len(flat), 4):
        queue, job_id, execution_id = queues[int(flat[i]) - 1], as_text(flat[i + 1]), flat[i + 2]
        job = job_class(job_id, connection=connection)
        job.restore(dict(zip(flat[i + 3][::2], flat[i + 3][1::2], strict=True)))
        if execution_id == HELD:
            batch.held.append((job, queue))
            continue
        execution = Execution(as_text(execution_id), job_id, connection=connection, worker_name=worker.name)
        execution.created_at = execution.last_heartbeat = right_now
        execution._job = job  # as Execution.create keeps it: RQ's get_current_job reads it
        batch.started.append((job, queue, execution))
    return batch


def _script(connection: Redis) -> HeldScript:
    """The step's script for this client, on a connection of its own (workers/core/held_script.py)."""
    script = _SCRIPTS.get(connection)
    if script is None:
        script = _SCRIPTS[connection] = HeldScript(connection, TAKE_AND_START)
    return script


_SCRIPTS: weakref.WeakKeyDictionary[Redis, HeldScript] = weakref.WeakKeyDictionary()


def wait_for_one(queue: Queue, connection: Redis, seconds: float) -> tuple[Queue, str] | None:
    """Block up to `seconds` for a job on `queue`; its id is moved into the intermediate list, for the step."""
    job_id = connection.blmove(queue.key, queue.intermediate_queue_key, seconds)
    return None if job_id is None else (queue, as_text(job_id))
