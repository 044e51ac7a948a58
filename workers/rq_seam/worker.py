"""The service's RQ worker: RQ's SimpleWorker running up to `concurrency` jobs at once.

No fork per job (the fork, not the task, is where plain RQ spends its time). RQ's own
loop dequeues; `execute_job` hands each job to the engine (workers/worker/engine.py:
worker threads, one event loop for async tasks, deadlines, stops) and returns as soon
as another job may start. RQ's `perform_job` and its end handlers run unchanged in the
job's thread, but for the common success end, which goes to Redis as one Lua call
(workers/rq_seam/fast_end.py: the same writes, checked the same way). Each concern is
a collaborator called from the methods below, the way dramatiq attaches middleware:
metering (workers/worker/metering.py: its metrics are written once per beat), the
worker's beat (workers/worker/heartbeat.py) with its liveness key and reap step
(workers/rq_seam/reaper.py).
Every RQ method overridden here, and every private RQ name used, is pinned by
tests/workers/test_rq_seam.py.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Retry, SimpleWorker, worker_registration
from rq.command import parse_payload
from rq.exceptions import InvalidJobOperation
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.registry import clean_registries
from rq.timeouts import BaseDeathPenalty
from rq.utils import now
from rq.worker import WorkerStatus

from workers.callbacks.ending import CallbackOnEnd, queue_for_abandoned
from workers.core.keys import alive_key
from workers.limits import gate as limits
from workers.observability.metrics import FINISHED
from workers.observability.tally import write as write_tally
from workers.rq_seam.end_batch import RECORDED
from workers.rq_seam.fast_end import FastEnds
from workers.rq_seam.job import SERIALIZER, TaskJob
from workers.rq_seam.owned_end import LateEnd, OwnedEnds
from workers.rq_seam.queue import IDLE_POLL, ReliableQueue, get_queue
from workers.rq_seam.reaper import (
    LIVENESS_EVERY,
    LIVENESS_FIELD,
    LIVENESS_TTL,
    Recoverer,
    maintenance_lock,
    mark_alive,
    queue_reap,
)
from workers.rq_seam.start_step import Batch, Limited, WorkerSide, take_and_start, wait_for_one
from workers.rq_seam.worker_log import RoutineInfoSkipped
from workers.tasks.registry import registry
from workers.worker.engine import INTERRUPTED, STOPPED, JobEngine, Slot
from workers.worker.heartbeat import HEARTBEAT_TTL, JobHeartbeat
from workers.worker.metering import JobMeter, count_abandoned, failure_outcome, retry_outcome

log = logging.getLogger(__name__)
MAINTENANCE_INTERVAL = 10
WORKER_TTL = 25  # an idle worker heartbeats (and maybe runs maintenance) every WORKER_TTL - 15 s
DEFAULT_SHUTDOWN_GRACE = 25.0
WORKER_HEARTBEAT_EVERY = 5.0  # the worker key lives WORKER_TTL + 60 s, so beats this far apart are plenty
GATHER_FOR = 0.001  # seconds a take may wait for half the slots to be free while jobs are waiting
DEFAULT_CONCURRENCY = 8  # as dramatiq's default worker threads; settings.worker_concurrency overrides it


class EngineDeadlines(BaseDeathPenalty):
    """RQ's timeout hook, left empty: SIGALRM reaches only the main thread; the engine enforces deadlines."""

    def setup_death_penalty(self) -> None:
        pass

    def cancel_death_penalty(self) -> None:
        pass


class ServiceWorker(SimpleWorker):
    """Runs only registered tasks (JSON, TaskJob), several at once, never loses a dequeued job."""

    queue_class = ReliableQueue
    death_penalty_class = EngineDeadlines
    log_result_lifespan = False  # RQ's "result is kept" line per job: routine, never shown at INFO

    def __init__(
        self,
        queues: list[Queue],
        connection: Redis,
        shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE,
        concurrency: int = DEFAULT_CONCURRENCY,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("serializer", SERIALIZER)
        kwargs.setdefault("job_class", TaskJob)
        kwargs.setdefault("queue_class", ReliableQueue)
        kwargs.setdefault("log_job_description", False)  # descriptions carry args: keep them out of logs
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        super().__init__(queues, connection=connection, **kwargs)
        self.log = RoutineInfoSkipped(self.log)  # type: ignore[assignment]
        self.meter = JobMeter()
        self.callbacks = CallbackOnEnd()
        self.engine = JobEngine(
            concurrency,
            run=self._perform_slot,
            on_abandon=self._finish_abandoned,
            prefetch=concurrency if concurrency > 1 else 0,  # 1: RQ's one job at a time, none taken ahead
        )
        self.job_heartbeat = JobHeartbeat(self.engine.running, self.renew_heartbeats)
        self.recoverer = Recoverer(self, get_queue)
        self.shutdown_grace = shutdown_grace
        self.stop_signalled = False  # tells work_until_stopped not to start another worker
        self._ready: deque[tuple[Job, Queue]] = deque()  # taken and started, not yet handed to the engine
        self._started: dict[str, Execution] = {}  # job id -> its execution, created with the batch
        self._limits: dict[str, limits.Holder] = {}  # job id -> its limit slot, admitted with the batch
        self._heartbeat_due = 0.0
        self._backlog = False  # the last take got all it asked for: more are likely waiting
        self._alive_set_at = -LIVENESS_EVERY  # the take step renews the liveness key at most every LIVENESS_EVERY s
        self._failure_lock = threading.Lock()  # RQ reads its one `_stopped_job_id` while it records a failure
        # A run handed on elsewhere records no end (owned_end.py); one recorded counts in the metrics.
        self.owned_ends = OwnedEnds(self.connection, on_recorded=self.meter.committed)
        self.fast_ends = FastEnds(self.connection)  # the common success end in one round trip (fast_end.py)
        self.push_exc_handler(count_abandoned)
        self.push_exc_handler(queue_for_abandoned)

    # Signals, stop and shutdown

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop_signalled = True
        super().request_stop(signum, frame)

    def _shutdown(self) -> None:
        """A stop is noted, never raised (RQ raises `StopRequested` from the signal handler
        whenever the worker is not busy, wherever its main thread is).

        Raised just after a take step started jobs, and before the worker noted them (it
        was idle until then), it would leave them started in Redis and never run, until
        the reaper took them for a dead worker's: failed, or run again. Noted, the loop
        stops at its next step (an idle take waits at most IDLE_POLL s), and the jobs
        taken run within the shutdown grace or are put back, as any running job.
        """
        self._stop_requested = True
        self.set_shutdown_requested_date()
        if self.scheduler:
            self.stop_scheduler()

    def handle_warm_shutdown_request(self) -> None:
        """Let the running jobs finish within the grace period, else interrupt and requeue them."""
        super().handle_warm_shutdown_request()
        self.engine.begin_shutdown(self.shutdown_grace)

    def kill_horse(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """There is no horse: interrupt every job running in this process instead."""
        for slot in self.engine.running():
            self.engine.interrupt(slot.job_id, None)

    def handle_payload(self, message: Any) -> None:
        """RQ's stop-job command names a job: stop that one of the jobs in flight."""
        payload = parse_payload(message)
        if payload.get("command") == "stop-job":
            self._stop(str(payload.get("job_id")))
            return
        super().handle_payload(message)

    def request_stop_execution(self, execution_id: str) -> None:
        for slot in self.engine.running():
            if slot.execution.id == execution_id:
                self._stop(slot.job_id)
                return
        log.warning("not running execution %s, command ignored", execution_id)

    def _stop(self, job_id: str) -> None:
        if not self.engine.interrupt(job_id, STOPPED):
            log.warning("not running job %s, stop ignored", job_id)

    def teardown(self) -> None:
        # Jobs of the last batch that RQ's loop left (it stops at a SIGTERM) are started
        # already: they run within the shutdown grace like the others, or are put back.
        while self._ready:
            self._submit(*self._ready.popleft())
        self.engine.drain()  # burst mode's end, or SIGTERM: jobs in flight end (or are put back) first
        self.job_heartbeat.stop()  # waits for a beat in flight
        self.meter.flush(self.connection)  # the runs since the last beat: a clean stop loses no counts
        super().teardown()

    def serialize(self) -> dict:
        """RQ's worker hash, saying that this worker keeps a liveness key (the reaper trusts only those)."""
        return {**super().serialize(), LIVENESS_FIELD: LIVENESS_TTL}

    def clean_registries(self) -> None:
        """RQ's maintenance pass per queue, its lock released when the pass ends, also when it fails half-way."""
        for queue in self.queues:
            with maintenance_lock(queue) as held:
                if held:
                    self.log.info("Worker %s: cleaning registries for queue: %s", self.name, queue.name)
                    clean_registries(queue, self._exc_handlers)
                    worker_registration.clean_worker_registry(queue)
                    queue.intermediate_queue.cleanup(self, queue)
        self.last_cleaned_at = now()

    # A job's run

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """The next job of a batch taken and started in one Lua step; None once burst mode is done.

        Takes as many jobs as there are free slots and starts them in the same step
        (workers/rq_seam/start_step.py: RQ's execution, started registry and job fields, as
        `prepare_execution` and `prepare_job_execution` write them); jobs of limited tasks are
        only taken, then admitted and started in a second round trip (`_start_batch`). In burst
        mode "empty" counts only once no job is in flight, as one in flight may put itself back
        (a retry). `max_idle_time` is not supported.
        """
        self.job_heartbeat.start()  # beats while idle too: any live worker reaps a dead one's jobs
        self.engine.start()  # its threads are up before a job waits on them
        while not self._ready:
            in_flight = bool(self.engine.running())  # read first: a job ending meanwhile may requeue itself
            batch = self._take_batch(blocking=timeout is not None)
            for job, queue, execution in batch.started:
                self.executions[execution.id] = execution
                self._started[job.id] = execution
                self._ready.append((job, queue))
            if self._stop_requested:  # SIGTERM while jobs ran (RQ raises only when idle): stop dequeuing
                self._put_back_unstarted(batch.held)  # the started ones run within the grace (teardown)
                return None
            if batch.held:
                self._ready.extend(self._start_batch(batch.held))
            elif not batch.started and not in_flight:
                return None
            elif not batch.started:
                self.engine.drain()
        return self._ready.popleft()

    def check_for_suspension(self, burst: bool) -> None:
        """RQ asks Redis before every job: here the take step itself checks (`_take_batch`)."""

    def _take_batch(self, blocking: bool) -> Batch:
        """Up to the free slots' worth of jobs, started; while blocking, maintenance goes on meanwhile.

        While jobs are waiting (the last take got all it asked for), it waits up to GATHER_FOR s
        for half its slots to be free, so that one step starts several jobs.
        Idle, the worker waits on its highest-priority queue (BLMOVE into the intermediate
        list, so a job arriving wakes it at once) for up to IDLE_POLL s, then tries every
        queue again. The step writes the worker's state (idle whenever nothing runs, busy
        once a job starts) and its heartbeat when due.
        """
        moved: tuple[Queue, str] | None = None
        while True:
            if self._stop_requested and moved is None:
                return Batch([], [])  # stopping: nothing more is taken
            self.engine.wait_for_free_slot()
            if self._backlog and not self._stop_requested:  # one take for several jobs costs less than one each
                self.engine.wait_for_free_slots(max(1, self.engine.concurrency // 2), GATHER_FOR)
            if self.should_run_maintenance_tasks:
                self.run_maintenance_tasks()
            side = self._worker_side()
            # stopping with an id its wait has moved: only that one is taken (and runs within the grace)
            side_wanted = 0 if self._stop_requested else self.engine.free_slots()
            batch = take_and_start(
                self._ordered_queues,
                side_wanted,
                connection=self.connection,
                job_class=self.job_class,
                worker=side,
                job_ttl=HEARTBEAT_TTL,
                limited=Limited(*limits.tasks_by_limits()),
                moved=moved,
            )
            if batch.suspended:
                super().check_for_suspension(burst=not blocking)  # waits while suspended (burst mode: stops)
                if self._stop_requested:
                    return batch
                continue
            self._written(side, started=bool(batch.started))
            self._backlog = len(batch.started) + len(batch.held) >= side_wanted
            if batch.started or batch.held or not blocking or self._stop_requested:
                return batch
            moved = wait_for_one(self._ordered_queues[0], self.connection, IDLE_POLL)

    def _worker_side(self) -> WorkerSide:
        """What the take step writes for this worker: state changes and a heartbeat when due."""
        state = self.get_state()
        idle = not self.engine.running() and state != WorkerStatus.IDLE
        heartbeat_due = self._heartbeat_due <= time.monotonic()
        return WorkerSide(
            name=self.name,
            key=self.key,
            executions_key=self.executions_key,
            alive_key=alive_key(self.name),
            alive_ttl=LIVENESS_TTL if self._alive_set_at + LIVENESS_EVERY <= time.monotonic() else None,
            state_if_started="" if state == WorkerStatus.BUSY else WorkerStatus.BUSY.value,
            state_if_none=WorkerStatus.IDLE.value if idle else "",
            heartbeat_ttl=self.worker_ttl + 60 if heartbeat_due else None,
        )

    def _written(self, side: WorkerSide, started: bool) -> None:
        """Note what the take step wrote for this worker, as `set_state` and `heartbeat` would."""
        state = side.state_if_started if started else side.state_if_none
        if state:
            self._state = state
        if started and side.alive_ttl is not None:
            self._alive_set_at = time.monotonic()
        if side.heartbeat_ttl is not None:
            self.last_heartbeat = now()
            self._heartbeat_due = time.monotonic() + WORKER_HEARTBEAT_EVERY

    def _put_back_unstarted(self, batch: list[tuple[Job, Queue]]) -> None:
        """Jobs taken into their intermediate lists but not started: back to the front of their queues."""
        if not batch:
            return
        with self.connection.pipeline() as pipeline:
            for job, queue in reversed(batch):
                pipeline.lrem(queue.intermediate_queue_key, 1, job.id)
                pipeline.lpush(queue.key, job.id)
            pipeline.execute()

    def _start_batch(self, batch: list[tuple[Job, Queue]]) -> list[tuple[Job, Queue]]:
        """Start the taken jobs of limited tasks their limits admit; the others wait in RQ's scheduled registry.

        Returns the started."""
        started, waiting, admitted = self._admit(batch)
        with self.connection.pipeline() as pipeline:
            for job, queue, delay in waiting:
                queue.schedule_job(job, now() + timedelta(seconds=delay), pipeline=pipeline)
                pipeline.lrem(queue.intermediate_queue_key, 1, job.id)
            for job, queue in started:
                execution = Execution.create(job, HEARTBEAT_TTL, pipeline=pipeline, worker_name=self.name)
                self.executions[execution.id] = execution
                self._started[job.id] = execution
                job.prepare_for_execution(self.name, pipeline=pipeline)  # writes last_heartbeat too
                pipeline.persist(job.key)
                if job.id in admitted:
                    pipeline.hset(job.key, limits.ADMITTED_FIELD, admitted[job.id])
                pipeline.lrem(queue.intermediate_queue_key, 1, job.id)
            if started:
                mark_alive(pipeline, self.name)
                if self.get_state() != WorkerStatus.BUSY:  # busy already while earlier jobs run
                    self.set_state(WorkerStatus.BUSY, pipeline=pipeline)
                self.heartbeat(pipeline=pipeline)
            pipeline.execute()
        return started

    def _admit(self, batch: list[tuple[Job, Queue]]) -> tuple[list[Any], list[Any], dict[str, int]]:
        """(started, waiting with its delay, admission ms of limited jobs by id): one round trip
        for the limited jobs of the batch, none otherwise."""
        holders = [(job, queue, limits.holder_for(job)) for job, queue in batch]
        verdicts = iter(limits.admit(self.connection, [holder for _, _, holder in holders if holder is not None]))
        started, waiting, admitted = [], [], {}
        for job, queue, holder in holders:
            verdict = None if holder is None else next(verdicts)
            if verdict is None:
                started.append((job, queue))
            elif verdict.admitted_ms is not None:
                admitted[job.id] = verdict.admitted_ms
                self._limits[job.id] = holder
                started.append((job, queue))
            else:
                waiting.append((job, queue, verdict.wait))
        return started, waiting, admitted

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's worker heartbeat, at most every WORKER_HEARTBEAT_EVERY s (RQ sends one per job, and one with
        each suspension check); one with a timeout, the job beat's (`renew_heartbeats`), always goes."""
        if timeout is None and self._heartbeat_due > time.monotonic():
            return
        super().heartbeat(timeout, pipeline)
        self._heartbeat_due = time.monotonic() + WORKER_HEARTBEAT_EVERY

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """RQ renews the job's heartbeat here for its callbacks: the heartbeat thread does that until it ends."""
        job.ended_at = now()

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Hand the job to a worker thread; return once another job may start."""
        self._submit(job, queue)
        self.engine.wait_for_free_slot()

    def _submit(self, job: Job, queue: Queue) -> None:
        execution = self._started.pop(job.id, None) or self.prepare_execution(job)
        self.job_heartbeat.start()
        holder = self._limits.pop(job.id, None)
        self.engine.submit(Slot(job, queue, execution, timeout=_deadline(job), exclusive=_exclusive(job), limit=holder))

    def _perform_slot(self, slot: Slot) -> None:
        try:
            self.perform_job(slot.job, slot.queue, slot.execution)
        finally:
            self._release_limit(slot)

    def _release_limit(self, slot: Slot) -> None:
        """Free the run's limit slot, once (its thread and an abandonment may both get here)."""
        holder, slot.limit = slot.limit, None
        if holder is not None:
            try:
                limits.release(self.connection, holder)
            except Exception:  # noqa: BLE001 - Redis away: the slot's lease ends by itself
                log.warning("could not free the limit slot of job %s", slot.job_id, exc_info=True)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # Started with its batch (`_start_batch`), and always out of its intermediate list.
        if job.get_status(refresh=False) != JobStatus.STARTED:
            super().prepare_job_execution(job, remove_from_intermediate_queue=True)
        self.meter.started(job)

    def renew_heartbeats(self, slots: list[Slot], jobs_too: bool) -> None:
        """One beat, one pipeline: the metrics of the runs ended since the last beat, the liveness key
        while jobs run, every running job's heartbeat every few beats, and the reap step; RQ's recovery
        of the queues it named runs on its own thread."""
        tally = self.meter.tally
        taken = tally.take()
        with self.connection.pipeline(transaction=False) as pipeline:
            write_tally(pipeline, taken)  # first: `tally.execute` matches its replies to them
            if slots:
                mark_alive(pipeline, self.name)
            limits.renew(pipeline, [slot.limit for slot in slots if slot.limit is not None])
            if slots and jobs_too:
                self.heartbeat(self.job_monitoring_interval + 60, pipeline=pipeline)
                for slot in slots:
                    slot.execution.heartbeat(slot.job.started_job_registry, HEARTBEAT_TTL, pipeline=pipeline)
                    slot.job.heartbeat(now(), HEARTBEAT_TTL, pipeline=pipeline, xx=True)
            queue_reap(pipeline)
            due = tally.execute(pipeline, taken)[-1]  # what was not written stays in the tally
        self.recoverer.request(due)

    # A run's end: recorded once (the job's thread, or the engine for an abandoned one); the
    # outcome is noted before RQ forgets why, and rides on RQ's pipeline

    def handle_job_success(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        if not self.engine.claim_end_here():
            return
        execution = kwargs.get("execution")
        with self._ending(job, FINISHED):
            verdict = None if execution is None else self.fast_ends.record_success(self, job, execution)
            if verdict == RECORDED:
                self.meter.committed()
            elif verdict is None:  # not one for the fast end (fast_end.py): RQ's own
                with self._owned_end(job, execution):
                    super().handle_job_success(job, queue, *args, **kwargs)

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        if not self.engine.claim_end_here():
            return
        self._record_failure(job, queue, self.engine.slot_here(), *args, **kwargs)

    def handle_job_retry(self, job: Job, queue: Queue, retry: Retry, *args: Any, **kwargs: Any) -> None:
        if not self.engine.claim_end_here():
            return
        with self._owned_end(job, kwargs.get("execution")), self._ending(job, retry_outcome(job, retry)):
            super().handle_job_retry(job, queue, retry, *args, **kwargs)

    @contextmanager
    def _owned_end(self, job: Job, execution: Execution | None) -> Iterator[None]:
        """Around recording a run's end: written only while the run still owns its job, else dropped (and logged)."""
        if execution is None:
            yield
            return
        try:
            registry_key = job.started_job_registry.key
            with self.owned_ends.owned_by(job.key, registry_key, execution.composite_key, job.dependents_key):
                yield
        except LateEnd:
            pass  # logged where it was found: the end is not recorded

    def _finish_abandoned(self, slot: Slot) -> None:
        """A job that did not stop when told: recorded as its thread would have, the thread left behind."""
        slot.job.ended_at = now()
        reason = f"{slot.reason}: the task did not stop, its thread was abandoned"
        self._record_failure(slot.job, slot.queue, slot, exc_string=reason, execution=slot.execution)
        self._release_limit(slot)

    def _record_failure(self, job: Job, queue: Queue, slot: Slot | None, *args: Any, **kwargs: Any) -> None:
        reason = slot.reason if slot is not None else None
        with self._failure_lock, self._owned_end(job, kwargs.get("execution")):
            self._stopped_job_id = job.id if reason == STOPPED else None
            outcome = failure_outcome(job, stopped=reason == STOPPED, interrupted=reason == INTERRUPTED)
            with self._ending(job, outcome):
                super().handle_job_failure(job, queue, *args, **kwargs)
        if reason == INTERRUPTED:
            self._put_back(job, queue)

    @contextmanager
    def _ending(self, job: Job, outcome: str) -> Iterator[None]:
        """The run's outcome, noted for what rides on RQ's end pipeline (end event, callback) and its metrics."""
        with self.meter.ending(job, outcome), self.callbacks.ending(job, outcome):
            yield

    def increment_successful_job_count(self, pipeline: Pipeline | None = None) -> None:
        super().increment_successful_job_count(pipeline)
        self.meter.record(pipeline)
        self.callbacks.record(pipeline)

    def increment_failed_job_count(self, pipeline: Pipeline | None = None) -> None:
        super().increment_failed_job_count(pipeline)
        self.meter.record(pipeline)
        self.callbacks.record(pipeline)

    def _put_back(self, job: Job, queue: Queue) -> None:
        try:
            queue.failed_job_registry.requeue(job, at_front=True)
        except InvalidJobOperation:
            return  # it had retries left and is already scheduled again
        log.info("job %s requeued after shutdown", job.id)


def _deadline(job: Job) -> float | None:
    """The job's timeout in seconds as RQ reads it (None or 0: the queue default; -1: none)."""
    timeout = job.timeout or ReliableQueue.DEFAULT_TIMEOUT
    return None if timeout == -1 else float(timeout)


def _exclusive(job: Job) -> str | None:
    """The task name when the task must never run beside itself in this process."""
    name = job.task_name if isinstance(job, TaskJob) else None
    if name is None or name not in registry:
        return None
    return None if registry.get(name).concurrency_safe else name


def release_dead_scheduler_locks(worker: Any) -> None:
    """Free the queue locks of a lost worker's RQ scheduler child once that child is dead.

    The child dies with its Redis connection (a failover, a restart) without releasing its
    locks, which live `interval + 60` s; the next worker's child would move no delayed job
    or retry until they expire. The release is compare-and-delete on the dead child's name,
    so a lock another worker's scheduler holds is left alone.
    """
    scheduler = getattr(worker, "scheduler", None)
    if scheduler is None:
        return
    child = scheduler._process
    if child is not None and child.is_alive():
        return
    scheduler.release_locks()
