"""A run's success end in one round trip: RQ's own writes, sent as one Lua call.

RQ records a success in a WATCH/MULTI/EXEC transaction (the late-end check and its
read of the job's dependents, then some twenty-five commands, each packed, queued
and answered one by one in Python): about half of a no-op job's CPU in the worker.
Here, for the common end (no repeat left, a result kept, no rate limit), the same
RQ calls (`increment_successful_job_count`, with the metrics, event and callback
that ride on it, `increment_total_working_time`, `Job._handle_success`, `Job.cleanup`,
`cleanup_execution`) queue their commands on a `CommandRecorder` instead of a
pipeline, and one script sends them, after checking, atomically:

1. that the run still owns its job (its `<job>:<execution>` entry is in the started
   registry, as owned_end.py checks): else nothing is written and the end is late;
2. that the job has no dependents: else nothing is written and the caller records
   the end through RQ's own path, which enqueues them.

So what Redis holds after a fast end is what RQ's end writes, by construction
(tests/workers/test_fast_end.py compares the two, key by key). Every other end
(failures, retries, stops, repeats, `result_ttl=0`) takes RQ's path unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from redis import Redis
from redis.commands.core import CoreCommands
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.worker import BaseWorker

log = logging.getLogger(__name__)

RECORDED, LATE, RQ_PATH = b"ok", b"late", b"dependents"  # RQ_PATH: not this script's to record

# ARGV: the started registry's key, the run's `<job>:<execution>` member, the job's dependents
# key, the number of commands, then each command as its argument count and its arguments.
END_SCRIPT = """
if not redis.call('ZSCORE', ARGV[1], ARGV[2]) then return 'late' end
if redis.call('EXISTS', ARGV[3]) == 1 then return 'dependents' end
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local count = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + count))
  i = i + count + 1
end
return 'ok'
"""


class CommandRecorder(CoreCommands):  # type: ignore[misc]
    """Stands in for the pipeline RQ's end code writes to: keeps each command's arguments, sends nothing."""

    def __init__(self) -> None:
        self.commands: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> CommandRecorder:
        self.commands.append(args)
        return self


def fast_end_possible(job: Job, result_ttl: int) -> bool:
    """The ends the script records: no repeat to schedule, a result kept, no rate-limit slot to free."""
    return result_ttl != 0 and not job.repeats_left and not job.rate_limit_key


class FastEnds:
    """Records success ends through END_SCRIPT on the worker's connection."""

    def __init__(self, connection: Redis) -> None:
        self._script = connection.register_script(END_SCRIPT)

    def record_success(self, worker: BaseWorker, job: Job, execution: Execution) -> bytes:
        """RECORDED, LATE (nothing written: the run was handed on) or RQ_PATH (nothing written: RQ's
        own end must record it). The worker's hooks see the recorder as RQ's pipeline."""
        result_ttl = job.get_result_ttl(worker.default_result_ttl)
        if not fast_end_possible(job, result_ttl):
            return RQ_PATH
        recorder = CommandRecorder()
        worker.increment_successful_job_count(pipeline=recorder)  # type: ignore[arg-type]
        worker.increment_total_working_time(job.ended_at - job.started_at, recorder)  # type: ignore[arg-type,operator]
        job._handle_success(
            result_ttl,
            pipeline=recorder,  # type: ignore[arg-type]
            worker_name=worker.name,
            execution_id=execution.id,
            execution_started_at=execution.created_at,
            execution_ended_at=job.ended_at,
        )
        job.cleanup(result_ttl, pipeline=recorder, remove_from_queue=False)  # type: ignore[arg-type]
        worker.cleanup_execution(job, pipeline=recorder, execution=execution)  # type: ignore[arg-type]
        args: list[Any] = [job.started_job_registry.key, execution.composite_key, job.dependents_key]
        args.append(len(recorder.commands))
        for command in recorder.commands:
            args.append(len(command))
            args.extend(command)
        verdict: bytes = self._script(args=args)
        if verdict == RECORDED:
            job._status = JobStatus.FINISHED
            took = job.ended_at - job.started_at  # type: ignore[operator]
            worker.log.info("Successfully completed job %s in %ss on worker %s", job.id, took, worker.name)
        elif verdict == LATE:
            log.warning("late end of run %s dropped: the job was handed on meanwhile", execution.composite_key)
        return verdict
