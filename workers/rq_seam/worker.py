"""The service's RQ worker: RQ's SimpleWorker with its concerns attached at RQ's own hooks.

No fork per job (the fork, not the task, is where plain RQ spends its time). Each
concern is a collaborator called from the methods below, the way dramatiq attaches
middleware: metering (workers/worker/metering.py), the running job's heartbeat
(workers/worker/heartbeat.py), stop and shutdown grace (workers/worker/shutdown.py).
Every RQ method overridden here, and every private RQ name used, is pinned by
tests/workers/test_rq_seam.py.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Retry, SimpleWorker
from rq.exceptions import InvalidJobOperation
from rq.job import Job
from rq.queue import Queue

from workers.observability.metrics import FINISHED
from workers.rq_seam.job import SERIALIZER, TaskJob
from workers.rq_seam.queue import ReliableQueue
from workers.worker import shutdown
from workers.worker.heartbeat import HEARTBEAT_TTL, JobHeartbeat
from workers.worker.metering import JobMeter, count_abandoned, failure_outcome, retry_outcome

log = logging.getLogger(__name__)
MAINTENANCE_INTERVAL = 10
WORKER_TTL = 25  # an idle worker heartbeats (and maybe runs maintenance) every WORKER_TTL - 15 s
DEFAULT_SHUTDOWN_GRACE = 25.0


class ServiceWorker(SimpleWorker):
    """Runs only registered tasks (JSON, TaskJob), never loses a dequeued job, stops jobs on request."""

    queue_class = ReliableQueue

    def __init__(
        self, queues: list[Queue], connection: Redis, shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE, **kwargs: Any
    ) -> None:
        kwargs.setdefault("serializer", SERIALIZER)
        kwargs.setdefault("job_class", TaskJob)
        kwargs.setdefault("queue_class", ReliableQueue)
        kwargs.setdefault("log_job_description", False)  # descriptions carry args: keep them out of logs
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        super().__init__(queues, connection=connection, **kwargs)
        self.meter = JobMeter()
        self.job_heartbeat = JobHeartbeat(self)
        self.grace = shutdown.ShutdownGrace(shutdown_grace)
        self.stop_signalled = False  # tells work_until_stopped not to start another worker
        self.push_exc_handler(count_abandoned)

    # Signals, stop and shutdown

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        shutdown.on_interrupt(self.get_current_job_id)

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop_signalled = True
        super().request_stop(signum, frame)

    def kill_horse(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """There is no horse: interrupt the job running in this process instead."""
        shutdown.interrupt_main_thread()

    def handle_warm_shutdown_request(self) -> None:
        """Let the running job finish within the grace period, else interrupt and requeue it."""
        super().handle_warm_shutdown_request()
        job_id = self.get_current_job_id()
        if job_id is not None:
            self.grace.start(job_id)

    # A job's run

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # Every dequeue goes through an intermediate list here, not only single-queue ones.
        super().prepare_job_execution(job, remove_from_intermediate_queue=True)
        self.meter.started(job)

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        with self.job_heartbeat.running(job, execution):
            return super().perform_job(job, queue, execution)  # type: ignore[no-any-return]

    # A run's end: the outcome is noted before RQ forgets why, and rides on RQ's pipeline

    def handle_job_success(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        with self.meter.ending(job, FINISHED):
            super().handle_job_success(job, queue, *args, **kwargs)

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        requeue = self.grace.take_requeue()
        with self.meter.ending(job, self.failure_outcome(job, interrupted=requeue)):
            super().handle_job_failure(job, queue, *args, **kwargs)
        if requeue:
            self._put_back(job, queue)

    def handle_job_retry(self, job: Job, queue: Queue, retry: Retry, *args: Any, **kwargs: Any) -> None:
        with self.meter.ending(job, retry_outcome(job, retry)):
            super().handle_job_retry(job, queue, retry, *args, **kwargs)

    def failure_outcome(self, job: Job, interrupted: bool = False) -> str:
        return failure_outcome(job, stopped=self._stopped_job_id == job.id, interrupted=interrupted)

    def increment_successful_job_count(self, pipeline: Pipeline | None = None) -> None:
        super().increment_successful_job_count(pipeline)
        self.meter.record(pipeline)

    def increment_failed_job_count(self, pipeline: Pipeline | None = None) -> None:
        super().increment_failed_job_count(pipeline)
        self.meter.record(pipeline)

    def _put_back(self, job: Job, queue: Queue) -> None:
        try:
            queue.failed_job_registry.requeue(job, at_front=True)
        except InvalidJobOperation:
            return  # it had retries left and is already scheduled again
        log.info("job %s requeued after shutdown", job.id)
