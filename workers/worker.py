"""`python -m workers.worker`: an RQ worker on QUEUES that runs only registered tasks.

It is RQ's SimpleWorker (no fork per job: the fork, not the task, is where plain
RQ spends its time), with three additions: a stop request interrupts the running
job, SIGTERM gives the running job a grace period and then puts it back on its
queue, and RQ's own scheduler runs alongside so delays and retry backoff fire.
Its base, `MeteredWorker`, counts, times and logs every run (workers/metered.py).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from redis import Redis
from rq.exceptions import InvalidJobOperation
from rq.job import Job
from rq.queue import Queue

from workers.metered import MeteredWorker
from workers.metrics import INTERRUPTED
from workers.process import start_process
from workers.queues import get_queue
from workers.recovery import RecoveryMixin, work_until_stopped
from workers.serialization import SERIALIZER, TaskJob

log = logging.getLogger(__name__)
INTERRUPT_SIGNAL = signal.SIGUSR1


class JobInterrupted(BaseException):
    """Raised inside a running job to stop it (a stop command, or the shutdown grace ran out).

    A BaseException, so a task's own `except Exception` cannot swallow it.
    """


class ServiceWorker(RecoveryMixin, MeteredWorker):
    """SimpleWorker that can stop its running job and hands it back on shutdown."""

    shutdown_grace: float = 25.0

    def __init__(self, queues: list[Queue], connection: Redis, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", SERIALIZER)
        kwargs.setdefault("job_class", TaskJob)
        kwargs.setdefault("log_job_description", False)  # descriptions carry args: keep them out of logs
        super().__init__(queues, connection=connection, **kwargs)
        self._requeue_on_interrupt = False
        self._grace_timer: threading.Timer | None = None

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        signal.signal(INTERRUPT_SIGNAL, self._interrupt_job)

    def _interrupt_job(self, signum: int, frame: FrameType | None) -> None:
        if self.get_current_job_id() is not None:
            raise JobInterrupted("job interrupted by the worker")

    def kill_horse(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """There is no horse: interrupt the job running in this process instead."""
        signal.pthread_kill(threading.main_thread().ident or 0, INTERRUPT_SIGNAL)

    def handle_warm_shutdown_request(self) -> None:
        """Let the running job finish within the grace period, else interrupt and requeue it."""
        super().handle_warm_shutdown_request()
        if self.get_current_job_id() is None:
            return
        self._grace_timer = threading.Timer(self.shutdown_grace, self._grace_expired)
        self._grace_timer.daemon = True
        self._grace_timer.start()

    def _grace_expired(self) -> None:
        log.warning(
            "shutdown grace of %ss ran out: putting job %s back", self.shutdown_grace, self.get_current_job_id()
        )
        self._requeue_on_interrupt = True
        self.kill_horse()

    def failure_outcome(self, job: Job) -> str:
        """A run cut short by shutdown is put back, not failed: count it apart."""
        return INTERRUPTED if self._requeue_on_interrupt else super().failure_outcome(job)

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        super().handle_job_failure(job, queue, *args, **kwargs)
        if self._requeue_on_interrupt:
            self._requeue_on_interrupt = False
            try:
                queue.failed_job_registry.requeue(job, at_front=True)
            except InvalidJobOperation:
                return  # it had retries left and is already scheduled again
            log.info("job %s requeued after shutdown", job.id)


def main() -> None:
    """Run a worker on QUEUES (in priority order) until SIGTERM."""
    started = start_process()
    settings, connection = started.settings, started.connection
    queues = [get_queue(name, connection) for name in settings.queues]

    def build_worker() -> ServiceWorker:
        worker = ServiceWorker(queues, connection=connection)
        worker.shutdown_grace = settings.worker_shutdown_grace
        return worker

    work_until_stopped(build_worker, connection, settings.log_level)


if __name__ == "__main__":
    main()
