"""Recovery in seconds: the jobs of a worker that stopped beating go through RQ's abandoned-job handling.

RQ notices a dead worker's job only once the job's started-registry entry has
expired (its heartbeat TTL) and a maintenance pass runs. Here each worker keeps a
liveness key (`rqs:alive:<worker>`, LIVENESS_TTL s) alive from its heartbeat thread
while it runs jobs, in the pipeline it sends anyway, and marks its worker hash as
keeping one. Every worker tries the reap step once per beat, in the same pipeline:
one Lua call takes a short cluster-wide lock (so one worker reaps per REAP_LOCK_MS)
and, over every queue, marks the started-registry entries whose worker's liveness
key is gone as expired. Those queues then get the started-registry and
intermediate-list steps of RQ's own maintenance (retry if retries are left, else
failed with AbandonedJobError), under the queue's maintenance lock, which is
released when the step ends, also when it fails half-way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.client import Pipeline
from rq.defaults import RQ_KEY_PREFIX
from rq.queue import Queue
from rq.registry import StartedJobRegistry
from rq.worker import Worker

from workers.core.keys import ALIVE_PREFIX, REAPER_LOCK, alive_key

log = logging.getLogger(__name__)
LIVENESS_EVERY = 1.0  # seconds between a busy worker's beats (liveness key renewed, reap step tried)
LIVENESS_TTL = 3  # seconds: a worker silent this long is dead, its jobs are recovered
LIVENESS_FIELD = "liveness_ttl"  # in the worker hash: this worker keeps a liveness key
REAP_LOCK_MS = 900  # one reap step per ~second cluster-wide, whichever worker beats first
STARTED_PREFIX = StartedJobRegistry.key_template.format("")
EXECUTION_PREFIX = f"{RQ_KEY_PREFIX}:execution:"


# KEYS[1]: the reaper lock. ARGV: lock ms, now (s), rq's queue set, queue key prefix,
# started-registry key prefix, execution key prefix, worker key prefix, liveness key
# prefix, the worker-hash field that says a worker keeps a liveness key.
# An entry is dead when its execution names a worker that keeps a liveness key (or whose
# hash is gone) and that key is gone: its score becomes 0 (expired). Returns the names of
# the queues with expired entries or ids in their intermediate list.
REAP = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return {} end
local now = tonumber(ARGV[2])
local due = {}
for _, queue_key in ipairs(redis.call('SMEMBERS', ARGV[3])) do
  local name = string.sub(queue_key, string.len(ARGV[4]) + 1)
  local started = ARGV[5] .. name
  for _, entry in ipairs(redis.call('ZRANGEBYSCORE', started, '(' .. ARGV[2], '+inf')) do
    local worker = redis.call('HGET', ARGV[6] .. entry, 'worker_name')
    if worker and worker ~= '' and redis.call('EXISTS', ARGV[8] .. worker) == 0 then
      local worker_key = ARGV[7] .. worker
      if redis.call('HEXISTS', worker_key, ARGV[9]) == 1 or redis.call('EXISTS', worker_key) == 0 then
        redis.call('ZADD', started, 'XX', 0, entry)
      end
    end
  end
  if redis.call('ZCOUNT', started, '-inf', now) > 0 or redis.call('LLEN', queue_key .. ':intermediate') > 0 then
    due[#due + 1] = name
  end
end
return due
"""


def mark_alive(pipeline: Pipeline, worker_name: str) -> None:
    pipeline.set(alive_key(worker_name), 1, ex=LIVENESS_TTL)


def queue_reap(pipeline: Pipeline) -> None:
    """Add the reap step to `pipeline`; its answer is the list of queue names that need recovering."""
    script = pipeline.register_script(REAP)
    args = [
        REAP_LOCK_MS,
        time.time(),
        Queue.redis_queues_keys,
        Queue.redis_queue_namespace_prefix,
        STARTED_PREFIX,
        EXECUTION_PREFIX,
        Worker.redis_worker_namespace_prefix,
        ALIVE_PREFIX,
        LIVENESS_FIELD,
    ]
    script(keys=[REAPER_LOCK], args=args, client=pipeline)


def recover(worker: Any, queue_names: list[Any], get_queue: Any) -> None:
    """RQ's started-registry and intermediate-list maintenance for each named queue, now."""
    for raw in queue_names:
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        queue: Queue = get_queue(name, worker.connection)
        with maintenance_lock(queue) as held:
            if not held:
                continue  # a maintenance pass holds it; the next beat finds the entries again
            registry = StartedJobRegistry(
                name=queue.name, connection=queue.connection, job_class=queue.job_class, serializer=queue.serializer
            )
            registry.cleanup(exception_handlers=worker._exc_handlers)
            queue.intermediate_queue.cleanup(worker, queue)


class Recoverer:
    """Runs `recover` on a thread of its own, so a long recovery never delays the beat (and its liveness key).

    While one recovery runs, further requests are dropped: the next beat's reap step names
    the queues again if anything is left.
    """

    def __init__(self, worker: Any, get_queue: Any) -> None:
        self._worker = worker
        self._get_queue = get_queue
        self._busy = threading.Lock()

    def request(self, queue_names: list[Any]) -> None:
        if queue_names and self._busy.acquire(blocking=False):
            threading.Thread(target=self._run, args=(queue_names,), name="job-reaper", daemon=True).start()

    def _run(self, queue_names: list[Any]) -> None:
        try:
            recover(self._worker, queue_names, self._get_queue)
        except Exception:  # noqa: BLE001 - Redis away or a job gone meanwhile: the next beat tries again
            log.warning("recovering abandoned jobs failed", exc_info=True)
        finally:
            self._busy.release()


@contextmanager
def maintenance_lock(queue: Queue) -> Iterator[bool]:
    """RQ's per-queue maintenance lock, released when the block ends however it ends."""
    held = queue.acquire_maintenance_lock()
    try:
        yield held
    finally:
        if held:
            queue.release_maintenance_lock()
