"""A run's success end in one round trip: what RQ's success end writes, as one block of commands.

RQ records a success in a WATCH/MULTI/EXEC transaction: the late-end check and its read
of the job's dependents, then some twenty-five commands built through RQ's objects
(a `Result`, registries, the execution) and packed, queued and answered one by one by
redis-py. For a no-op job that was about half of the worker's CPU. For the common end
(no repeat left, a result kept, no rate-limit slot) this module builds the same writes
directly as plain command tuples, in RQ 3.0's order:

- the worker's counters, with what rides on them here (the end's event, the job's
  callback: the worker's own `increment_successful_job_count` hooks, fed a
  `CommandRecorder` in place of RQ's pipeline), and its total working time; the run's
  metrics are not among them: they count once the end is RECORDED, in the worker's
  tally, written with its beat (workers/observability/tally.py);
- the job's hash as `Job.save` writes it (without meta), status `finished`: only the
  fields a run changes, when the hash was stored in full (`_saved_fields`);
- the result (RQ 3's `Result` stream entry) with its TTL, the finished registry entry
  (RQ's TTL semantics: -1 is forever), the job's TTLs (`Job.cleanup`);
- the run's execution removed (`cleanup_execution`).

end_batch.py sends the block, with others finishing at the same time, and applies it
only while the run still owns its job and the job has no dependents. So Redis ends up
holding what RQ's end leaves: tests/workers/test_fast_end.py compares both, key by key.
Every other end (failures, retries, stops, repeats, `result_ttl=0`, dependents) takes
RQ's path unchanged.
"""

from __future__ import annotations

import logging
import time
from base64 import b64encode
from typing import Any

from redis import Redis
from redis.commands.core import CoreCommands
from rq.defaults import UNSERIALIZABLE_RETURN_VALUE_PAYLOAD
from rq.executions import Execution, ExecutionRegistry
from rq.job import Job, JobStatus
from rq.results import Result
from rq.utils import utcformat
from rq.worker import BaseWorker

from workers.rq_seam.end_batch import LATE, RECORDED, EndBatches, EndBlock

log = logging.getLogger(__name__)
RESULTS_KEPT = 10  # RQ's `Result.save`: XADD MAXLEN ~ 10
SUCCESSFUL = Result.Type.SUCCESSFUL.value


class CommandRecorder(CoreCommands):  # type: ignore[misc]
    """Stands in for the pipeline RQ's end hooks write to: keeps each command's arguments, sends nothing."""

    def __init__(self) -> None:
        self.commands: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> CommandRecorder:
        self.commands.append(args)
        return self


def fast_end_possible(job: Job, result_ttl: int) -> bool:
    """The ends recorded here: no repeat to schedule, a result kept, no rate-limit slot to free."""
    return result_ttl != 0 and not job.repeats_left and not job.rate_limit_key


def success_commands(worker: BaseWorker, job: Job, execution: Execution, result_ttl: int) -> list[tuple[Any, ...]]:
    """RQ's `handle_job_success` writes for a job with no dependents and no repeat, in its order."""
    recorder = CommandRecorder()
    worker.increment_successful_job_count(pipeline=recorder)  # type: ignore[arg-type]
    commands = recorder.commands
    seconds = (job.ended_at - job.started_at).total_seconds()  # type: ignore[operator]
    commands.append(("HINCRBYFLOAT", worker.key, "total_working_time", seconds))
    job._status = JobStatus.FINISHED
    commands.append(("HSET", job.key, *_saved_fields(job)))
    commands += _result_commands(worker, job, execution, result_ttl)
    finished = "+inf" if result_ttl == -1 else (result_ttl if result_ttl < 0 else int(time.time()) + result_ttl)
    commands.append(("ZADD", job.finished_job_registry.key, finished, job.id))
    if result_ttl > 0:  # `Job.cleanup`: a negative TTL leaves the keys as they are. It expires the
        # dependents key too, but end_batch.py applies this block only where that key does not exist;
        # and the dependencies key exists only for a job enqueued with dependencies
        commands.append(("EXPIRE", job.key, result_ttl))
        if job._dependency_ids:
            commands.append(("EXPIRE", job.dependencies_key, result_ttl))
    commands += [
        ("DEL", execution.key),
        ("ZREM", job.started_job_registry.key, execution.composite_key),
        ("ZREM", ExecutionRegistry.key_template.format(job.id), execution.id),
    ]
    if execution.worker_name:
        commands.append(("SREM", execution.worker_executions_key, execution.composite_key))
    return commands


def _saved_fields(job: Job) -> list[Any]:
    """What `Job.save(include_meta=False, include_result=False)` writes that the stored hash lacks.

    `Job.to_dict` writes back every field it restored, unchanged, and the fields a run
    sets: its status, its start (`perform_job` sets it again), its end, its heartbeat and
    its worker. For a hash stored in full (every field to_dict always writes is there, as
    RQ and this service write jobs) those five are the difference, a fifth of the fields;
    any other hash gets to_dict's whole mapping, as RQ writes it. (A field another program
    stored in a form RQ reads the same, a timeout "3m", stays in that form here.)
    """
    if not getattr(job, "stored_in_full", False):
        saved = job.to_dict(include_meta=False, include_result=False)
        return [item for pair in saved.items() for item in pair]
    heartbeat = job.last_heartbeat
    return [
        "status",
        job._status.value,
        "started_at",
        utcformat(job.started_at),  # type: ignore[arg-type]
        "ended_at",
        utcformat(job.ended_at),  # type: ignore[arg-type]
        "last_heartbeat",
        utcformat(heartbeat) if heartbeat else "",
        "worker_name",
        job.worker_name or "",
    ]


def _result_commands(worker: BaseWorker, job: Job, execution: Execution, ttl: int) -> list[tuple[Any, ...]]:
    """RQ 3's `Result.create(...SUCCESSFUL...)`: one stream entry, the stream's TTL."""
    fields: list[Any] = ["type", SUCCESSFUL, "worker_name", worker.name]
    value = job._result
    if value is not None:
        try:
            serialized = job.serializer.dumps(value)
        except Exception:  # noqa: BLE001 - RQ stores this placeholder for a value it cannot serialize
            serialized = job.serializer.dumps(UNSERIALIZABLE_RETURN_VALUE_PAYLOAD)
        fields += ["return_value", b64encode(serialized).decode()]
    fields += ["execution_id", execution.id, "execution_started_at", execution.created_at.timestamp()]
    fields += ["execution_ended_at", job.ended_at.timestamp()]  # type: ignore[union-attr]
    key = Result.get_key(job.id)
    expiry = ("PERSIST", key) if ttl == -1 else ("EXPIRE", key, ttl)
    return [("XADD", key, "MAXLEN", "~", RESULTS_KEPT, "*", *fields), expiry]


class FastEnds:
    """Records success ends on the worker's connection, those finishing together in one call (end_batch.py)."""

    def __init__(self, connection: Redis) -> None:
        self._batches = EndBatches(connection)

    def record_success(self, worker: BaseWorker, job: Job, execution: Execution) -> bytes | None:
        """RECORDED, LATE (nothing written: the run was handed on) or None: RQ's own end must record it
        (nothing was written: the job has dependents, a repeat, no result kept or a rate limit)."""
        result_ttl = job.get_result_ttl(worker.default_result_ttl)
        if not fast_end_possible(job, result_ttl):
            return None
        commands = success_commands(worker, job, execution, result_ttl)
        args: list[Any] = [job.started_job_registry.key, execution.composite_key, job.dependents_key, len(commands)]
        for command in commands:
            args.append(len(command))
            args.extend(command)
        verdict = self._batches.send(EndBlock(args))
        if verdict == RECORDED:
            worker.executions.pop(execution.id, None)
            took = job.ended_at - job.started_at  # type: ignore[operator]
            worker.log.info("Successfully completed job %s in %ss on worker %s", job.id, took, worker.name)
            return verdict
        if verdict == LATE:
            log.warning("late end of run %s dropped: the job was handed on meanwhile", execution.composite_key)
            return verdict
        return None
