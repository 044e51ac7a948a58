"""Stopping a running job: on a stop request, and when SIGTERM's grace period runs out.

The worker runs jobs in its own main thread (no fork), so "kill the horse" becomes a
signal to that thread that raises `JobInterrupted` inside the task.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)
INTERRUPT_SIGNAL = signal.SIGUSR1


class JobInterrupted(BaseException):
    """Raised inside a running job to stop it (a stop command, or the shutdown grace ran out).

    A BaseException, so a task's own `except Exception` cannot swallow it.
    """


def interrupt_main_thread() -> None:
    """Deliver INTERRUPT_SIGNAL to the main thread, where the job runs."""
    signal.pthread_kill(threading.main_thread().ident or 0, INTERRUPT_SIGNAL)


def on_interrupt(current_job_id: Callable[[], str | None]) -> None:
    """Install the INTERRUPT_SIGNAL handler: raise JobInterrupted only while a job runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if current_job_id() is not None:
            raise JobInterrupted("job interrupted by the worker")

    signal.signal(INTERRUPT_SIGNAL, interrupt)


class ShutdownGrace:
    """After SIGTERM, let the running job finish within `seconds`, else interrupt it and put it back."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.requeue_next_failure = False
        self._timer: threading.Timer | None = None

    def start(self, job_id: str) -> None:
        self._timer = threading.Timer(self.seconds, self._expired, args=(job_id,))
        self._timer.daemon = True
        self._timer.start()

    def _expired(self, job_id: str) -> None:
        log.warning("shutdown grace of %ss ran out: putting job %s back", self.seconds, job_id)
        self.requeue_next_failure = True
        interrupt_main_thread()

    def take_requeue(self) -> bool:
        """Whether the failure being handled is the interrupted job (answered once)."""
        requeue, self.requeue_next_failure = self.requeue_next_failure, False
        return requeue
